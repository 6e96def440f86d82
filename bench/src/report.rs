//! The result of one load run and its text and JSON renderings.
//!
//! This module owns what a run reports: throughput, latency percentiles,
//! status-code and error counts, and CPU seconds of the processes under test
//! and of the load generator itself. It computes nothing from sockets; the
//! runner fills it in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::histogram::Histogram;

/// Latency summary in microseconds; `None` when no request completed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Fastest request.
    pub min: Option<u64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// 99.9th percentile.
    pub p999: Option<u64>,
    /// Slowest request.
    pub max: Option<u64>,
}

impl Latency {
    /// Summarise a histogram of microseconds.
    pub fn from_histogram(h: &Histogram) -> Latency {
        Latency {
            min: h.min(),
            mean: h.mean(),
            p50: h.percentile(50.0),
            p90: h.percentile(90.0),
            p99: h.percentile(99.0),
            p999: h.percentile(99.9),
            max: h.max(),
        }
    }
}

/// CPU used by one process tree during the measured window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CpuUsage {
    /// The process id given with `--pid` (`self` rows use the harness's own).
    pub pid: u32,
    /// User + system seconds of the process and its descendants; `None` if
    /// `/proc` could not be read.
    pub seconds: Option<f64>,
    /// Average cores busy: `seconds / window`.
    pub cores: Option<f64>,
    /// CPU microseconds per measured request.
    pub us_per_request: Option<f64>,
}

impl CpuUsage {
    /// Derive the averages from a CPU-seconds delta.
    pub fn new(pid: u32, seconds: Option<f64>, window_s: f64, requests: u64) -> CpuUsage {
        CpuUsage {
            pid,
            seconds,
            cores: seconds.filter(|_| window_s > 0.0).map(|s| s / window_s),
            us_per_request: seconds
                .filter(|_| requests > 0)
                .map(|s| s * 1e6 / requests as f64),
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// `--label`, or the URL.
    pub label: String,
    /// `keep-alive` or `handshake-per-request`.
    pub mode: &'static str,
    /// `closed` (as fast as possible) or `open` (`--rate`).
    pub loop_kind: &'static str,
    /// Concurrent connections.
    pub connections: usize,
    /// Open-loop target rate.
    pub target_rate: Option<f64>,
    /// Length of the measured window in seconds.
    pub window_s: f64,
    /// Requests measured (any status).
    pub requests: u64,
    /// Requests per second over the window.
    pub rps: f64,
    /// Requests with a 2xx status.
    pub ok: u64,
    /// Response body bytes received in the window.
    pub body_bytes: u64,
    /// Latency of measured requests, microseconds.
    pub latency_us: Latency,
    /// Count per HTTP status code.
    pub status: BTreeMap<u16, u64>,
    /// Count per error kind (`connect`, `tls`, `http`, `timeout`, `backlog`).
    pub errors: BTreeMap<String, u64>,
    /// CPU of each `--pid` tree.
    pub cpu: Vec<CpuUsage>,
    /// CPU of the load generator itself.
    pub loadgen_cpu: CpuUsage,
    /// Average busy cores of the whole machine over the window (all
    /// processes); what the processes above do not explain is other load.
    pub machine_busy_cores: Option<f64>,
}

impl Report {
    /// Total errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The report as one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as a few human-readable lines.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |us| format!("{:.2}", us as f64 / 1e3));
        let _ = writeln!(
            s,
            "{}: {} {}-loop, {} connections{}",
            self.label,
            self.mode,
            self.loop_kind,
            self.connections,
            self.target_rate
                .map_or(String::new(), |r| format!(", target {r:.0} req/s"))
        );
        let _ = writeln!(
            s,
            "  {:.0} req/s over {:.1}s ({} requests, {} ok, {:.1} MB body)",
            self.rps,
            self.window_s,
            self.requests,
            self.ok,
            self.body_bytes as f64 / 1e6
        );
        let l = &self.latency_us;
        let _ = writeln!(
            s,
            "  latency ms: p50 {} p90 {} p99 {} p99.9 {} max {}",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        );
        let _ = writeln!(s, "  status: {}", counts(&self.status));
        if !self.errors.is_empty() {
            let _ = writeln!(s, "  errors: {}", counts(&self.errors));
        }
        for c in self.cpu.iter().chain(std::iter::once(&self.loadgen_cpu)) {
            let who = if c.pid == std::process::id() {
                "load generator".to_string()
            } else {
                format!("pid {}", c.pid)
            };
            match (c.seconds, c.cores, c.us_per_request) {
                (Some(sec), Some(cores), per) => {
                    let _ = writeln!(
                        s,
                        "  cpu {who}: {sec:.2}s ({cores:.2} cores{})",
                        per.map_or(String::new(), |p| format!(", {p:.0} µs/request"))
                    );
                }
                _ => {
                    let _ = writeln!(s, "  cpu {who}: unavailable");
                }
            }
        }
        if let Some(busy) = self.machine_busy_cores {
            let _ = writeln!(s, "  machine: {busy:.2} cores busy");
        }
        s
    }
}

/// `key: count, key: count` in key order.
fn counts<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
