//! The console's HTML, as maud templates: every value is escaped by maud,
//! no page carries a script or an inline style, and every sentence comes
//! from the language's [`Text`] table.

use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::chart;
use super::i18n::{Lang, Text};
use super::{link, ConsoleError, Context, Params, Problem, Verified};

/// One chain on the overview.
#[derive(Debug)]
pub struct ChainView {
    /// Its state in the store.
    pub status: audit::ChainStatus,
    /// Whether the latest checkpoint's signature verified (None: no checkpoint).
    pub signed: Option<bool>,
    /// Stored cosignatures by witness: verified, failing, or `None` (no
    /// key for that witness here).
    pub cosigned: Vec<(String, Option<bool>)>,
}

/// The overview's data.
#[derive(Debug)]
pub struct Overview {
    /// Every chain.
    pub chains: Vec<ChainView>,
    /// The last full verification, if any.
    pub verified: Option<Verified>,
    /// Inquiries per day and unit.
    pub chart: chart::DailyStacked,
    /// Refusals by reason over the same days.
    pub refusals: Vec<(String, u64)>,
    /// Alert firings of the last 7 days.
    pub recent_alerts: Vec<Value>,
}

/// What the inclusion proof check established.
#[derive(Debug)]
pub struct ProofChecked {
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// Its origin.
    pub origin: String,
    /// When it was signed.
    pub signed_ms: Option<i64>,
    /// Configured witnesses whose cosignature on it verified.
    pub witnesses: Vec<String>,
}

/// The proof section of an entry page.
#[derive(Debug)]
pub enum ProofView {
    /// Checked: what it proved, or why it failed.
    Checked(Result<ProofChecked, String>),
    /// No checkpoint covers the entry yet.
    Pending,
}

/// A time in the platform's zone: `2026-12-04 10:00:00`.
pub fn local_time(ms: i64, offset_seconds: i32) -> String {
    let offset =
        time::UtcOffset::from_whole_seconds(offset_seconds).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.to_offset(offset)
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// A day label `MM-DD` of the day starting at `ms` in the platform's zone.
pub fn day_label(ms: i64, offset_seconds: i32) -> String {
    local_time(ms, offset_seconds)
        .get(5..10)
        .unwrap_or("")
        .to_owned()
}

/// The zone as `UTC+08:00`.
pub(super) fn zone(offset_seconds: i32) -> String {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let a = offset_seconds.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// "12 min ago".
fn age(t: &Text, now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..60 => format!("{s} {}", t.seconds_ago),
        60..3600 => format!("{} {}", s / 60, t.minutes_ago),
        3600..86400 => format!("{} {}", s / 3600, t.hours_ago),
        _ => format!("{} {}", s / 86400, t.days_ago),
    }
}

/// The frame every page shares: head (stylesheet, no script), header with
/// navigation and the language switch, main, footer.
fn layout(lang: Lang, title: &str, here: &str, keep: &[(&str, String)], body: Markup) -> Markup {
    let t = lang.text();
    let other = match lang {
        Lang::ZhCn => Lang::En,
        Lang::En => Lang::ZhCn,
    };
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · " (t.product) }
                link rel="stylesheet" href=(super::STYLESHEET_PATH);
            }
            body {
                header class="top" {
                    span class="product" { (t.product) }
                    nav aria-label=(t.product) {
                        ul {
                            li { a href=(link(lang, "/console/", &[])) { (t.nav_overview) } }
                            li { a href=(link(lang, "/console/entries", &[])) { (t.nav_search) } }
                            li { a href=(link(lang, "/console/alerts", &[])) { (t.nav_alerts) } }
                        }
                    }
                    a href=(link(other, here, keep)) lang=(t.other_language_tag) hreflang=(t.other_language_tag) { (t.other_language) }
                }
                main { (body) }
                footer { p { (t.logged_note) } }
            }
        }
    }
}

/// A page with a status message (403, 400, 404, 503).
pub fn message(lang: Lang, status: u16, error: Option<&ConsoleError>) -> Markup {
    let t = lang.text();
    let (title, body) = match (status, error) {
        (403, _) => (t.forbidden_title, t.forbidden_body),
        (400, _) => (t.bad_request_title, ""),
        (404, Some(ConsoleError::NoSuchPage)) => (t.not_found_title, t.no_such_page_body),
        (404, _) => (t.not_found_title, t.not_found_body),
        _ => (t.unavailable_title, t.unavailable_body),
    };
    // What a value of the parameter must look like, where that helps.
    let expected = match error {
        Some(ConsoleError::Param {
            name,
            problem: Problem::Invalid,
        }) => match name.as_str() {
            "from" | "to" => Some(t.expected_time),
            "decision" => Some(t.expected_decision),
            "subject" | "subjects" => Some(t.expected_subject),
            "page" => Some(t.expected_page),
            "lang" => Some(t.expected_lang),
            _ => None,
        },
        _ => None,
    };
    let detail = match error {
        Some(ConsoleError::Param { name, problem }) => Some((
            name.as_str(),
            match problem {
                Problem::Unknown => t.problem_unknown,
                Problem::Twice => t.problem_twice,
                Problem::Encoding => t.problem_encoding,
                Problem::Invalid => t.problem_invalid,
                Problem::Range => t.problem_range,
            },
        )),
        _ => None,
    };
    layout(
        lang,
        title,
        "/console/",
        &[],
        html! {
            h1 { (status) " " (title) }
            div class="error" role="alert" {
                @if let Some((name, problem)) = detail {
                    p { (t.bad_param) " " code { (name) } " " (problem) }
                    @if let Some(hint) = expected { p { (hint) } }
                } @else {
                    p { (body) }
                }
            }
        },
    )
}

fn decision_class(d: audit::Decision) -> &'static str {
    match d {
        audit::Decision::Allow => "ok",
        _ => "bad",
    }
}

/// The overview page.
pub fn overview(ctx: &Context<'_>, lang: Lang, o: &Overview) -> Markup {
    let t = lang.text();
    layout(
        lang,
        t.overview_title,
        "/console/",
        &[],
        html! {
            h1 { (t.overview_title) }
            section aria-labelledby="chains" {
                h2 id="chains" { (t.chains) }
                table {
                    thead { tr {
                        th scope="col" { (t.chain) }
                        th scope="col" class="num" { (t.entries) }
                        th scope="col" class="num" { (t.latest_checkpoint) }
                        th scope="col" { (t.checkpoint_age) }
                        th scope="col" { (t.signature) }
                        th scope="col" class="num" { (t.unsigned_tail) }
                        th scope="col" { (t.witnesses) }
                    } }
                    tbody {
                        @for c in &o.chains {
                            tr {
                                td class="mono" { (c.status.chain_id) }
                                td class="num" { (c.status.entries) }
                                @if let Some((size, at, _)) = &c.status.latest {
                                    td class="num" { (size) }
                                    td { (local_time(*at, ctx.utc_offset_seconds)) " (" (age(t, ctx.now_ms, *at)) ")" }
                                    td {
                                        @if c.signed == Some(true) { span class="ok" { (t.signature_ok) } }
                                        @else { span class="bad" { (t.signature_bad) } }
                                    }
                                    td class="num" { (c.status.entries.saturating_sub(*size)) }
                                } @else {
                                    td class="num" { "—" }
                                    td { (t.no_checkpoint) }
                                    td { "—" }
                                    td class="num" { (c.status.entries) }
                                }
                                td {
                                    @if c.cosigned.is_empty() { span class="muted" { (t.no_cosignature) } }
                                    @for (w, ok) in &c.cosigned {
                                        div { (w) ": "
                                            @match ok {
                                                Some(true) => span class="ok" { (t.cosigned_verified) },
                                                Some(false) => span class="bad" { (t.cosigned_bad) },
                                                None => span class="muted" { (t.cosigned_unverified) },
                                            } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="verification" {
                h2 id="verification" { (t.verification) }
                p class="muted" { (t.verify_what) }
                @match &o.verified {
                    None => p { (t.verify_never) },
                    Some(v) => (verified_block(ctx, t, v)),
                }
                p { a href=(link(lang, "/console/verify", &[])) { (t.verify_now) } }
            }
            section aria-labelledby="volume" {
                h2 id="volume" { (t.volume_title) }
                (chart::daily_stacked(&o.chart, t.volume_caption, t.no_data))
            }
            section aria-labelledby="refusals" {
                h2 id="refusals" { (t.refusals_title) }
                @if o.refusals.is_empty() { p class="muted" { (t.none) } } @else {
                    table {
                        thead { tr { th scope="col" { (t.reason) } th scope="col" class="num" { (t.count) } } }
                        tbody {
                            @for (reason, n) in &o.refusals {
                                tr {
                                    td { a href=(link(lang, "/console/entries", &[("reason", reason.clone()), ("decision", "deny".into())])) { code { (reason) } } }
                                    td class="num" { (n) }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="open-alerts" {
                h2 id="open-alerts" { (t.open_alerts) }
                h3 { (t.suspended_officers) }
                (suspensions(ctx, lang))
                h3 { (t.recent_alerts) }
                (alert_table(ctx, lang, &o.recent_alerts))
            }
        },
    )
}

fn verified_block(ctx: &Context<'_>, t: &Text, v: &Verified) -> Markup {
    html! {
        dl {
            dt { (t.verification) }
            dd {
                @match &v.report {
                    Ok(audit::VerifyReport::Intact { entries, checkpoints, chains, open_chains, unsigned_entries }) => {
                        span class="ok" { (t.verify_intact) }
                        " — " (t.chains) ": " (chains) ", " (t.entries) ": " (entries) ", " (t.checkpoints) ": " (checkpoints)
                        ", " (t.open_chains) ": " (open_chains) ", " (t.unsigned_tail) ": " (unsigned_entries)
                    }
                    Ok(audit::VerifyReport::Tampered { chain_id, first_bad_seq, why }) => {
                        span class="bad" { (t.verify_tampered) }
                        " — " (t.chain) " " code { (chain_id) } ", seq " (first_bad_seq) ": " (why)
                    }
                    Err(_) => span class="bad" { (t.verify_failed) },
                }
            }
            dt { (t.verify_at) }
            dd { (local_time(v.at_ms, ctx.utc_offset_seconds)) " (" (age(t, ctx.now_ms, v.at_ms)) ")" }
            dt { (t.verify_by) }
            dd { (v.by) " · credgate " code { (ctx.chain_id) } }
        }
    }
}

fn suspensions(ctx: &Context<'_>, lang: Lang) -> Markup {
    let t = lang.text();
    html! {
        @if ctx.suspensions.is_empty() { p class="muted" { (t.none) } } @else {
            table {
                thead { tr { th scope="col" { (t.officer) } th scope="col" { (t.rule) } th scope="col" { (t.suspended_until) } } }
                tbody {
                    @for (officer, until, rule) in &ctx.suspensions {
                        tr {
                            td { a href=(officer_link(lang, officer)) { (officer) } }
                            td { (rule) }
                            td { (local_time(*until, ctx.utc_offset_seconds)) " (" (zone(ctx.utc_offset_seconds)) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// An officer page's path and query: `/console/officers/{id}`, or
/// `/console/officers?id=…` for an id holding a `/` (a `san.uri:` mapping
/// makes such ids; an encoded `/` in a path is refused before routing).
fn officer_target(id: &str) -> (String, Vec<(&'static str, String)>) {
    if id.contains('/') {
        ("/console/officers".to_owned(), vec![("id", id.to_owned())])
    } else {
        (
            format!("/console/officers/{}", super::encode_component(id)),
            Vec::new(),
        )
    }
}

fn officer_link(lang: Lang, id: &str) -> String {
    let (path, params) = officer_target(id);
    link(lang, &path, &params)
}

fn entry_path(id: &str) -> String {
    format!("/console/entries/{}", super::encode_component(id))
}

fn subject_path(id: &str) -> String {
    format!("/console/subjects/{}", super::encode_component(id))
}

fn json_text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn alert_table(ctx: &Context<'_>, lang: Lang, list: &[Value]) -> Markup {
    let t = lang.text();
    html! {
        @if list.is_empty() { p class="muted" { (t.none) } } @else {
            table {
                thead { tr {
                    th scope="col" { (t.time) } th scope="col" { (t.rule) } th scope="col" { (t.kind) }
                    th scope="col" { (t.officer) } th scope="col" { (t.subject) } th scope="col" class="num" { (t.count) }
                    th scope="col" { (t.window) } th scope="col" { (t.action) }
                    th scope="col" { (t.first_inquiry) } th scope="col" { (t.last_inquiry) }
                } }
                tbody {
                    @for a in list {
                        tr {
                            td { (a["time"].as_str().and_then(|s| super::parse_time_bound(s, false).ok()).map(|ms| local_time(ms, ctx.utc_offset_seconds)).unwrap_or_default()) }
                            td { (json_text(&a["rule"])) }
                            td { code { (json_text(&a["kind"])) } }
                            td {
                                @if let Some(o) = a["officer"].as_str().filter(|o| !o.is_empty()) {
                                    a href=(officer_link(lang, o)) { (o) }
                                }
                            }
                            td {
                                @if let Some(s) = a["subject"].as_str() {
                                    a href=(link(lang, &subject_path(s), &[])) { (s) }
                                }
                            }
                            td class="num" { (json_text(&a["count"])) }
                            td { (json_text(&a["window"])) }
                            td { (json_text(&a["action"]))
                                @if let Some(u) = a["suspended_until"].as_str() { " → " (u) } }
                            td class="mono" {
                                @if let Some(i) = a["first_inquiry"].as_str() { a href=(link(lang, &entry_path(i), &[])) { (i) } }
                            }
                            td class="mono" {
                                @if let Some(i) = a["last_inquiry"].as_str() { a href=(link(lang, &entry_path(i), &[])) { (i) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The head row of a table of entries: the time (in the console's zone),
/// then `columns` in order; a `(name, true)` column holds numbers.
pub(super) fn entry_head(utc_offset_seconds: i32, t: &Text, columns: &[(&str, bool)]) -> Markup {
    html! {
        thead { tr {
            th scope="col" { (t.time) " (" (zone(utc_offset_seconds)) ")" }
            @for &(name, numeric) in columns {
                @if numeric { th scope="col" class="num" { (name) } } @else { th scope="col" { (name) } }
            }
        } }
    }
}

/// A table of entries (search, officer page).
fn entry_table(ctx: &Context<'_>, lang: Lang, found: &[audit::Entry]) -> Markup {
    let t = lang.text();
    html! {
        table {
            (entry_head(ctx.utc_offset_seconds, t, &[
                (t.officer, false), (t.unit, false), (t.subject, false), (t.purpose, false),
                (t.case, false), (t.decision, false), (t.reason, false), (t.status, true),
                (t.inquiry, false),
            ]))
            tbody {
                @for e in found {
                    @let n = &e.entry;
                    tr {
                        td { (local_time(n.time_ms, ctx.utc_offset_seconds)) }
                        td { @if !n.officer_id.is_empty() { a href=(officer_link(lang, &n.officer_id)) { (n.officer_id) } } " " span class="muted" { (n.officer_name) } }
                        td { (n.unit) }
                        td class="mono" { @if let Some(s) = &n.subject_id { a href=(link(lang, &subject_path(s), &[])) { (s) } } }
                        td { (n.purpose.as_deref().unwrap_or("")) }
                        td { (n.case.as_deref().unwrap_or("")) }
                        td { span class=(decision_class(n.decision)) { (n.decision.as_str()) } }
                        td { code { (n.reason) } }
                        td class="num" { (n.status) }
                        td class="mono" { a href=(link(lang, &entry_path(&n.inquiry_id), &[])) { (n.inquiry_id) } }
                    }
                }
            }
        }
    }
}

/// The search page.
pub fn search(
    ctx: &Context<'_>,
    lang: Lang,
    p: &Params,
    found: &[audit::Entry],
    next: Option<&str>,
) -> Markup {
    let t = lang.text();
    let filters = p.filters();
    let v = |name: &str| p.get(name).unwrap_or("").to_owned();
    let decision = v("decision");
    let mut next_params = filters.clone();
    if let Some(c) = next {
        next_params.push(("page", c.to_owned()));
    }
    let mut csv_params = filters.clone();
    csv_params.push(("format", "csv".into()));
    csv_params.push(("limit", "10000".into()));
    let keep: Vec<(&str, String)> = p
        .filters()
        .into_iter()
        .chain(p.get("page").map(|c| ("page", c.to_owned())))
        .collect();
    layout(
        lang,
        t.search_title,
        "/console/entries",
        &keep,
        html! {
            h1 { (t.search_title) }
            section {
                form class="filters" method="get" action="/console/entries" {
                    @for (name, label) in [("officer", t.officer), ("unit", t.unit), ("subject", t.subject), ("purpose", t.purpose), ("case", t.case), ("reason", t.reason)] {
                        label for={ "f-" (name) } { (label)
                            input id={ "f-" (name) } type="text" name=(name) value=(v(name)) maxlength="512";
                        }
                    }
                    label for="f-decision" { (t.decision)
                        select id="f-decision" name="decision" {
                            option value="" selected[decision.is_empty()] { (t.any) }
                            @for d in ["allow", "deny", "error"] {
                                option value=(d) selected[decision == d] { (d) }
                            }
                        }
                    }
                    label for="f-from" { (t.from) " (" (t.date_hint) ")"
                        input id="f-from" type="text" name="from" value=(v("from")) placeholder="2026-12-01";
                    }
                    label for="f-to" { (t.to) " (" (t.date_hint) ")"
                        input id="f-to" type="text" name="to" value=(v("to")) placeholder="2026-12-31";
                    }
                    @if let Some(l) = lang.query_value() { input type="hidden" name="lang" value=(l); }
                    button type="submit" { (t.search_button) }
                }
            }
            section aria-labelledby="results" {
                h2 id="results" { (t.search_title) }
                @if found.is_empty() {
                    @if p.get("page").is_some() { p { (t.no_results_past_page) } } @else { p { (t.no_results) } }
                } @else { (entry_table(ctx, lang, found)) }
                div class="pager" {
                    @if p.get("page").is_some() { a href=(link(lang, "/console/entries", &filters)) { (t.first_page) } }
                    @if next.is_some() { a rel="next" href=(link(lang, "/console/entries", &next_params)) { (t.next_page) } }
                }
            }
            section aria-labelledby="export" class="no-print" {
                h2 id="export" { (t.export) }
                ul {
                    li { a href=(link(Lang::ZhCn, "/audit/export", &filters)) { (t.export_jsonl) } }
                    li { a href=(link(Lang::ZhCn, "/audit/entries", &csv_params)) { (t.export_csv) } " " span class="muted" { (t.export_csv_cap) } }
                }
            }
        },
    )
}

/// One entry with every field and its inclusion proof.
pub fn entry(ctx: &Context<'_>, lang: Lang, e: &audit::Entry, proof: &ProofView) -> Markup {
    let t = lang.text();
    let fields = match serde_json::to_value(&e.entry) {
        Ok(Value::Object(map)) => map.into_iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let path = entry_path(&e.entry.inquiry_id);
    layout(
        lang,
        t.entry_title,
        &path,
        &[],
        html! {
            h1 { (t.entry_title) " " span class="mono" { (e.entry.inquiry_id) } }
            section aria-labelledby="position" {
                h2 id="position" { (t.position) }
                table {
                    tbody {
                        tr { th scope="row" { (t.chain) } td class="mono" { (e.chain_id) } }
                        tr { th scope="row" { (t.position) } td { (e.seq) } }
                        tr { th scope="row" { (t.hash) } td class="mono" { (e.hash) } }
                        tr { th scope="row" { (t.prev_hash) } td class="mono" { (e.prev_hash) } }
                        tr { th scope="row" { (t.time) } td { (local_time(e.entry.time_ms, ctx.utc_offset_seconds)) " (" (zone(ctx.utc_offset_seconds)) ")" } }
                    }
                }
            }
            section aria-labelledby="proof" {
                h2 id="proof" { (t.proof_title) }
                p class="muted" { (t.proof_what) }
                @match proof {
                    ProofView::Pending => p class="notice" { (t.proof_pending) },
                    ProofView::Checked(Err(why)) => p class="error" { span class="bad" { (t.proof_failed) } ": " (why) },
                    ProofView::Checked(Ok(c)) => {
                        p { span class="ok" id="proof-verified" { (t.proof_verified) } }
                        table { tbody {
                            tr { th scope="row" { (t.tree_size) } td { (c.tree_size) } }
                            tr { th scope="row" { "origin" } td class="mono" { (c.origin) } }
                            tr { th scope="row" { (t.checkpoint_time) } td { (c.signed_ms.map(|ms| local_time(ms, ctx.utc_offset_seconds)).unwrap_or_default()) } }
                            tr { th scope="row" { (t.witnesses) } td {
                                @if c.witnesses.is_empty() { span class="muted" { (t.no_cosignature) } }
                                @else { (c.witnesses.join(", ")) }
                            } }
                        } }
                    }
                }
            }
            section aria-labelledby="fields" {
                h2 id="fields" { (t.field) }
                table {
                    thead { tr { th scope="col" { (t.field) } th scope="col" { (t.value) } } }
                    tbody {
                        @for (k, v) in &fields {
                            tr { th scope="row" { code { (k) } } td class="mono" { (json_text(v)) } }
                        }
                    }
                }
            }
        },
    )
}

/// An officer's page.
pub fn officer(
    ctx: &Context<'_>,
    lang: Lang,
    id: &str,
    found: &[audit::Entry],
    suspension: Option<(i64, String)>,
    alerts: &[Value],
    lifts: &[audit::Entry],
) -> Markup {
    let t = lang.text();
    let (path, keep) = officer_target(id);
    let (name, unit) = found
        .first()
        .map(|e| (e.entry.officer_name.as_str(), e.entry.unit.as_str()))
        .unwrap_or(("", ""));
    layout(
        lang,
        t.officer_title,
        &path,
        &keep,
        html! {
            h1 { (t.officer_title) " " (id) }
            section {
                p { (name) " · " (unit) }
                @match &suspension {
                    Some((until, rule)) => p class="error" { span class="bad" { (t.suspended_now) } " — " (t.rule) " " (rule) ", " (t.suspended_until) " " (local_time(*until, ctx.utc_offset_seconds)) " (" (zone(ctx.utc_offset_seconds)) ")" },
                    None => p { span class="ok" { (t.not_suspended) } },
                }
                p { a href=(link(lang, "/console/entries", &[("officer", id.to_owned())])) { (t.officer_all) } }
            }
            section aria-labelledby="officer-alerts" {
                h2 id="officer-alerts" { (t.alerts_about) }
                (alert_table(ctx, lang, alerts))
            }
            // Who lifted a suspension, when and why (`credgate audit lift`).
            section aria-labelledby="officer-lifts" {
                h2 id="officer-lifts" { (t.lifts_title) }
                @if lifts.is_empty() { p { (t.no_lifts) } } @else {
                    table {
                        thead { tr { th { (t.time) } th { (t.lifted_by) } th { (t.lift_reason) } th { (t.inquiry) } } }
                        tbody {
                            @for l in lifts {
                                tr {
                                    td { (local_time(l.entry.time_ms, ctx.utc_offset_seconds)) }
                                    td { (l.entry.unit) }
                                    td { (policy::alerts::parse_lift(&l.entry.rule).map_or("", |(_, why)| why)) }
                                    td { a href=(link(lang, &entry_path(&l.entry.inquiry_id), &[])) { code { (l.entry.inquiry_id) } } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="officer-recent" {
                h2 id="officer-recent" { (t.officer_recent) }
                @if found.is_empty() { p { (t.no_results) } } @else { (entry_table(ctx, lang, found)) }
            }
        },
    )
}

/// The subject's right-to-know report (printable).
pub fn subject(
    ctx: &Context<'_>,
    lang: Lang,
    id: &str,
    subject_type: &str,
    found: &[audit::Entry],
    truncated: bool,
) -> Markup {
    let t = lang.text();
    let path = subject_path(id);
    layout(
        lang,
        t.subject_title,
        &path,
        &[],
        html! {
            h1 { (t.subject_title) }
            section {
                table { tbody {
                    tr { th scope="row" { (t.subject) } td class="mono" { (id) } }
                    tr { th scope="row" { (t.subject_type) } td { (subject_type) } }
                    tr { th scope="row" { (t.generated_at) } td { (local_time(ctx.now_ms, ctx.utc_offset_seconds)) " (" (zone(ctx.utc_offset_seconds)) ")" } }
                } }
                p { (t.subject_intro) }
                p class="muted no-print" { (t.print_hint) }
                @if truncated { p class="notice" { (t.truncated) } }
            }
            section {
                @if found.is_empty() { p { (t.no_results) } } @else {
                    table {
                        (entry_head(ctx.utc_offset_seconds, t, &[
                            (t.unit, false), (t.officer, false), (t.purpose, false),
                            (t.decision, false), (t.inquiry, false),
                        ]))
                        tbody {
                            @for e in found {
                                @let n = &e.entry;
                                tr {
                                    td { (local_time(n.time_ms, ctx.utc_offset_seconds)) }
                                    td { (n.unit) }
                                    td { (n.officer_name) " (" (n.officer_id) ")" }
                                    td { (n.purpose.as_deref().unwrap_or("")) }
                                    td { (n.decision.as_str()) }
                                    td class="mono" { a href=(link(lang, &entry_path(&n.inquiry_id), &[])) { (n.inquiry_id) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The alerts page.
pub fn alerts(ctx: &Context<'_>, lang: Lang, p: &Params, list: &[Value]) -> Markup {
    let t = lang.text();
    let v = |name: &str| p.get(name).unwrap_or("").to_owned();
    layout(
        lang,
        t.alerts_title,
        "/console/alerts",
        &p.filters(),
        html! {
            h1 { (t.alerts_title) }
            section {
                form class="filters" method="get" action="/console/alerts" {
                    label for="a-rule" { (t.rule) input id="a-rule" type="text" name="rule" value=(v("rule")); }
                    label for="a-from" { (t.from) " (" (t.date_hint) ")" input id="a-from" type="text" name="from" value=(v("from")); }
                    label for="a-to" { (t.to) " (" (t.date_hint) ")" input id="a-to" type="text" name="to" value=(v("to")); }
                    @if let Some(l) = lang.query_value() { input type="hidden" name="lang" value=(l); }
                    button type="submit" { (t.filter_button) }
                }
            }
            section aria-labelledby="suspended" {
                h2 id="suspended" { (t.suspended_officers) }
                (suspensions(ctx, lang))
            }
            section aria-labelledby="firings" {
                h2 id="firings" { (t.alerts_title) }
                (alert_table(ctx, lang, list))
            }
        },
    )
}

/// The result of a full verification just run.
pub fn verify(ctx: &Context<'_>, lang: Lang, v: &Verified) -> Markup {
    let t = lang.text();
    layout(
        lang,
        t.verify_title,
        "/console/verify",
        &[],
        html! {
            h1 { (t.verify_title) }
            section {
                p class="muted" { (t.verify_what) }
                (verified_block(ctx, t, v))
                p { a href=(link(lang, "/console/", &[])) { (t.nav_overview) } }
            }
        },
    )
}
