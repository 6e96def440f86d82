//! `credgate` binary: parse the CLI and call the library.

/// mimalloc instead of glibc malloc: a request allocates and frees many
/// small buffers on two runtime threads and the audit writer, and glibc's
/// arenas spent ~30 % of credgate's CPU in `malloc`/`free`/consolidation
/// under load (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gateway::cli::main()
}
