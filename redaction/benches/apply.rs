//! `apply` against serde_json's own parse + serialise of the same bytes (into
//! a `Value`, as `apply` itself did before it had its own document type), on
//! realistic bodies of ~2 KB, ~64 KB and ~4 MB (a subject plus records with
//! nested data and Chinese text), and the ~64 KB one with Chinese key names
//! in every record (`64KB-zh-keys`, as the sample database spells some of
//! its keys). The ratio of the two is the reference
//! figure: below 1 means `apply` costs less than serde_json's round trip
//! alone (it was ~1.1 with `Value`, ~0.4 with the crate's document).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use redaction::testing;
use serde_json::{json, Value};
use time::macros::datetime;

const ITEMS: [&str; 4] = [
    "administrative_penalty",
    "court_enforcement",
    "commendation",
    "basic",
];
const AUTHORITIES: [&str; 4] = [
    "长沙市市场监督管理局",
    "湖南省生态环境厅",
    "岳麓区人民法院",
    "Changsha AMR",
];

/// A deterministic pseudo-random sequence (no RNG dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A value in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn record(i: usize, rng: &mut Lcg) -> Value {
    let item = ITEMS[(rng.next() % 4) as usize];
    let year = 2018 + rng.next() % 9;
    let month = 1 + rng.next() % 12;
    let mut r = json!({
        "id": format!("r-{i:06}"),
        "item": item,
        "decided_on": format!("{year}-{month:02}-15"),
        "restored": rng.below(10) == 0,
        "objection": if rng.below(7) == 0 { "pending" } else { "none" },
        "withheld_by_subject": rng.below(5) == 0,
        "data": {
            "authority": AUTHORITIES[(rng.next() % 4) as usize],
            "document_no": format!("湘市监罚〔{year}〕{}号", rng.next() % 10000),
            "fine": rng.next() % 1_000_000,
            "ratio": (rng.next() % 1000) as f64 / 7.0,
            "summary": "未按规定公示年度报告，经责令限期改正仍未改正，依法予以行政处罚。",
            "parties": [
                {"name": "王强", "role": "法定代表人", "id_number": "430102198506123011",
                 "contact": {"phone": "13812345678", "address": "湖南省长沙市岳麓区麓山南路932号"}},
                {"name": "李娜", "role": "联系人", "phone": "13987654321", "religion": "none"}
            ],
            "inspector_notes": {"medical_history": "n/a", "visits": [1, 2, 3], "ok": true}
        }
    });
    if rng.below(3) == 0 {
        r["punishment_ends"] = json!(format!("{}-06-30", 2025 + rng.next() % 4));
    }
    r
}

/// A body of at least `target` bytes.
fn body(target: usize) -> Vec<u8> {
    let mut rng = Lcg(0x5eed);
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
        let bytes = serde_json::to_vec(&body).unwrap();
        if bytes.len() >= target {
            return bytes;
        }
        // Grow roughly to the target in few steps.
        let per_record = 900;
        let missing = (target - bytes.len()) / per_record + 1;
        let start = records.len();
        records.extend((start..start + missing).map(|i| record(i, &mut rng)));
    }
}

/// `bytes` (a body of [`body`]) with Chinese key names in every record's
/// data, as the sample database's records carry them (`病史`, `纳税`,
/// `年度`): each spelling is normalised (NFKC, case folding) by the key
/// and record rules.
fn with_chinese_keys(bytes: &[u8]) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(bytes).unwrap();
    if let Some(records) = value["records"].as_array_mut() {
        for (i, record) in records.iter_mut().enumerate() {
            record["data"]["病史"] = json!("无");
            record["data"]["纳税"] = json!({"年度": 2018 + i % 8, "纳税额": 340000});
        }
    }
    serde_json::to_vec(&value).unwrap()
}

/// The body a label names: [`body`] of `size`, with Chinese key names when
/// the label ends in `zh-keys`.
fn sized_body(label: &str, size: usize) -> Vec<u8> {
    if label.ends_with("zh-keys") {
        with_chinese_keys(&body(size))
    } else {
        body(size)
    }
}

fn bench(c: &mut Criterion) {
    let scope = testing::loaded_inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    let mut group = c.benchmark_group("apply_vs_serde");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for (label, size) in [
        ("2KB", 2 << 10),
        ("64KB", 64 << 10),
        ("64KB-zh-keys", 64 << 10),
        ("4MB", 4 << 20),
    ] {
        let bytes = sized_body(label, size);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.sample_size(if size > 1 << 20 { 10 } else { 30 });
        group.bench_with_input(
            BenchmarkId::new("serde_parse_serialise", label),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let value: Value = serde_json::from_slice(black_box(bytes)).unwrap();
                    serde_json::to_vec(&value).unwrap()
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("apply", label), &bytes, |b, bytes| {
            b.iter(|| redaction::apply(black_box(bytes), &scope, now).unwrap())
        });
    }
    group.finish();
}

/// Median of per-round `apply / baseline` time ratios, the two measured
/// back to back in each round so both see the same machine load (the CPU is
/// shared with other builds; absolute times drift, the ratio much less).
fn interleaved_ratio(bytes: &[u8], rounds: usize) -> f64 {
    let scope = testing::inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    let baseline = || {
        let start = Instant::now();
        let value: Value = serde_json::from_slice(black_box(bytes)).unwrap();
        black_box(serde_json::to_vec(&value).unwrap());
        drop(value);
        start.elapsed().as_secs_f64()
    };
    let apply = || {
        let start = Instant::now();
        black_box(redaction::apply(black_box(bytes), &scope, now).unwrap());
        start.elapsed().as_secs_f64()
    };
    // Alternate which runs first, so neither always gets the warmer cache.
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            if round % 2 == 0 {
                let b = baseline();
                apply() / b
            } else {
                let a = apply();
                a / baseline()
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

criterion_group!(benches, bench);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then only criterion's one-shot smoke run happens.
    if std::env::args().any(|a| a == "--bench") {
        for (label, size, rounds) in [
            ("2KB", 2 << 10, 2001),
            ("64KB", 64 << 10, 201),
            ("64KB-zh-keys", 64 << 10, 201),
            ("4MB", 4 << 20, 21),
        ] {
            let bytes = sized_body(label, size);
            println!(
                "apply / (serde parse + serialise), {label} ({} bytes): median ratio {:.3} over {rounds} interleaved rounds",
                bytes.len(),
                interleaved_ratio(&bytes, rounds)
            );
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
