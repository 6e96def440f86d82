//! `apply` on one body file in a loop, to profile the redactor on a real
//! answer (e.g. the 66 KB body `bench/compare.sh` serves, kept with
//! `KEEP=1` as `large.json` in its work dir) without the gateway around it:
//!
//! ```text
//! cargo run --release -p redaction --example apply_loop -- BODY.json [SECONDS]
//! perf record -g target/release/examples/apply_loop BODY.json 5
//! ```
//!
//! Redacts under the conformance policy's inspector scope with the rule
//! names stored normalised (as `policy::Policy::load` stores them) and
//! prints the body's size, the answer's size and the mean time per `apply`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use redaction::testing;
use time::macros::datetime;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: apply_loop BODY.json [SECONDS]")?;
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let body = std::fs::read(&path)?;

    let scope = testing::loaded_inspector();
    let now = datetime!(2026-12-05 00:00 UTC);

    let (answer, _) = redaction::apply(&body, &scope, now)?;
    let window = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < window {
        for _ in 0..100 {
            black_box(redaction::apply(black_box(&body), &scope, now)?);
        }
        runs += 100;
    }
    let per_run = start.elapsed().as_secs_f64() / runs as f64;
    println!(
        "{} bytes in, {} bytes out: {:.1} µs per apply ({runs} runs)",
        body.len(),
        answer.len(),
        per_run * 1e6
    );
    Ok(())
}
