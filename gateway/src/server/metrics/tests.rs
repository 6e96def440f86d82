use super::*;

#[test]
fn counts_requests_and_commit_latency() {
    let m = Metrics::default();
    m.request("data", "allow", 200);
    m.request("data", "allow", 200);
    m.request("admin", "deny", 403);
    m.commit(Duration::from_millis(3), true);
    m.commit(Duration::from_millis(3), false);
    let text = m.render(Some(1234));
    assert!(text
        .contains("credgate_requests_total{plane=\"data\",decision=\"allow\",status=\"200\"} 2"));
    assert!(text
        .contains("credgate_requests_total{plane=\"admin\",decision=\"deny\",status=\"403\"} 1"));
    assert!(text.contains("credgate_audit_commit_seconds_bucket{le=\"0.005\"} 1"));
    assert!(text.contains("credgate_audit_commit_seconds_bucket{le=\"0.0025\"} 0"));
    assert!(text.contains("credgate_audit_commit_seconds_count 1"));
    assert!(text.contains("credgate_audit_commit_failures_total 1"));
    assert!(text.contains("credgate_audit_store_up 0"), "{text}");
    assert!(
        text.contains("credgate_audit_store_free_bytes 1234"),
        "{text}"
    );
    m.commit(Duration::from_millis(3), true);
    assert!(m.render(None).contains("credgate_audit_store_up 1"));
    assert!(!m.render(None).contains("credgate_audit_store_free_bytes"));
    assert!(!text.contains("credgate_crl_next_update_seconds"), "no CRL");
}

#[test]
fn the_crl_gauge_counts_down_and_goes_negative() {
    let m = Metrics::default();
    let now = time::macros::datetime!(2026-12-04 12:00 UTC);
    m.crl_next_update(Some(now + time::Duration::days(2)));
    let text = m.render_at(now, None);
    assert!(text.contains("# TYPE credgate_crl_next_update_seconds gauge"));
    assert!(
        text.contains("credgate_crl_next_update_seconds 172800\n"),
        "{text}"
    );
    let text = m.render_at(now + time::Duration::days(3), None);
    assert!(
        text.contains("credgate_crl_next_update_seconds -86400\n"),
        "{text}"
    );
}
