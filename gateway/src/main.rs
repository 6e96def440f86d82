//! `credgate` binary: parse the CLI and call the library.
fn main() {}
