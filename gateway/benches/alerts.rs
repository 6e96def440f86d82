//! What misuse alerts cost a request (issue 16): the suspension lookup on
//! the data path and the event hand-off after the commit, against a plain
//! `HashMap` lookup — and, for scale, the evaluation the alert task does
//! off the request path.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::server::alerts::{event_of, Alerts, Suspension};
use policy::alerts::{AlertAction, AlertKind, AlertRule, Evaluator};

const NOW: i64 = 1_796_349_600_000;

/// `audit::testing::sample` as `officer`'s inquiry about `subject` at `NOW`:
/// no items, no records, nothing suppressed, removed or masked.
fn entry(officer: &str, subject: &str, inquiry_id: &str) -> audit::NewEntry {
    audit::NewEntry {
        time_ms: NOW,
        inquiry_id: inquiry_id.into(),
        officer_id: officer.into(),
        unit: "Hunan Administration for Market Regulation".into(),
        purpose: Some("administrative_inspection".into()),
        case: Some("HN-2026-00123".into()),
        path: format!("/v1/subjects/{subject}"),
        subject_id: Some(subject.into()),
        items_requested: Vec::new(),
        rule: "roles market_inspector".into(),
        records_returned: 0,
        records_suppressed: Default::default(),
        removed_keys: Vec::new(),
        masked_keys: Vec::new(),
        objection_labeled: 0,
        latency_ms: 3,
        ..audit::testing::sample(0)
    }
}

fn request_path(c: &mut Criterion) {
    // Large enough that the 10 ms drain keeps up with a tight loop: every
    // offer below is a real push, never a refusal of a full queue.
    let (alerts, mut rx) = Alerts::new(1 << 20);
    let mut plain = HashMap::new();
    for i in 0..10_000 {
        let officer = format!("HN-AMR-{i:05}");
        let s = Suspension {
            until_ms: NOW + 3_600_000,
            rule: "bulk-lookup".into(),
        };
        if i % 10 == 0 {
            alerts.suspend(&officer, s.clone());
        }
        plain.insert(officer, s);
    }
    // The alert task's side of the queue: drained every 10 ms, as the
    // task does (a sender never wakes it).
    std::thread::spawn(move || loop {
        loop {
            match rx.try_recv() {
                Ok(_) => {}
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    });

    let mut g = c.benchmark_group("request_path");
    g.bench_function("hashmap_get_baseline", |b| {
        b.iter(|| black_box(plain.get(black_box("HN-AMR-00042"))))
    });
    g.bench_function("suspension_lookup_not_suspended", |b| {
        b.iter(|| black_box(alerts.suspended(black_box("HN-AMR-00042"), NOW)))
    });
    g.bench_function("suspension_lookup_suspended", |b| {
        b.iter(|| black_box(alerts.suspended(black_box("HN-AMR-00040"), NOW)))
    });
    let e = entry(
        "HN-AMR-00042",
        "91430100MA4L0XXX1N",
        "01a240f8572e147d7b96006e0dc3468e",
    );
    g.bench_function("event_hand_off", |b| {
        b.iter(|| {
            if let Some(ev) = event_of(black_box(&e)) {
                black_box(alerts.offer(ev));
            }
        })
    });
    // The same hand-off split in its two parts: building the event (four
    // string copies) and the queue push when the alert task is awake
    // (no wake-up to pay: the receiver is not parked).
    g.bench_function("event_build_only", |b| {
        b.iter(|| black_box(event_of(black_box(&e))))
    });
    let ev = event_of(&e).unwrap();
    g.bench_function("queue_push_receiver_awake", |b| {
        b.iter_custom(|iters| {
            let n = usize::try_from(iters).unwrap_or(usize::MAX).min(1 << 22);
            let (a, _rx) = Alerts::new(n + 1);
            let events: Vec<_> = (0..n).map(|_| ev.clone()).collect();
            let start = std::time::Instant::now();
            for ev in events {
                black_box(a.offer(ev));
            }
            start.elapsed().mul_f64(iters as f64 / n.max(1) as f64)
        })
    });
    g.finish();
}

fn off_path(c: &mut Criterion) {
    let rules = vec![
        AlertRule {
            name: "bulk-lookup".into(),
            kind: AlertKind::DistinctSubjects,
            threshold: 200,
            window: Duration::from_secs(3600),
            window_text: "1h".into(),
            action: AlertAction::Suspend(Duration::from_secs(4 * 3600)),
            working: None,
        },
        AlertRule {
            name: "hotspot".into(),
            kind: AlertKind::SubjectUnits,
            threshold: 5,
            window: Duration::from_secs(86_400),
            window_text: "24h".into(),
            action: AlertAction::Alert,
            working: None,
        },
    ];
    let mut evaluator = Evaluator::new(rules, 8 * 3600);
    let events: Vec<_> = (0..1000)
        .map(|i| {
            event_of(&entry(
                &format!("HN-AMR-{:05}", i % 50),
                &format!("subject-{}", i % 300),
                &format!("id-{i}"),
            ))
            .unwrap()
        })
        .collect();
    let mut i = 0usize;
    let mut t = NOW;
    c.bench_function("alert_task/observe_two_rules", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            t += 100;
            let mut ev = events[i].clone();
            ev.time_ms = t;
            black_box(evaluator.observe(&ev))
        })
    });
}

criterion_group!(benches, request_path, off_path);
criterion_main!(benches);
