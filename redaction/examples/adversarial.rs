//! Times `apply` by hand on adversarial inputs (the cases a review found
//! quadratic or memory-hungry) and on bodies shaped like the bench's:
//!
//! ```text
//! cargo run --release -p redaction --example adversarial -- [CASE...]
//! /usr/bin/time -v target/release/examples/adversarial digits8m
//! ```
//!
//! Cases: `mobzw` (mobiles joined by U+200B), `keys` (objects of keys
//! `k<i> 13812345678`), `digits8m` (one 8 MB string of digits),
//! `mobiles8m` (8 MB of mobiles separated by spaces), `bodies`
//! (mean µs per `apply` on ~2 KB / ~64 KB bodies). No case asserts a
//! time: the numbers are read by a person.

use std::hint::black_box;
use std::time::Instant;

use redaction::testing;
use serde_json::{json, Value};
use time::macros::datetime;

type Error = Box<dyn std::error::Error>;

fn run(label: &str, body: &[u8]) -> Result<(), Error> {
    let scope = testing::inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    let start = Instant::now();
    let result = redaction::apply(body, &scope, now);
    let elapsed = start.elapsed();
    match result {
        Ok((out, report)) => println!(
            "{label}: {} B in, {} B out, {elapsed:?}; masked_keys {}, removed_keys {}",
            body.len(),
            out.len(),
            report.masked_keys.len(),
            report.removed_keys.len()
        ),
        Err(error) => println!("{label}: {} B in, error {error:?}, {elapsed:?}", body.len()),
    }
    Ok(())
}

fn remark(text: &str) -> Result<Vec<u8>, Error> {
    Ok(serde_json::to_vec(
        &json!({"subject": {"id": "x"}, "remark": text}),
    )?)
}

/// A record like the bench's (`benches/apply.rs`).
fn record(i: usize) -> Value {
    let year = 2018 + i % 9;
    json!({
        "id": format!("r-{i:06}"),
        "item": "administrative_penalty",
        "decided_on": format!("{year}-{:02}-15", 1 + i % 12),
        "restored": i.is_multiple_of(10),
        "objection": "none",
        "withheld_by_subject": false,
        "data": {
            "authority": "长沙市市场监督管理局",
            "document_no": format!("湘市监罚〔{year}〕{}号", i * 37 % 10000),
            "fine": i * 7919 % 1_000_000,
            "ratio": (i % 1000) as f64 / 7.0,
            "summary": "未按规定公示年度报告，经责令限期改正仍未改正，依法予以行政处罚。",
            "parties": [
                {"name": "王强", "role": "法定代表人", "id_number": "430102198506123011",
                 "contact": {"phone": "13812345678", "address": "湖南省长沙市岳麓区麓山南路932号"}},
                {"name": "李娜", "role": "联系人", "phone": "13987654321", "religion": "none"}
            ],
            "inspector_notes": {"medical_history": "n/a", "visits": [1, 2, 3], "ok": true}
        }
    })
}

fn body(target: usize) -> Result<Vec<u8>, Error> {
    let mut records = Vec::new();
    loop {
        let body = json!({
            "subject": {
                "id": "91430100MA4L0XXX1N", "type": "legal_person",
                "name": "长沙星辰建材有限公司",
                "legal_representative": {"name": "王强", "id_number": "430102198506123011",
                    "Religion": "none declared", "contact": {"phone": "13812345678"}},
                "registered_capital": 5000000, "tax_paid": 340000
            },
            "records": records,
        });
        let bytes = serde_json::to_vec(&body)?;
        if bytes.len() >= target {
            return Ok(bytes);
        }
        let n = records.len();
        records.push(record(n));
    }
}

fn main() -> Result<(), Error> {
    let which: Vec<String> = std::env::args().skip(1).collect();
    let want = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if want("mobzw") {
        for k in [5_000usize, 10_000, 20_000, 40_000] {
            run(
                &format!("{k} mobiles joined by U+200B"),
                &remark(&"13812345678\u{200b}".repeat(k))?,
            )?;
        }
    }
    if want("keys") {
        for k in [5_000usize, 10_000, 20_000, 40_000, 80_000] {
            let mut s = String::from("{\"subject\":{\"id\":\"x\"},\"o\":{");
            for i in 0..k {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&format!("\"k{i} 13812345678\":1"));
            }
            s.push_str("}}");
            run(&format!("{k} keys 'k<i> 13812345678'"), s.as_bytes())?;
        }
    }
    if want("digits8m") {
        run("8 MB of digits", &remark(&"1".repeat(8 << 20))?)?;
    }
    if want("mobiles8m") {
        run(
            "8 MB of mobiles",
            &remark(&"13812345678 ".repeat((8 << 20) / 12))?,
        )?;
    }
    if want("bodies") {
        let scope = testing::loaded_inspector();
        let now = datetime!(2026-11-22 00:00 UTC);
        for (label, size) in [("2KB", 2usize << 10), ("64KB", 64 << 10)] {
            let bytes = body(size)?;
            let runs = if size < 8 << 10 { 20_000 } else { 1_000 };
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                for _ in 0..runs {
                    black_box(redaction::apply(black_box(&bytes), &scope, now)?);
                }
                best = best.min(start.elapsed().as_secs_f64() / f64::from(runs));
            }
            println!(
                "{label} body ({} B): {:.1} µs per apply (best of 5 x {runs})",
                bytes.len(),
                best * 1e6
            );
        }
    }
    Ok(())
}
