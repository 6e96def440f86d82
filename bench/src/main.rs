//! `credgate-load`: the load harness binary (see the `bench` library and BENCHMARKS.md).
fn main() -> std::process::ExitCode {
    bench::main()
}
