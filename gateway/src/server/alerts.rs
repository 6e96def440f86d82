//! Misuse alerts that act (`[[alerts]]` in `policy.toml`), off the request
//! path.
//!
//! This module owns:
//! - [`Alerts`], shared with the request path: the hand-off of one
//!   [`AlertEvent`] per committed data-plane entry (`try_send` on a bounded
//!   queue, drained by the task every 10 ms so a send never wakes it; a
//!   full queue counts `credgate_alert_events_dropped_total` and never
//!   blocks a request) and the map of suspended officers the data
//!   plane reads with one lookup ([`Alerts::suspended`]);
//! - the alert task ([`AlertTask`]): evaluates the events with
//!   [`policy::alerts::Evaluator`]; writes each firing as an entry on the
//!   chain (plane `alert`, reason `alert`, path `/alerts/<rule>`, `rule`
//!   the text of [`policy::alerts::Firing::rule_text`]); counts
//!   `credgate_alerts_total{rule}`; records suspensions; every second
//!   expires windows and suspensions, follows policy reloads and polls the
//!   store for alert-plane entries it did not write — lifts
//!   (`credgate audit lift`, reason `lift`) drop a suspension and restart
//!   the officer's windows; firings of other gateways sharing the store
//!   suspend here too and restart the same window;
//! - the rebuild at start: entries since now − the longest window replay
//!   into the evaluator, alert and lift entries since now − the longest
//!   `suspend_for` restore suspensions, and a firing the replay finds that
//!   the log lacks (the gateway stopped between the inquiry's commit and
//!   the alert's) is written then — if its inquiry is on a chain that did
//!   not end with a clean shutdown (no `final` checkpoint: a crash, or a
//!   cluster peer still running) and among the log's last [`LATE_SPAN_MS`]
//!   (two minutes). Any other is a firing no gateway made because its rule
//!   did not exist yet (added by a reload, or while the gateways were
//!   down), and rules never act on what was logged before them: a rule a
//!   reload adopted counts, live and in the replay, only inquiries made
//!   since its adoption, which an alert-plane entry ([`ADOPTED`]) records.
//!
//! - on a PostgreSQL store shared by several gateways (issue 17), the
//!   **alert leader**: the one gateway holding the session advisory lock
//!   [`LEADER_LOCK`] (per schema; [`Leadership`]) evaluates the data-plane entries of
//!   *every* chain, read from the store each second (the last
//!   [`POLL_DATA_BACK_MS`], deduplicated by inquiry id), so
//!   `distinct_subjects`, `refusals` and `subject_units` windows see the
//!   whole cluster and each firing is written once. The others do not
//!   evaluate; they apply the leader's alert entries (suspensions) like
//!   any other gateway's. A gateway that becomes leader (the leader died:
//!   its session and lock went with it) rebuilds its windows from the log
//!   first.
//!
//! What it must never do: make a request wait for alert evaluation or the
//! store (the request path only does a map lookup and a `try_send`), or
//! take an alert entry's word for a suspension without parsing it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use policy::alerts::{
    parse_lift, AlertAction, AlertEvent, AlertRecord, Evaluator, EventDecision, Firing,
};
use tokio::sync::mpsc;

use super::journal;
use super::Shared;

/// Events the alert task may lag behind by before new ones are dropped.
pub const QUEUE: usize = 8192;

/// How often the alert task takes the events queued since it last looked.
const DRAIN: Duration = Duration::from_millis(10);

/// How often the alert task expires, follows reloads and polls the store.
const TICK: Duration = Duration::from_secs(1);

/// How far back (ms) the poll for lifts and other gateways' alerts reads.
const POLL_BACK_MS: i64 = 60_000;

/// How far back (ms) the alert leader reads data-plane entries each second
/// (an entry's time is when its request arrived; it commits after the
/// upstream answered, within the upstream timeout).
const POLL_DATA_BACK_MS: i64 = 15_000;

/// The alert leader's advisory lock: advisory locks are per database, so
/// its key is derived from the schema the store's tables live in (two
/// clusters in two schemas of one database each have their leader).
pub const LEADER_LOCK: &str =
    "SELECT pg_try_advisory_lock(hashtextextended('credgate-alert-leader/' || current_schema(), 0))";

/// On a PostgreSQL store: this gateway's claim on the alert leadership, a
/// session advisory lock on a connection of its own.
pub(crate) struct Leadership {
    url: String,
    conn: Option<sqlx::PgConnection>,
    leading: bool,
}

impl Leadership {
    pub(crate) fn new(url: &str) -> Leadership {
        Leadership {
            url: url.to_owned(),
            conn: None,
            leading: false,
        }
    }

    /// Whether this gateway leads now: keeps the lock while its session
    /// lives, or tries to take it. Any failure is "not leading".
    async fn check(&mut self) -> bool {
        use sqlx::Connection;
        const BOUND: Duration = Duration::from_secs(2);
        if self.conn.is_none() {
            self.leading = false;
            // The lock lives as long as this session: with TCP keepalives
            // (as the write connection has) the server notices a leader
            // whose host died or was cut off within about a minute, not the
            // operating system's two hours, and another gateway leads.
            let Ok(opts) =
                <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&self.url)
            else {
                return false;
            };
            let opts = opts.options([
                ("tcp_keepalives_idle", "30"),
                ("tcp_keepalives_interval", "10"),
                ("tcp_keepalives_count", "3"),
                ("client_min_messages", "warning"),
            ]);
            match tokio::time::timeout(BOUND, sqlx::PgConnection::connect_with(&opts)).await {
                Ok(Ok(c)) => self.conn = Some(c),
                _ => return false,
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let alive = if self.leading {
            matches!(tokio::time::timeout(BOUND, conn.ping()).await, Ok(Ok(())))
        } else {
            let got = tokio::time::timeout(
                BOUND,
                sqlx::query_scalar::<_, bool>(LEADER_LOCK).fetch_one(&mut *conn),
            )
            .await;
            match got {
                Ok(Ok(got)) => {
                    self.leading = got;
                    true
                }
                _ => false,
            }
        };
        if !alive {
            // The session (and any lock it held) is gone or in doubt.
            self.conn = None;
            self.leading = false;
        }
        self.leading
    }
}

/// An officer's active suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// End, UTC unix milliseconds (exclusive).
    pub until_ms: i64,
    /// The alert rule that suspended the officer.
    pub rule: String,
}

/// What the request path shares with the alert task.
#[derive(Debug)]
pub struct Alerts {
    tx: mpsc::Sender<AlertEvent>,
    suspended: RwLock<HashMap<String, Suspension>>,
}

impl Alerts {
    /// The shared half and the alert task's queue.
    pub fn new(capacity: usize) -> (Alerts, mpsc::Receiver<AlertEvent>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Alerts {
                tx,
                suspended: RwLock::new(HashMap::new()),
            },
            rx,
        )
    }

    /// The officer's suspension, if one is active at `now_ms`: one map
    /// lookup under a read lock.
    pub fn suspended(&self, officer: &str, now_ms: i64) -> Option<Suspension> {
        let map = self.suspended.read().unwrap_or_else(|p| p.into_inner());
        map.get(officer).filter(|s| s.until_ms > now_ms).cloned()
    }

    /// Hand a committed inquiry to the alert task without waiting. False
    /// when the queue is full or the task is gone (the caller counts it).
    pub fn offer(&self, event: AlertEvent) -> bool {
        self.tx.try_send(event).is_ok()
    }

    /// Suspend `officer` (a later end wins).
    pub fn suspend(&self, officer: &str, s: Suspension) {
        let mut map = self.suspended.write().unwrap_or_else(|p| p.into_inner());
        match map.get(officer) {
            Some(old) if old.until_ms >= s.until_ms => {}
            _ => {
                map.insert(officer.to_owned(), s);
            }
        }
    }

    /// Lift `officer`'s suspension; true if there was one.
    pub fn lift(&self, officer: &str) -> bool {
        let mut map = self.suspended.write().unwrap_or_else(|p| p.into_inner());
        map.remove(officer).is_some()
    }

    /// Every suspension active at `now_ms`: `(officer, until_ms, rule)`,
    /// by officer (the compliance console lists them).
    pub fn active(&self, now_ms: i64) -> Vec<(String, i64, String)> {
        let map = self.suspended.read().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<(String, i64, String)> = map
            .iter()
            .filter(|(_, s)| s.until_ms > now_ms)
            .map(|(o, s)| (o.clone(), s.until_ms, s.rule.clone()))
            .collect();
        list.sort();
        list
    }

    /// Forget suspensions that ended at `now_ms`.
    fn expire(&self, now_ms: i64) {
        let mut map = self.suspended.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.until_ms > now_ms);
    }
}

/// The event of one committed entry, if the alerts count it: data plane,
/// an officer named, and an inquiry's own entry — not the summary of a
/// certificate's refusals past its budget (`refusals_summarised`), which
/// the running gateway never counts, so that the rebuild at start counts
/// exactly what it counted — and not a refusal *because* the officer is
/// suspended: counted, a suspended officer's every attempt would fire the
/// `refusals` (or `off_hours`) rule again and push the suspension's end
/// out for as long as they kept trying, where the contract says it lasts
/// until `suspend_for` ends.
pub fn event_of(e: &audit::NewEntry) -> Option<AlertEvent> {
    if e.plane != "data"
        || e.officer_id.is_empty()
        || e.reason == policy::Reason::OfficerSuspended.code()
    {
        return None;
    }
    // A refusal summary stands for its count of refusals past the
    // certificate's budget (an outside probe: 29 399 refusals fired a
    // threshold-10 `refusals` rule 19 times, only for those logged one by
    // one). A summary that does not parse counts once.
    let weight = if e.reason == super::refusals::SUMMARY_REASON {
        crate::audit_api::refusal_summary(&e.rule)
            .map_or(1, |(count, _, _)| u32::try_from(count).unwrap_or(u32::MAX))
    } else {
        1
    };
    Some(AlertEvent {
        officer: e.officer_id.clone(),
        unit: e.unit.clone(),
        subject: e.subject_id.clone(),
        decision: match e.decision {
            audit::Decision::Allow => EventDecision::Allow,
            audit::Decision::Deny => EventDecision::Deny,
            audit::Decision::Error => EventDecision::Error,
        },
        time_ms: e.time_ms,
        inquiry_id: e.inquiry_id.clone(),
        weight,
    })
}

/// UTC unix milliseconds of an instant.
fn ms(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The alert entry of a firing.
pub(crate) fn alert_entry(f: &Firing, inquiry_id: String, time_ms: i64) -> audit::NewEntry {
    let subject_type = f
        .subject
        .as_deref()
        .and_then(|s| policy::subject::classify(s).ok())
        .map(|t| t.as_str().to_owned());
    audit::NewEntry {
        officer_id: journal::clean(&f.officer),
        officer_name: "credgate alerts".into(),
        unit: journal::clean(&f.unit),
        method: "ALERT".into(),
        path: journal::clean(&format!("/alerts/{}", f.rule)),
        subject_id: f.subject.as_deref().map(journal::clean),
        subject_type,
        rule: journal::clean(&f.rule_text()),
        ..journal::own_entry(
            time_ms,
            inquiry_id,
            "alert",
            audit::Decision::Error,
            "alert",
            if f.suspend_until_ms.is_some() {
                403
            } else {
                200
            },
        )
    }
}

/// The alert task (see the module docs).
pub(crate) struct AlertTask {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<AlertEvent>,
    evaluator: Evaluator,
    policy: Option<Arc<policy::Policy>>,
    /// Alert-plane entries already applied (inquiry id → time).
    seen: HashMap<String, i64>,
    /// On a shared PostgreSQL store: the alert leadership (see the module
    /// docs); None: this gateway evaluates its own queue.
    leader: Option<Leadership>,
    /// Data-plane entries the leader already evaluated (inquiry id → time).
    data_seen: HashMap<String, i64>,
    /// Where the last successful alert-plane and data-plane polls started
    /// (UTC ms): the next one reads back from there, not only from now —
    /// a gateway paused (or starved) longer than the look-back missed the
    /// suspensions and inquiries of the pause (an outside probe: a
    /// gateway stopped 65 s served a suspended officer; a leader stopped
    /// 90 s never counted the inquiries of its pause).
    polled_at: Option<i64>,
    data_polled_at: Option<i64>,
    /// Adoptions (rule, time) whose entry could not be written yet: tried
    /// again every tick, so the rebuild at the next start learns them.
    unlogged_adoptions: Vec<(String, i64)>,
}

impl AlertTask {
    pub(crate) fn new(shared: Arc<Shared>, rx: mpsc::Receiver<AlertEvent>) -> AlertTask {
        AlertTask {
            shared,
            rx,
            evaluator: Evaluator::default(),
            policy: None,
            seen: HashMap::new(),
            leader: None,
            data_seen: HashMap::new(),
            polled_at: None,
            data_polled_at: None,
            unlogged_adoptions: Vec::new(),
        }
    }

    /// Evaluate as one of several gateways on the PostgreSQL store at
    /// `url` (see the module docs).
    pub(crate) fn clustered(mut self, url: &str) -> AlertTask {
        self.leader = Some(Leadership::new(url));
        self
    }

    /// Take the policy's rules and rebuild windows and suspensions from the
    /// log. Awaited before the listeners accept: no request is served on
    /// state the log does not support yet, and no entry is counted twice
    /// (once read back, once from the queue).
    pub(crate) async fn prepare(&mut self) {
        self.follow_policy().await;
        let replay = match self.leader.as_mut() {
            Some(l) => l.check().await,
            None => true,
        };
        if let Err(e) = self.rebuild(replay).await {
            tracing::error!(error = %e, "misuse alerts: state not rebuilt from the log; windows start empty");
        }
    }

    /// Evaluate until the gateway drops the queue (or aborts the task).
    ///
    /// The queue is drained every [`DRAIN`] rather than awaited: a task
    /// parked on `recv` would make every request's `try_send` pay for
    /// waking it; this way a send is only a push (an alert fires at most
    /// [`DRAIN`] later).
    pub(crate) async fn run(mut self) {
        let mut drain = tokio::time::interval(DRAIN);
        drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_tick = tokio::time::Instant::now();
        loop {
            drain.tick().await;
            loop {
                match self.rx.try_recv() {
                    Ok(ev) => self.event(&ev).await,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = tokio::time::Instant::now();
                self.tick().await;
            }
        }
    }

    /// Take the current policy's rules if it changed (a reload). A rule a
    /// reload adds or changes is adopted now: it counts inquiries from now
    /// on, and an entry ([`ADOPTED`]) records that for the rebuild at the
    /// next start (or a cluster's next alert leader), which then counts
    /// the same inquiries this gateway does.
    async fn follow_policy(&mut self) {
        let current = self.shared.policy.load_full();
        if self
            .policy
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &current))
        {
            return;
        }
        for r in current.alerts() {
            self.shared.metrics.alert_rule(&r.name);
        }
        let adopted = match self.policy {
            // The rules at start (or on becoming the leader) count the
            // log's window: nothing is adopted.
            None => Vec::new(),
            Some(_) => self
                .evaluator
                .new_in(current.alerts(), current.utc_offset_seconds()),
        };
        self.evaluator
            .set_rules(current.alerts().to_vec(), current.utc_offset_seconds());
        self.policy = Some(current);
        let now = self.now_ms();
        for rule in adopted {
            self.evaluator.adopted_at(&rule, now);
            self.unlogged_adoptions.push((rule, now));
        }
        self.log_adoptions().await;
    }

    /// Writes the entries of the adoptions not logged yet; one that fails
    /// stays for the next tick.
    async fn log_adoptions(&mut self) {
        for (rule, at) in std::mem::take(&mut self.unlogged_adoptions) {
            if let Err(why) = self.log_adoption(&rule, at).await {
                tracing::error!(rule, error = %why, "alert rule adoption not logged yet; tried again next second");
                self.unlogged_adoptions.push((rule, at));
            }
        }
    }

    /// Writes the entry saying a reload adopted `rule` at `now`.
    async fn log_adoption(&mut self, rule: &str, now: i64) -> Result<(), String> {
        let id = journal::new_inquiry_id(&self.shared.rng);
        self.seen.insert(id.clone(), now);
        let entry = audit::NewEntry {
            officer_name: "credgate alerts".into(),
            method: "RELOAD".into(),
            path: journal::clean(&format!("/alerts/{rule}")),
            rule: journal::clean(&format!(
                "alert rule `{rule}` adopted by a policy reload: it counts inquiries from now on"
            )),
            ..journal::own_entry(now, id, "alert", audit::Decision::Allow, ADOPTED, 200)
        };
        self.append(entry).await
    }

    /// Appends an entry of the alert task, bounded by the store timeout.
    async fn append(&self, entry: audit::NewEntry) -> Result<(), String> {
        let appended = tokio::time::timeout(
            self.shared.audit.append_bound(),
            self.shared.audit.append(entry),
        )
        .await;
        match appended {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the store did not answer in time".into()),
        }
    }

    fn now_ms(&self) -> i64 {
        ms(self.shared.clock.now())
    }

    async fn event(&mut self, ev: &AlertEvent) {
        if self.leader.is_some() {
            // Clustered: the leader reads every chain's entries from the store.
            return;
        }
        self.follow_policy().await;
        self.evaluate(ev).await;
    }

    /// Evaluate one inquiry as it is committed (or, on the leader, read):
    /// nothing for an officer suspended then (see [`suspended_at`]).
    async fn evaluate(&mut self, ev: &AlertEvent) {
        if self
            .shared
            .alerts
            .suspended(&ev.officer, ev.time_ms)
            .is_some()
        {
            return;
        }
        for firing in self.evaluator.observe(ev) {
            self.fire(&firing, false).await;
        }
    }

    /// Log, count and act on one firing.
    async fn fire(&mut self, f: &Firing, late: bool) {
        let id = journal::new_inquiry_id(&self.shared.rng);
        let now = self.now_ms();
        self.seen.insert(id.clone(), now);
        let entry = alert_entry(f, id, now);
        // Suspended first: the officer's next inquiry is refused even while
        // the alert entry is still being written.
        if let Some(until_ms) = f.suspend_until_ms.filter(|u| *u > now) {
            self.shared.alerts.suspend(
                &f.officer,
                Suspension {
                    until_ms,
                    rule: f.rule.clone(),
                },
            );
        }
        tracing::warn!(rule = %f.rule, officer = %f.officer, subject = ?f.subject, count = f.count, late, "MISUSE ALERT: {}", entry.rule);
        if let Err(why) = self.append(entry).await {
            tracing::error!(rule = %f.rule, error = %why, "misuse alert not logged");
        }
        self.shared.metrics.alert(&f.rule);
    }

    async fn tick(&mut self) {
        self.follow_policy().await;
        if !self.unlogged_adoptions.is_empty() {
            self.log_adoptions().await;
        }
        let now = self.now_ms();
        self.evaluator.sweep(now);
        self.shared.alerts.expire(now);
        if let Err(e) = self.poll(now).await {
            tracing::warn!(error = %e, "misuse alerts: cannot read lifts from the log");
        }
        let Some(leader) = self.leader.as_mut() else {
            return;
        };
        let was = leader.leading;
        if !leader.check().await {
            if was {
                tracing::warn!("misuse alerts: no longer the cluster's alert leader");
            }
            return;
        }
        let result = if was {
            self.poll_data(now).await
        } else {
            tracing::info!("misuse alerts: this gateway is the cluster's alert leader");
            // Start from the log, not from what this gateway saw meanwhile.
            self.evaluator = Evaluator::default();
            self.policy = None;
            self.data_seen.clear();
            self.data_polled_at = None;
            self.follow_policy().await;
            self.rebuild(true).await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "misuse alerts: cannot read the cluster's inquiries");
        }
    }

    /// The leader: evaluate every chain's data-plane entries not seen yet.
    async fn poll_data(&mut self, now: i64) -> Result<(), audit::AuditError> {
        if self.evaluator.rules().is_empty() {
            return Ok(());
        }
        let system = ms(time::OffsetDateTime::now_utc());
        let start = now.min(system);
        let from = poll_from(self.data_polled_at, start, POLL_DATA_BACK_MS);
        let mut found = self.plane_since("data", from).await?;
        self.data_polled_at = Some(start);
        found.sort_by(|a, b| {
            (a.entry.time_ms, &a.chain_id, a.seq).cmp(&(b.entry.time_ms, &b.chain_id, b.seq))
        });
        for e in found {
            if self.data_seen.contains_key(&e.entry.inquiry_id) {
                continue;
            }
            self.data_seen
                .insert(e.entry.inquiry_id.clone(), e.entry.time_ms);
            let Some(ev) = event_of(&e.entry) else {
                continue;
            };
            self.evaluate(&ev).await;
        }
        self.data_seen
            .retain(|_, t| *t >= from.saturating_sub(POLL_DATA_BACK_MS));
        Ok(())
    }

    /// Every entry of `plane` from `from` (UTC ms) on.
    async fn plane_since(
        &self,
        plane: &str,
        from: i64,
    ) -> Result<Vec<audit::Entry>, audit::AuditError> {
        self.shared
            .audit
            .reader()
            .query(&audit::Filter {
                plane: Some(plane.into()),
                from_ms: Some(from),
                ..audit::Filter::default()
            })
            .await
    }

    /// Apply alert-plane entries not seen yet: lifts, and firings of other
    /// gateways sharing the store.
    async fn poll(&mut self, now: i64) -> Result<(), audit::AuditError> {
        // A lift's time is its writer's clock; read back from the earlier
        // of the gateway clock and the system clock.
        let system = ms(time::OffsetDateTime::now_utc());
        let start = now.min(system);
        let from = poll_from(self.polled_at, start, POLL_BACK_MS);
        let found = self.plane_since("alert", from).await?;
        self.polled_at = Some(start);
        let own = self.shared.audit.chain_id().to_owned();
        for e in found {
            if self.seen.contains_key(&e.entry.inquiry_id) {
                continue;
            }
            self.seen
                .insert(e.entry.inquiry_id.clone(), e.entry.time_ms);
            if e.chain_id == own && e.entry.reason == "alert" {
                continue;
            }
            self.apply_logged(&e.entry, now);
        }
        self.seen
            .retain(|_, t| *t >= from.saturating_sub(POLL_BACK_MS));
        Ok(())
    }

    /// Apply one logged alert or lift entry to the suspensions and windows.
    fn apply_logged(&mut self, e: &audit::NewEntry, now: i64) {
        match e.reason.as_str() {
            "lift" => {
                if let Some((officer, why)) = parse_lift(&e.rule) {
                    let had = self.shared.alerts.lift(officer);
                    self.evaluator.lift(officer);
                    tracing::warn!(
                        officer,
                        reason = why,
                        was_suspended = had,
                        "misuse alerts: officer lifted"
                    );
                }
            }
            "alert" => {
                let Some(rec) = AlertRecord::parse(&e.rule) else {
                    return;
                };
                let key = if rec.kind.per_subject() {
                    e.subject_id.clone().unwrap_or_default()
                } else {
                    e.officer_id.clone()
                };
                self.evaluator.restart(&rec.rule, &key);
                if let Some(until_ms) = rec.suspend_until_ms.filter(|u| *u > now) {
                    self.shared.alerts.suspend(
                        &e.officer_id,
                        Suspension {
                            until_ms,
                            rule: rec.rule,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// One data entry of the replay: its event observed; a firing it
    /// reproduces that the log does not hold is missing (written late).
    fn replay_data(&mut self, e: &audit::Entry, replay: &mut Replay) {
        replay.tail_ms = replay.tail_ms.max(e.entry.time_ms);
        if self.leader.is_some() {
            self.data_seen
                .insert(e.entry.inquiry_id.clone(), e.entry.time_ms);
        }
        let Some(ev) = event_of(&e.entry) else {
            return;
        };
        if suspended_at(&replay.suspended, &ev.officer, ev.time_ms) {
            return;
        }
        for f in self.evaluator.observe(&ev) {
            let key = (f.rule.clone(), f.last_inquiry.clone());
            if !replay.logged.contains(&key) {
                replay.missing.push((f, e.chain_id.clone()));
            }
            replay.reproduced.insert(key);
        }
    }

    /// One alert or lift entry of the replay.
    fn replay_alert(&mut self, e: &audit::Entry, replay: &mut Replay) {
        let now = replay.now;
        self.seen
            .insert(e.entry.inquiry_id.clone(), e.entry.time_ms);
        if e.entry.reason == "lift" {
            if let Some((officer, _)) = parse_lift(&e.entry.rule) {
                replay.suspended.remove(officer);
            }
        }
        if let Some(r) = (e.entry.reason == "alert")
            .then(|| AlertRecord::parse(&e.entry.rule))
            .flatten()
        {
            // The suspensions as they stood when each data entry was made,
            // ended ones included, so that the replay skips what the
            // running gateway skipped.
            if let Some(until) = r.suspend_until_ms {
                let held = replay
                    .suspended
                    .entry(e.entry.officer_id.clone())
                    .or_insert(until);
                *held = (*held).max(until);
            }
            // A firing the replay reproduced already restarted its
            // window: only its suspension applies.
            if replay
                .reproduced
                .contains(&(r.rule.clone(), r.last_inquiry.clone()))
            {
                if let Some(until_ms) = r.suspend_until_ms.filter(|u| *u > now) {
                    self.shared.alerts.suspend(
                        &e.entry.officer_id,
                        Suspension {
                            until_ms,
                            rule: r.rule,
                        },
                    );
                }
                return;
            }
        }
        self.apply_logged(&e.entry, now);
    }

    /// Replay the log (see the module docs).
    async fn rebuild(&mut self, replay_data: bool) -> Result<(), audit::AuditError> {
        let now = self.now_ms();
        let rules = self.evaluator.rules().to_vec();
        let longest_suspend = rules
            .iter()
            .filter_map(|r| match r.action {
                AlertAction::Suspend(d) => Some(d),
                AlertAction::Alert => None,
            })
            .max()
            .unwrap_or_default();
        let window = self.evaluator.longest_window();
        let ms_of = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let data_from = now.saturating_sub(ms_of(window));
        let alert_from = now.saturating_sub(ms_of(longest_suspend)).min(data_from);
        let reader = self.shared.audit.reader();
        // Alert and lift entries are few: all of them at once.
        let alerts = self.plane_since("alert", alert_from).await?;
        let mut replay = Replay {
            logged: alerts
                .iter()
                .filter(|e| e.entry.reason == "alert")
                .filter_map(|e| AlertRecord::parse(&e.entry.rule))
                .map(|r| (r.rule, r.last_inquiry))
                .collect(),
            reproduced: HashSet::new(),
            missing: Vec::new(),
            tail_ms: i64::MIN,
            now,
            suspended: HashMap::new(),
        };
        // Rules a reload adopted count from then on here too (the later
        // adoption, when a rule was adopted twice or by several gateways).
        for a in alerts.iter().filter(|a| a.entry.reason == ADOPTED) {
            if let Some(rule) = a.entry.path.strip_prefix("/alerts/") {
                self.evaluator.adopted_at(rule, a.entry.time_ms);
            }
        }
        let order = |e: &audit::Entry| (e.entry.time_ms, e.chain_id.clone(), e.seq);
        let mut alerts = alerts.into_iter().peekable();
        // Data entries of the window page by page (keyset, in log order),
        // merged with the alert entries: memory stays one page however busy
        // the window was.
        let mut replayed_data = 0usize;
        let mut after = None;
        while replay_data && !rules.is_empty() {
            let page = reader
                .query(&audit::Filter {
                    plane: Some("data".into()),
                    from_ms: Some(data_from),
                    limit: Some(REPLAY_PAGE),
                    after: after.take(),
                    ..audit::Filter::default()
                })
                .await?;
            let full = page.len() as u64 == REPLAY_PAGE;
            for e in &page {
                while let Some(a) = alerts.next_if(|a| order(a) < order(e)) {
                    self.replay_alert(&a, &mut replay);
                }
                self.replay_data(e, &mut replay);
                replayed_data += 1;
            }
            match page.last() {
                Some(last) if full => after = Some(audit::reader::Cursor::of(last)),
                _ => break,
            }
        }
        for a in alerts {
            self.replay_alert(&a, &mut replay);
        }
        // Late firings are the crash gap's: an inquiry committed, its
        // gateway gone before the alert's entry. So the inquiry is on a
        // chain that did not end with a clean shutdown (a gateway stopped
        // by a signal evaluates everything it committed, then signs a
        // `final` checkpoint), and near the log's end (the dead gateway
        // wrote nothing after it; a cluster's leader is replaced within
        // about a minute): [`LATE_SPAN_MS`]. Any other firing the log lacks
        // is one no gateway fired — its rule was added since (by a reload
        // or while the gateways were down) — and rules act from when they
        // are adopted, never on what was logged before.
        let tail = replay.tail_ms;
        let mut clean: HashMap<String, bool> = HashMap::new();
        let mut missing = Vec::new();
        let mut backdated = 0usize;
        for (f, chain_id) in replay.missing {
            let ended_cleanly = match clean.get(&chain_id) {
                Some(c) => *c,
                None => {
                    let c = reader.ended_cleanly(&chain_id).await?;
                    clean.insert(chain_id, c);
                    c
                }
            };
            if !ended_cleanly && f.time_ms >= tail.saturating_sub(LATE_SPAN_MS) {
                missing.push(f);
            } else {
                backdated += 1;
            }
        }
        tracing::info!(
            replayed = replayed_data,
            windows = self.evaluator.tracked(),
            late = missing.len(),
            backdated_not_written = backdated,
            "misuse alerts: state rebuilt from the log"
        );
        for f in missing {
            self.fire(&f, true).await;
        }
        Ok(())
    }
}

/// The reason of the alert-plane entry recording that a policy reload
/// adopted a rule (path `/alerts/<rule>`): the rebuild counts that rule's
/// inquiries from then on ([`policy::alerts::Evaluator::adopted_at`]).
pub const ADOPTED: &str = "rule_adopted";

/// Data entries read per page while the state is rebuilt at start.
const REPLAY_PAGE: u64 = 4096;

/// What a rebuild carries between entries.
struct Replay {
    /// (rule, last inquiry) of every firing the log holds.
    logged: HashSet<(String, String)>,
    /// Firings the replay reproduced.
    reproduced: HashSet<(String, String)>,
    /// Firings the replay reproduced that the log does not hold, with the
    /// chain of the inquiry that made each fire.
    missing: Vec<(Firing, String)>,
    /// Time of the newest data entry replayed.
    tail_ms: i64,
    now: i64,
    /// Officer → end of the suspension the log had put in force so far.
    suspended: HashMap<String, i64>,
}

/// Where a poll starting at `start` (UTC ms) reads from: `back` before
/// the earlier of `start` and where the last successful poll started
/// (`last`), so that a poll after a pause (the process stopped, the store
/// unreachable) still reads what was written during it.
fn poll_from(last: Option<i64>, start: i64, back: i64) -> i64 {
    last.map_or(start, |last| {
        last.min(start).max(start.saturating_sub(MAX_CATCH_UP_MS))
    })
    .saturating_sub(back)
}

/// How far back a poll after a pause reads at most (a day): a catch-up
/// read stays bounded however long the pause or the store's outage was.
const MAX_CATCH_UP_MS: i64 = 86_400_000;

/// Whether `officer` was suspended at `time_ms` by `suspended`'s account.
///
/// A suspended officer's inquiries count for no rule — not only the
/// `officer_suspended` refusals ([`event_of`]) but also the requests
/// refused before the suspension is looked at (a missing header, an
/// unparsable request): counted, they fired `refusals` again and pushed
/// the suspension's end out for as long as the officer kept trying, where
/// the contract says it lasts until `suspend_for` ends (an outside probe).
/// The running gateway asks [`Alerts::suspended`]; the replay keeps its
/// own account from the alert and lift entries in log order.
fn suspended_at(suspended: &HashMap<String, i64>, officer: &str, time_ms: i64) -> bool {
    suspended.get(officer).is_some_and(|until| *until > time_ms)
}

/// How far before the newest replayed inquiry a firing the log lacks is
/// still written late (the crash gap: an inquiry committed, its gateway
/// gone before the alert's entry; see [`AlertTask::rebuild`]).
///
/// Two minutes: an entry's time is its request's arrival and it commits
/// after the upstream answers (up to `request_timeout_ms`, 30 s by
/// default), and a cluster's leader whose host died is replaced once the
/// server drops its session (keepalives: about a minute).
const LATE_SPAN_MS: i64 = 120_000;

#[cfg(test)]
mod tests;
