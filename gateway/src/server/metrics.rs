//! Process metrics in Prometheus text format: requests by plane, decision and
//! status, the inquiry-log commit latency as a histogram, witness progress,
//! and `credgate_crl_next_update_seconds`: the seconds until the earliest
//! `next_update` of the loaded CRLs (negative once past; set at start and
//! at every TLS reload, read against the real clock when rendered).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the commit latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    commit_buckets: [u64; BUCKETS.len()],
    commit_count: u64,
    commit_sum: f64,
    commit_failures: u64,
    /// Whether the latest append failed (the log opened, so up at start).
    store_down: bool,
    witness_cosigned: BTreeMap<String, u64>,
    witness_conflicts: BTreeMap<String, u64>,
    crl_next_update: Option<time::OffsetDateTime>,
    /// Misuse alert firings by rule.
    alerts: BTreeMap<String, u64>,
    /// Events the alert task could not take (its queue was full).
    alert_events_dropped: u64,
    /// Reloads rejected (the previous material kept), by what: `policy`,
    /// `tls`.
    reload_failures: BTreeMap<String, u64>,
    /// Whether the latest reload of each succeeded (1) or was rejected (0).
    reload_ok: BTreeMap<String, u64>,
}

/// Counters shared by both planes.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Refusals past the refusal budget, accounted in summaries.
    refusals_summarised: std::sync::atomic::AtomicU64,
    /// Summary entries committed.
    refusal_summaries: std::sync::atomic::AtomicU64,
    /// Upstream requests sent a second time (the upstream closed a pooled
    /// connection before answering); the upstream client counts them.
    upstream_retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// One refusal past its certificate's budget (no entry of its own).
    pub fn refusal_summarised(&self) {
        self.refusals_summarised
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// One summary entry committed.
    pub fn refusal_summary(&self) {
        self.refusal_summaries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The counter the upstream client adds its retries to.
    pub fn upstream_retries(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        std::sync::Arc::clone(&self.upstream_retries)
    }

    /// One reload of `what` (`policy`, `tls`): taken, or rejected with the
    /// previous material kept (an outside probe: a rejected policy was
    /// visible only in the process log).
    pub fn reload(&self, what: &str, ok: bool) {
        let mut g = self.lock();
        if !ok {
            *g.reload_failures.entry(what.to_owned()).or_default() += 1;
        }
        g.reload_ok.insert(what.to_owned(), u64::from(ok));
    }

    /// Count one answered request.
    pub fn request(&self, plane: &'static str, decision: &'static str, status: u16) {
        *self
            .lock()
            .requests
            .entry((plane, decision, status))
            .or_default() += 1;
    }

    /// Record one inquiry-log append: its latency, and whether it committed.
    pub fn commit(&self, latency: Duration, ok: bool) {
        let mut g = self.lock();
        g.store_down = !ok;
        if !ok {
            g.commit_failures += 1;
            return;
        }
        let secs = latency.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                if let Some(c) = g.commit_buckets.get_mut(i) {
                    *c += 1;
                }
            }
        }
        g.commit_count += 1;
        g.commit_sum += secs;
    }

    /// Names a witness so its series show (at 0) before its first answer.
    pub fn witness(&self, name: &str) {
        let mut g = self.lock();
        g.witness_cosigned.entry(name.to_owned()).or_default();
        g.witness_conflicts.entry(name.to_owned()).or_default();
    }

    /// A witness cosigned a checkpoint of this tree size.
    pub fn witness_cosigned(&self, name: &str, size: u64) {
        self.lock().witness_cosigned.insert(name.to_owned(), size);
    }

    /// A witness refused a checkpoint as inconsistent with what it holds.
    pub fn witness_conflict(&self, name: &str) {
        *self
            .lock()
            .witness_conflicts
            .entry(name.to_owned())
            .or_default() += 1;
    }

    /// The earliest `next_update` of the CRLs now loaded.
    pub fn crl_next_update(&self, at: Option<time::OffsetDateTime>) {
        self.lock().crl_next_update = at;
    }

    /// A misuse alert rule fired.
    pub fn alert(&self, rule: &str) {
        *self.lock().alerts.entry(rule.to_owned()).or_default() += 1;
    }

    /// Names an alert rule so its series shows (at 0) before it fires.
    pub fn alert_rule(&self, rule: &str) {
        self.lock().alerts.entry(rule.to_owned()).or_default();
    }

    /// An inquiry was not handed to the alert task (queue full).
    pub fn alert_event_dropped(&self) {
        self.lock().alert_events_dropped += 1;
    }

    /// Prometheus text exposition.
    pub fn render(&self, store_free_bytes: Option<u64>) -> String {
        self.render_at(time::OffsetDateTime::now_utc(), store_free_bytes)
    }

    /// [`Metrics::render`] with `now` as the real time.
    pub fn render_at(&self, now: time::OffsetDateTime, store_free_bytes: Option<u64>) -> String {
        let g = self.lock();
        let mut out = String::new();
        head(
            &mut out,
            "credgate_requests_total",
            "counter",
            "Requests answered, by plane, decision and status.",
        );
        for ((plane, decision, status), n) in &g.requests {
            let _ = writeln!(
                out,
                "credgate_requests_total{{plane=\"{plane}\",decision=\"{decision}\",status=\"{status}\"}} {n}"
            );
        }
        head(
            &mut out,
            "credgate_audit_commit_seconds",
            "histogram",
            "Time from append to durable commit of an inquiry log entry.",
        );
        for (b, c) in BUCKETS.iter().zip(g.commit_buckets.iter()) {
            let _ = writeln!(
                out,
                "credgate_audit_commit_seconds_bucket{{le=\"{b}\"}} {c}"
            );
        }
        let _ = writeln!(
            out,
            "credgate_audit_commit_seconds_bucket{{le=\"+Inf\"}} {}",
            g.commit_count
        );
        let _ = writeln!(out, "credgate_audit_commit_seconds_sum {}", g.commit_sum);
        let _ = writeln!(
            out,
            "credgate_audit_commit_seconds_count {}",
            g.commit_count
        );
        single(
            &mut out,
            "credgate_audit_commit_failures_total",
            "counter",
            "Inquiry log appends that failed (answered 503).",
            g.commit_failures,
        );
        single(&mut out, "credgate_refusals_summarised_total", "counter", "Refused requests past their certificate's refusal budget, answered 429 and accounted in summary entries.", self.refusals_summarised.load(std::sync::atomic::Ordering::Relaxed));
        single(
            &mut out,
            "credgate_refusal_summaries_total",
            "counter",
            "Summary entries (reason refusals_summarised) committed.",
            self.refusal_summaries
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        single(
            &mut out,
            "credgate_upstream_retries_total",
            "counter",
            "Upstream GETs sent a second time because the upstream closed or reset the connection before any answer (an idle keep-alive connection it had dropped).",
            self.upstream_retries
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        single(&mut out, "credgate_audit_store_up", "gauge", "Whether the latest inquiry log append committed (0: the gateway answers 503 audit_unavailable).", u8::from(!g.store_down));
        if let Some(free) = store_free_bytes {
            single(&mut out, "credgate_audit_store_free_bytes", "gauge", "Bytes free on the file system under the SQLite store ([audit] min_free_bytes is the floor).", free);
        }
        if let Some(at) = g.crl_next_update {
            single(&mut out, "credgate_crl_next_update_seconds", "gauge", "Seconds until the earliest next_update of the loaded CRLs (negative once past; re-sign with `credgate certs crl refresh`).", (at - now).whole_seconds());
        }
        labelled(
            &mut out,
            "credgate_alerts_total",
            "counter",
            "Misuse alert firings, by rule.",
            "rule",
            &g.alerts,
        );
        if !g.reload_ok.is_empty() {
            labelled(
                &mut out,
                "credgate_reload_failures_total",
                "counter",
                "Reloads rejected (the previous policy or TLS material kept), by what.",
                "what",
                &g.reload_failures,
            );
            labelled(
                &mut out,
                "credgate_reload_last_ok",
                "gauge",
                "Whether the latest reload of the policy or TLS material was taken (1) or rejected (0: running on the previous one).",
                "what",
                &g.reload_ok,
            );
        }
        single(&mut out, "credgate_alert_events_dropped_total", "counter", "Committed inquiries not evaluated by the misuse alerts because the alert queue was full.", g.alert_events_dropped);
        if !g.witness_cosigned.is_empty() {
            for (name, kind, help, samples) in [
                (
                    "credgate_witness_cosigned_size",
                    "gauge",
                    "Tree size of the latest checkpoint each witness cosigned.",
                    &g.witness_cosigned,
                ),
                (
                    "credgate_witness_conflicts_total",
                    "counter",
                    "Checkpoints a witness refused as inconsistent with one it cosigned.",
                    &g.witness_conflicts,
                ),
            ] {
                labelled(&mut out, name, kind, help, "witness", samples);
            }
        }
        out
    }
}

/// The `# HELP` and `# TYPE` lines of metric `name`.
fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric with one sample and no labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    head(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A metric with one sample per value of label `key` (escaped).
fn labelled(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    key: &str,
    samples: &BTreeMap<String, u64>,
) {
    head(out, name, kind, help);
    for (value, n) in samples {
        let _ = writeln!(out, "{name}{{{key}=\"{}\"}} {n}", label(value));
    }
}

/// A Prometheus label value with `\\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests;
