//! The refusal budget: the log cannot be flooded by refused requests.
//!
//! Every refusal (an entry with `decision = "deny"`) spends a token of its
//! client certificate's bucket (`[server] refusal_rate`, default 20 per
//! second, burst `refusal_burst`, default 100). Within the budget a refusal
//! is logged as always, one entry each. Past it, the request is answered
//! `429 rate_limited` with `Retry-After` and gets no entry of its own: it is
//! counted into a pending summary of its certificate, and a background task
//! commits at most one **summary entry** per certificate per second
//! (`reason = "refusals_summarised"`, the count and the first and last
//! inquiry ids in `rule`). Every attempt is accounted for; the log grows at
//! most by the budget plus one entry per certificate per second.
//!
//! Owns: the per-certificate buckets (bounded: idle, full buckets are
//! dropped each second) and the pending summaries (one per certificate with
//! refusals in the last second). Never: decides what is a refusal (the
//! caller's decision says so), or holds a request's content beyond the
//! certificate's identity fields and two inquiry ids.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use policy::Identity;

/// One certificate's token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The `reason` of a summary entry.
pub const SUMMARY_REASON: &str = "refusals_summarised";

/// Refusals of one certificate not yet in a summary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Whose refusals.
    pub identity: Identity,
    /// `data` or `admin`: the plane of the first one.
    pub plane: &'static str,
    /// How many.
    pub count: u64,
    /// Inquiry id of the first and of the last.
    pub first: String,
    /// See `first`.
    pub last: String,
    /// When the last one was refused (Unix ms).
    pub last_ms: i64,
}

impl Pending {
    /// The summary entry's rule text: parseable, no request content.
    pub fn rule(&self) -> String {
        format!(
            "refusal budget exceeded: {} refused requests answered 429, inquiry ids {}..{}",
            self.count, self.first, self.last
        )
    }
}

/// The budget and the pending summaries of every certificate.
#[derive(Debug)]
pub struct RefusalBudget {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl RefusalBudget {
    /// `count` refusals per `per`, at most `burst` at once.
    pub fn new(count: u32, per: Duration, burst: u32) -> RefusalBudget {
        let secs = per.as_secs_f64().max(f64::MIN_POSITIVE);
        RefusalBudget {
            rate_per_sec: f64::from(count) / secs,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
            pending: Mutex::default(),
        }
    }

    /// Spends a token of `fingerprint`'s bucket: `Ok` if the refusal may be
    /// logged on its own, `Err(seconds)` until the next token otherwise.
    pub fn admit(&self, fingerprint: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Look up by &str first: a flood from a known certificate allocates
        // nothing; a new certificate's key is copied once.
        if !buckets.contains_key(fingerprint) {
            buckets.insert(
                fingerprint.to_owned(),
                Bucket {
                    tokens: self.burst,
                    last: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(fingerprint) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_sec).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate_per_sec.max(f64::MIN_POSITIVE);
            Err(wait.ceil().clamp(1.0, 86_400.0) as u64)
        }
    }

    /// Counts a refusal past the budget into its certificate's summary.
    pub fn summarise(
        &self,
        identity: &Identity,
        plane: &'static str,
        inquiry_id: &str,
        at_ms: i64,
    ) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .entry(identity.fingerprint.clone())
            .and_modify(|p| {
                p.count = p.count.saturating_add(1);
                inquiry_id.clone_into(&mut p.last);
                p.last_ms = at_ms;
            })
            .or_insert_with(|| Pending {
                identity: identity.clone(),
                plane,
                count: 1,
                first: inquiry_id.to_owned(),
                last: inquiry_id.to_owned(),
                last_ms: at_ms,
            });
    }

    /// Takes every pending summary (one per certificate).
    pub fn take(&self) -> Vec<Pending> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.drain().map(|(_, p)| p).collect()
    }

    /// Puts back a summary that could not be committed, merged with what
    /// arrived meanwhile (its refusals came first).
    pub fn restore(&self, earlier: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(&earlier.identity.fingerprint) {
            Some(later) => {
                later.count = later.count.saturating_add(earlier.count);
                later.first = earlier.first;
            }
            None => {
                pending.insert(earlier.identity.fingerprint.clone(), earlier);
            }
        }
    }

    /// Drops buckets that are full again (their certificate refused nothing
    /// for a burst's worth of time): memory stays bounded by the
    /// certificates refused recently.
    pub fn shrink(&self, now: Instant) {
        let full_after = self.burst / self.rate_per_sec.max(f64::MIN_POSITIVE);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < full_after);
    }

    /// Certificates with a bucket.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

#[cfg(test)]
mod tests;
