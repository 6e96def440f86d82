//! `credgate-load`: the load harness binary (see the `bench` library and BENCHMARKS.md).
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    bench::main()
}
