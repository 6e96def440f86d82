use super::*;

fn sample() -> Report {
    let mut h = Histogram::new();
    for v in [100, 200, 250, 5_000] {
        h.record(v);
    }
    Report {
        label: "credgate".into(),
        mode: "keep-alive",
        loop_kind: "closed",
        connections: 4,
        target_rate: None,
        window_s: 2.0,
        requests: 4,
        rps: 2.0,
        ok: 3,
        body_bytes: 8_000,
        latency_us: Latency::from_histogram(&h),
        status: BTreeMap::from([(200, 3), (429, 1)]),
        errors: BTreeMap::from([("timeout".to_string(), 2)]),
        cpu: vec![CpuUsage::new(4242, Some(1.0), 2.0, 4)],
        loadgen_cpu: CpuUsage::new(std::process::id(), None, 2.0, 4),
        machine_busy_cores: Some(1.25),
    }
}

#[test]
fn cpu_averages_follow_the_window_and_request_count() {
    let c = CpuUsage::new(1, Some(3.0), 2.0, 1_000);
    assert_eq!(c.cores, Some(1.5));
    assert_eq!(c.us_per_request, Some(3_000.0));
    let none = CpuUsage::new(1, Some(3.0), 2.0, 0);
    assert_eq!(none.us_per_request, None);
}

#[test]
fn json_carries_percentiles_statuses_and_errors() {
    let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
    assert_eq!(v["latency_us"]["p50"], 200);
    assert_eq!(v["latency_us"]["max"], 5_000);
    assert_eq!(v["status"]["429"], 1);
    assert_eq!(v["errors"]["timeout"], 2);
    assert_eq!(v["cpu"][0]["us_per_request"], 250_000.0);
    assert_eq!(v["rps"], 2.0);
    assert_eq!(sample().error_count(), 2);
}

#[test]
fn text_shows_milliseconds_and_unavailable_cpu() {
    let t = sample().to_text();
    assert!(t.contains("latency ms: p50 0.20 p90 5.00"), "{t}");
    assert!(t.contains("status: 200: 3, 429: 1"), "{t}");
    assert!(t.contains("errors: timeout: 2"), "{t}");
    assert!(
        t.contains("cpu pid 4242: 1.00s (0.50 cores, 250000 µs/request)"),
        "{t}"
    );
    assert!(t.contains("cpu load generator: unavailable"), "{t}");
    assert!(t.contains("machine: 1.25 cores busy"), "{t}");
}
