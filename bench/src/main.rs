//! `credgate-load`: the load harness (see BENCHMARKS.md).
fn main() {}
