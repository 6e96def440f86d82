//! A log-bucketed latency histogram (HdrHistogram-like, fixed precision).
//!
//! This module owns recording latencies in microseconds and reading
//! percentiles back. Values below 256 µs are kept exactly; larger values fall
//! into buckets whose width is 1/128 of their power of two, so any reported
//! value is within 0.8 % of a recorded one. Memory is fixed (a few thousand
//! counters) whatever the number of samples, and two histograms merge by
//! adding counters, so each load worker keeps its own and they are summed at
//! the end.

/// Values below this are stored in their own bucket (exact).
const EXACT_LIMIT: u64 = 256;
/// Linear sub-buckets per power of two above [`EXACT_LIMIT`].
const SUB_BUCKETS: u64 = 128;
/// log2 of [`SUB_BUCKETS`].
const SUB_BITS: u32 = 7;
/// log2 of [`EXACT_LIMIT`].
const EXACT_BITS: u32 = 8;
/// Number of buckets: the exact ones plus 128 per power of two from 2^8 to 2^63.
const BUCKETS: usize = (EXACT_LIMIT + (64 - EXACT_BITS as u64) * SUB_BUCKETS) as usize;

/// Latency histogram over `u64` values (the harness records microseconds).
#[derive(Debug, Clone)]
pub struct Histogram {
    /// One counter per bucket; see [`bucket_of`].
    counts: Vec<u64>,
    /// Number of recorded values.
    total: u64,
    /// Exact sum of recorded values, for the mean.
    sum: u128,
    /// Exact smallest recorded value.
    min: u64,
    /// Exact largest recorded value.
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket index holding `v`.
fn bucket_of(v: u64) -> usize {
    if v < EXACT_LIMIT {
        return v as usize;
    }
    // INVARIANT: v >= 256, so the highest set bit `k` is in 8..=63.
    let k = 63 - v.leading_zeros();
    let shift = k - SUB_BITS;
    let mantissa = v >> shift; // in 128..=255
    (EXACT_LIMIT + u64::from(k - EXACT_BITS) * SUB_BUCKETS + (mantissa - SUB_BUCKETS)) as usize
}

/// The smallest and largest value that land in bucket `index`.
fn bucket_range(index: usize) -> (u64, u64) {
    let i = index as u64;
    if i < EXACT_LIMIT {
        return (i, i);
    }
    let above = i - EXACT_LIMIT;
    let k = (above / SUB_BUCKETS) as u32 + EXACT_BITS;
    let mantissa = above % SUB_BUCKETS + SUB_BUCKETS;
    let shift = k - SUB_BITS;
    let low = mantissa << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Record one value.
    pub fn record(&mut self, v: u64) {
        if let Some(c) = self.counts.get_mut(bucket_of(v)) {
            *c += 1;
        }
        self.total += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Add every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Smallest recorded value, if any.
    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    /// Largest recorded value, if any.
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// Arithmetic mean of the recorded values, if any.
    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// The value at percentile `p` (0–100): the smallest value such that at
    /// least `p` % of the samples are at or below it, reported as the top of
    /// its bucket (never above the exact maximum). `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let p = p.clamp(0.0, 100.0);
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (index, &c) in self.counts.iter().enumerate() {
            seen += c;
            if c > 0 && seen >= rank {
                let (_, high) = bucket_range(index);
                return Some(high.min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests;
