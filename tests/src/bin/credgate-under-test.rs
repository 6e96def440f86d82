//! The real `credgate` CLI, built inside the end-to-end crate so tests can run
//! it via `CARGO_BIN_EXE_credgate-under-test`.
fn main() -> std::process::ExitCode {
    gateway::cli::main()
}
