//! The gateway's one notion of "now": every decision (officer validity,
//! consent expiry, the period after which a penalty may no longer be
//! served), every log entry's time and the per-request certificate expiry
//! check read [`Clock::now`]. A running gateway uses the system clock; an
//! in-process caller (tests) may start it with a manual clock through
//! [`super::start_with_clock`] and move it with [`Clock::set`]. There is no
//! config knob for it: a deployed gateway always runs at the real time.

use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

/// Where "now" comes from. Cloning shares the source: setting a manual
/// clock moves every clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: a manual instant.
    manual: Option<Arc<Mutex<OffsetDateTime>>>,
}

impl Clock {
    /// The system clock (the default).
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `at` until [`Clock::set`] moves it. For tests
    /// only: it decides which records and officers are valid.
    pub fn manual(at: OffsetDateTime) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(at))),
        }
    }

    /// True for the system clock.
    pub fn is_system(&self) -> bool {
        self.manual.is_none()
    }

    /// Move a manual clock to `at`; the system clock ignores it.
    pub fn set(&self, at: OffsetDateTime) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(|p| p.into_inner()) = at;
        }
    }

    /// The current instant, in UTC.
    pub fn now(&self) -> OffsetDateTime {
        match &self.manual {
            None => OffsetDateTime::now_utc(),
            Some(m) => *m.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests;
