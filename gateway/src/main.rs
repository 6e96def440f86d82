//! `credgate` binary: parse the CLI and call the library.
fn main() -> std::process::ExitCode {
    gateway::cli::main()
}
