//! `credgate` binary: the gateway's command line ([`gateway::cli::main`])
//! with the `sample` crate's `demo` and `sample-db` added; parse it and call
//! the libraries. Nothing else lives here.
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]

/// mimalloc instead of glibc malloc: a request allocates and frees many
/// small buffers on two runtime threads and the audit writer, and glibc's
/// arenas spent ~30 % of credgate's CPU in `malloc`/`free`/consolidation
/// under load (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gateway::cli::main::<sample::Command>()
}
