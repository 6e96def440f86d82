//! Per-role rate limits, keyed by officer id: each role with a `rate` gets a
//! keyed GCRA limiter (governor) with the role's quota as burst, so one
//! officer's limit never slows another. A policy reload that changes a
//! role's rate replaces that role's limiter.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

type Keyed = DefaultKeyedRateLimiter<String>;

/// One role's limiter and the rate it was built for.
struct RoleLimiter {
    count: u32,
    per: Duration,
    limiter: Keyed,
}

/// Rate limiters for every role, created on first use.
#[derive(Default)]
pub struct Limiter {
    roles: Mutex<HashMap<String, Arc<RoleLimiter>>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

impl Limiter {
    /// Admit one request of `officer` under `role`'s rate of `count` per `per`.
    /// `Err(seconds)` is the `Retry-After` (at least 1).
    pub fn check(&self, role: &str, count: u32, per: Duration, officer: &str) -> Result<(), u64> {
        let Some(burst) = NonZeroU32::new(count) else {
            return Err(per.as_secs().max(1));
        };
        let role_limiter = {
            let mut roles = match self.roles.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            match roles.get(role) {
                Some(l) if l.count == count && l.per == per => l.clone(),
                _ => {
                    let period = per
                        .checked_div(count)
                        .unwrap_or(per)
                        .max(Duration::from_nanos(1));
                    let quota = Quota::with_period(period)
                        .unwrap_or_else(|| Quota::per_second(burst))
                        .allow_burst(burst);
                    let l = Arc::new(RoleLimiter {
                        count,
                        per,
                        limiter: RateLimiter::keyed(quota),
                    });
                    roles.insert(role.to_string(), l.clone());
                    l
                }
            }
        };
        match role_limiter.limiter.check_key(&officer.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(secs.max(1))
            }
        }
    }
}

impl Limiter {
    /// Forget officers whose limits have fully replenished (bounds memory).
    pub fn shrink(&self) {
        let roles: Vec<Arc<RoleLimiter>> = match self.roles.lock() {
            Ok(g) => g.values().cloned().collect(),
            Err(p) => p.into_inner().values().cloned().collect(),
        };
        for r in roles {
            r.limiter.retain_recent();
            r.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests;
