//! The real `credgate` CLI, built inside the end-to-end crate so tests can run
//! it via `CARGO_BIN_EXE_credgate-under-test`: the same
//! `gateway::cli::main::<sample::Command>()` as the `credgate` binary.
fn main() -> std::process::ExitCode {
    gateway::cli::main::<sample::Command>()
}
