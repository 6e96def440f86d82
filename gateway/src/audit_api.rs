//! The admin-plane audit API: what a compliance officer reads over HTTP.
//!
//! This module owns turning a `GET /audit/...` path and query string into a
//! call on [`audit::Reader`] and the JSON answer:
//!
//! | path | answer |
//! |---|---|
//! | `/audit/entries?officer=&subject=&from=&to=&decision=&unit=&purpose=&case=&reason=&limit=&format=` | `{"entries": [...], "truncated": bool}` in time order, at most `limit` (default 1000, max 10000); `truncated` means more match — page on with `from`; `format=csv`: the same entries as CSV ([`csv_entries`], formula-safe) |
//! | `/audit/alerts?from=&to=&rule=` | `{"alerts": [...]}`: the misuse alert firings (plane `alert`, reason `alert`) in time order, each parsed back into `rule`, `kind`, `officer`, `subject`, `count`, `window`, `first_inquiry`, `last_inquiry`, `action`, `suspended_until` ([`alert_json`]) |
//! | `/audit/verify` | the verify report as JSON (`"result": "intact"` or `"tampered"`) |
//! | `/audit/export?officer=&subject=&from=&to=&decision=&unit=&purpose=&case=&reason=` | JSON Lines (`application/x-ndjson`), verifiable offline, streamed ([`export_stream`]) |
//! | `/audit/checkpoints/latest?chain=ID` | the chain's latest checkpoint: a C2SP signed note (`text/plain`) with any witness cosignature lines |
//! | `/audit/proof?inquiry=ID` | the inquiry's inclusion proof bundle (JSON, see `audit::reader::ProofBundle`); 409 `proof_pending` with `Retry-After` while no checkpoint covers it yet |
//! | `/audit/proof/consistency?chain=ID&from=N&to=M` | `{"chain_id", "from", "to", "proof": [base64...]}`, an RFC 9162 consistency proof |
//! | `/audit/subjects/{id}?from=&to=&limit=` | the right-to-know report about one subject (Hunan Art. 31), oldest first, at most `limit` inquiries (default 1000, max 10000); `"truncated": true` means more exist — page on with `from` |
//!
//! Errors are `{"error": {"code", "message"}}`: 400 `invalid_request`,
//! 404 `not_found`, 503 `audit_unavailable`.
//!
//! ## Streamed exports (issue 15)
//!
//! `/audit/export` is not built in memory: [`export_stream`] starts a task
//! that reads the store a page at a time ([`EXPORT_PAGE`] entries, keyset
//! by chain and seq) and hands the export on in chunks of whole lines
//! ([`EXPORT_CHUNK`] bytes) through a channel of [`EXPORT_QUEUE`] chunks;
//! the response body ([`ExportStream`]) takes them from there. Memory per
//! export is a page, a few chunks and one chain's checkpoint notes,
//! whatever the size of the log, and the bytes are those
//! `audit::Reader::export` writes. A client that stops reading for
//! [`EXPORT_STALL`] or goes away ends the task. The admin plane runs at
//! most `[admin] max_concurrent_exports` exports and verifications at once
//! (the rest get 429 `rate_limited`); the permit it hands in is held by the
//! task until the export ends. The other answers are bounded by their
//! `limit` (at most [`MAX_LIMIT`] entries) or are single items. It does not authenticate or
//! authorise (the admin plane calls `policy::decide_admin` first), does not
//! check the method, and does not write the admin request's own log entry:
//! the caller does that, using [`AuditApiResponse::subject_id`].
//!
//! The time and query-string parsing here is shared with `credgate audit`.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// Default number of entries `/audit/entries` returns.
pub const DEFAULT_LIMIT: u64 = 1000;
/// Largest `limit` `/audit/entries` accepts.
pub const MAX_LIMIT: u64 = 10_000;

/// One answer of the audit API, ready for the admin plane to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditApiResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of `body`.
    pub content_type: &'static str,
    /// The response body.
    pub body: Vec<u8>,
    /// The validated subject the request was about (for the admin request's
    /// own log entry: reading the log about someone is itself logged).
    pub subject_id: Option<String>,
    /// `Retry-After` seconds (409 `proof_pending`).
    pub retry_after: Option<u64>,
}

/// Why a query parameter or time bound was refused (400 `invalid_request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Neither RFC 3339 nor `YYYY-MM-DD`.
    #[error("invalid time {0} (expected RFC 3339 such as 2026-11-27T08:00:00Z, or YYYY-MM-DD)")]
    Time(String),
    /// `from` lies after `to`.
    #[error("`from` lies after `to`")]
    InvertedRange,
    /// Not `allow`, `deny` or `error`.
    #[error("invalid decision {0} (expected allow, deny or error)")]
    Decision(String),
    /// Not a number in `1..=10000`.
    #[error("invalid limit {0} (expected a number from 1 to {MAX_LIMIT})")]
    Limit(String),
    /// Not a valid GB 11643 / GB 32100 identifier. The id is not repeated
    /// (a resident id with a wrong check digit is still someone's): the
    /// message is answered and kept in the inquiry log.
    #[error("invalid subject id: {why}")]
    Subject {
        /// Why `policy::subject::classify` refused it.
        why: String,
    },
    /// An empty officer id.
    #[error("empty officer id")]
    EmptyOfficer,
    /// Not `json` or `csv`.
    #[error("invalid format {0} (expected json or csv)")]
    Format(String),
    /// A parameter this endpoint does not take.
    #[error("unknown query parameter {0}")]
    UnknownParameter(String),
    /// The same parameter twice.
    #[error("query parameter {0} given more than once")]
    DuplicateParameter(String),
    /// A bad `%XX` escape or non-UTF-8 text.
    #[error("query parameter {0} is not valid percent-encoded UTF-8")]
    Encoding(String),
}

/// A value a client sent, as an error message shows it: in backticks when
/// it is short plain text (letters, digits, `-_.:+`), otherwise only its
/// length — control characters, markup or a 7 000-byte value are not
/// repeated into the answer or the inquiry log (an outside probe had
/// them echoed whole).
fn shown(text: &str) -> String {
    let plain = !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b));
    if plain {
        format!("`{text}`")
    } else {
        format!("(not repeated: {} characters)", text.chars().count())
    }
}

/// Parse a time bound: RFC 3339, or `YYYY-MM-DD` meaning that day's 00:00
/// UTC — or, when `end_of_day`, the last millisecond of that day (so
/// `--to 2026-11-27` includes all of the 27th). Returns UTC unix milliseconds.
pub fn parse_time_bound(text: &str, end_of_day: bool) -> Result<i64, QueryError> {
    let text = text.trim();
    let bad = || QueryError::Time(shown(text));
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        let start = date.midnight().assume_utc();
        let at = if end_of_day {
            start + Duration::days(1) - Duration::milliseconds(1)
        } else {
            start
        };
        return unix_ms(at).ok_or_else(bad);
    }
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&plus_offset(text)?, &Rfc3339).ok())
        .ok_or_else(bad)?;
    unix_ms(at).ok_or_else(bad)
}

/// `2026-12-05T00:00:00 08:00` → `2026-12-05T00:00:00+08:00`: an offset's
/// `+` left unencoded in a query string arrives as a space (form
/// decoding), as from `curl '…?from=2026-12-05T00:00:00+08:00'`.
fn plus_offset(text: &str) -> Option<String> {
    let cut = text.len().checked_sub(6)?;
    let (head, offset) = (text.get(..cut)?, text.get(cut..)?);
    let hh_mm = offset.strip_prefix(' ')?;
    let b = hh_mm.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    (b.len() == 5 && digits(0..2) && b.get(2) == Some(&b':') && digits(3..5))
        .then(|| format!("{head}+{hh_mm}"))
}

/// UTC unix milliseconds of an instant, if it fits an `i64`.
fn unix_ms(at: OffsetDateTime) -> Option<i64> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Format UTC unix milliseconds as RFC 3339 (`2026-11-27T08:00:00.123Z`);
/// an out-of-range value is shown as the raw number.
pub fn format_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Parse `allow` / `deny` / `error`.
pub fn parse_decision(text: &str) -> Result<audit::Decision, QueryError> {
    text.parse::<audit::Decision>()
        .map_err(|_| QueryError::Decision(shown(text)))
}

/// Validate a subject id with `policy::subject::classify`.
pub fn parse_subject(text: &str) -> Result<String, QueryError> {
    match policy::subject::canonical(text) {
        Ok((id, _)) => Ok(id),
        Err(e) => Err(QueryError::Subject { why: e.to_string() }),
    }
}

/// Build a [`audit::Filter`] from optional textual parts, as the CLI and the
/// HTTP API both take them. `from` is the start of a bare date, `to` its end.
pub fn build_filter(
    officer: Option<&str>,
    subject: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    decision: Option<&str>,
) -> Result<audit::Filter, QueryError> {
    let officer = match officer {
        Some(o) if o.trim().is_empty() => return Err(QueryError::EmptyOfficer),
        Some(o) => Some(o.to_string()),
        None => None,
    };
    let subject = subject.map(parse_subject).transpose()?;
    let from_ms = from.map(|t| parse_time_bound(t, false)).transpose()?;
    let to_ms = to.map(|t| parse_time_bound(t, true)).transpose()?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if f > t {
            return Err(QueryError::InvertedRange);
        }
    }
    let decision = decision.map(parse_decision).transpose()?;
    Ok(audit::Filter {
        officer,
        subject,
        from_ms,
        to_ms,
        decision,
        ..audit::Filter::default()
    })
}

/// Decode one `application/x-www-form-urlencoded` component (see
/// [`crate::percent::decode`]): `None` on a bad escape or non-UTF-8 text.
pub fn percent_decode(text: &str) -> Option<String> {
    crate::percent::decode(text)
}

/// Split a query string into decoded `(name, value)` pairs, refusing names
/// not in `allowed` and duplicates. Empty pieces (`a=1&&b=2`) are skipped.
pub(crate) fn query_pairs(
    query: Option<&str>,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, QueryError> {
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_decode(raw_name).ok_or_else(|| QueryError::Encoding(shown(raw_name)))?;
        let Some(known) = allowed.iter().copied().find(|a| *a == name) else {
            return Err(QueryError::UnknownParameter(shown(&name)));
        };
        if pairs.iter().any(|(n, _)| *n == known) {
            return Err(QueryError::DuplicateParameter(shown(&name)));
        }
        let value = percent_decode(raw_value).ok_or(QueryError::Encoding(shown(&name)))?;
        pairs.push((known, value));
    }
    Ok(pairs)
}

/// The filter parameters `/audit/entries` and `/audit/export` take.
const FILTER_PARAMS: [&str; 9] = [
    "officer", "subject", "from", "to", "decision", "unit", "purpose", "case", "reason",
];
/// `/audit/entries`' parameters: the filter, `limit` and `format`.
const ENTRIES_PARAMS: [&str; 11] = [
    "officer", "subject", "from", "to", "decision", "unit", "purpose", "case", "reason", "limit",
    "format",
];

/// Parse the filter parameters of `/audit/entries` (with `limit`) or
/// `/audit/export` (without). Empty values count as absent.
pub fn parse_filter_query(
    query: Option<&str>,
    with_limit: bool,
) -> Result<audit::Filter, QueryError> {
    let allowed: &[&'static str] = if with_limit {
        &ENTRIES_PARAMS[..10]
    } else {
        &FILTER_PARAMS
    };
    let pairs = query_pairs(query, allowed)?;
    filter_from_pairs(&pairs, with_limit)
}

/// [`parse_filter_query`] on pairs already split.
fn filter_from_pairs(
    pairs: &[(&'static str, String)],
    with_limit: bool,
) -> Result<audit::Filter, QueryError> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let mut filter = build_filter(
        get("officer"),
        get("subject"),
        get("from"),
        get("to"),
        get("decision"),
    )?;
    filter.unit = get("unit").map(str::to_owned);
    filter.purpose = get("purpose").map(str::to_owned);
    filter.case = get("case").map(str::to_owned);
    filter.reason = get("reason").map(str::to_owned);
    if with_limit {
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(QueryError::Limit(shown(text))),
            },
        };
        filter.limit = Some(limit);
    }
    Ok(filter)
}

/// The `from`, `to` and `limit` of `/audit/subjects/{id}` (limit default
/// [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
fn subject_query(query: Option<&str>) -> Result<audit::Filter, QueryError> {
    let pairs = query_pairs(query, &["from", "to", "limit"])?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let mut filter = build_filter(None, None, get("from"), get("to"), None)?;
    filter.limit = Some(match get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(QueryError::Limit(shown(text))),
        },
    });
    Ok(filter)
}

/// One log entry as JSON: every stored field plus a readable `time`.
///
/// The entry's fields are under `entry` (as stored and hashed) and also at
/// the top level beside `chain_id`, `seq`, `prev_hash`, `hash` and `time`,
/// so a reader finds `reason` or `officer_id` where the SPEC's list of
/// entry fields suggests. A refusal summary (`reason =
/// "refusals_summarised"`) also gets `count`, `first_inquiry` and
/// `last_inquiry` read back from its rule.
pub fn entry_json(entry: &audit::Entry) -> Value {
    let mut value = serde_json::to_value(entry).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("time".into(), Value::String(format_ms(entry.entry.time_ms)));
        if let Some(Value::Object(fields)) = map.get("entry").cloned() {
            for (k, v) in fields {
                map.entry(k).or_insert(v);
            }
        }
        if entry.entry.reason == crate::server::refusals::SUMMARY_REASON {
            if let Some((count, first, last)) = refusal_summary(&entry.entry.rule) {
                map.insert("count".into(), count.into());
                map.insert("first_inquiry".into(), first.into());
                map.insert("last_inquiry".into(), last.into());
            }
        }
    }
    value
}

/// A refusal summary's rule (`refusal budget exceeded: N refused requests
/// answered 429, inquiry ids FIRST..LAST`) read back.
pub(crate) fn refusal_summary(rule: &str) -> Option<(u64, &str, &str)> {
    let rest = rule.strip_prefix("refusal budget exceeded: ")?;
    let (count, rest) = rest.split_once(' ')?;
    let (_, ids) = rest.rsplit_once("inquiry ids ")?;
    let (first, last) = ids.split_once("..")?;
    Some((count.parse().ok()?, first, last))
}

/// The misuse alert firings matching `from`, `to` (as [`build_filter`]) and
/// `rule` (a rule name, exact), oldest first.
pub async fn query_alerts(
    reader: &audit::Reader,
    from: Option<&str>,
    to: Option<&str>,
    rule: Option<&str>,
) -> Result<Result<Vec<Value>, audit::AuditError>, QueryError> {
    let mut filter = build_filter(None, None, from, to, None)?;
    filter.plane = Some("alert".into());
    Ok(reader.query(&filter).await.map(|found| {
        found
            .iter()
            .filter_map(alert_json)
            .filter(|a| rule.is_none_or(|r| a["rule"] == r))
            .collect()
    }))
}

/// The reason of the alert entry a witness conflict is logged as (the
/// gateway's witness feed writes it; the alert listings read it).
pub const WITNESS_CONFLICT: &str = "witness_conflict";

/// One misuse alert entry as JSON, its `rule` text parsed back; a witness
/// conflict (SPEC: "a conflict is also an alert entry") as an alert of
/// kind `witness_conflict` whose `message` says what the witness refused;
/// `None` for other alert-plane entries (lifts).
pub fn alert_json(e: &audit::Entry) -> Option<Value> {
    if e.entry.plane == "alert" && e.entry.reason == WITNESS_CONFLICT {
        return Some(json!({
            "time": format_ms(e.entry.time_ms),
            "inquiry_id": e.entry.inquiry_id,
            "rule": WITNESS_CONFLICT,
            "kind": WITNESS_CONFLICT,
            "officer": e.entry.officer_id,
            "unit": e.entry.unit,
            "subject": Value::Null,
            "count": 1,
            "window": Value::Null,
            "first_inquiry": e.entry.inquiry_id,
            "last_inquiry": e.entry.inquiry_id,
            "action": "alert",
            "suspended_until": Value::Null,
            "message": e.entry.rule,
            "chain_id": e.chain_id,
            "seq": e.seq,
        }));
    }
    if e.entry.reason != "alert" {
        return None;
    }
    let r = policy::alerts::AlertRecord::parse(&e.entry.rule)?;
    Some(json!({
        "time": format_ms(e.entry.time_ms),
        "inquiry_id": e.entry.inquiry_id,
        "rule": r.rule,
        "kind": r.kind.as_str(),
        "officer": e.entry.officer_id,
        "unit": e.entry.unit,
        "subject": e.entry.subject_id,
        "count": r.count,
        "window": r.window,
        "first_inquiry": r.first_inquiry,
        "last_inquiry": r.last_inquiry,
        "action": if r.suspend_until_ms.is_some() { "suspend" } else { "alert" },
        "suspended_until": r.suspend_until_ms.map(format_ms),
        "chain_id": e.chain_id,
        "seq": e.seq,
    }))
}

/// `GET /audit/alerts?from=&to=&rule=`
async fn alerts(reader: &audit::Reader, query: Option<&str>) -> AuditApiResponse {
    let pairs = match query_pairs(query, &["from", "to", "rule"]) {
        Ok(p) => p,
        Err(e) => return invalid(&e),
    };
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    match query_alerts(reader, get("from"), get("to"), get("rule")).await {
        Err(e) => invalid(&e),
        Ok(Err(e)) => unavailable(&e),
        Ok(Ok(list)) => ok_json(&json!({ "alerts": list })),
    }
}

/// Serve one `GET /audit/...` request but `/audit/export` (see
/// [`export_stream`]; here it is 404). `public_key` is the raw 32-byte
/// Ed25519 key checkpoints are verified with.
pub async fn handle(
    reader: &audit::Reader,
    public_key: &[u8],
    path: &str,
    query: Option<&str>,
) -> AuditApiResponse {
    match path {
        "/audit/entries" => entries(reader, query).await,
        "/audit/alerts" => alerts(reader, query).await,
        "/audit/verify" => verify(reader, public_key).await,
        "/audit/checkpoints/latest" => latest_checkpoint(reader, query).await,
        "/audit/proof" => proof(reader, query).await,
        "/audit/proof/consistency" => consistency(reader, query).await,
        other => match other.strip_prefix("/audit/subjects/") {
            Some(id) => subject(reader, id, query).await,
            None => error(404, "not_found", "no such audit resource"),
        },
    }
}

/// The one required parameter `name` of a query that takes only `allowed`.
fn required(pairs: &[(&'static str, String)], name: &str) -> Result<String, AuditApiResponse> {
    match pairs.iter().find(|(n, v)| *n == name && !v.is_empty()) {
        Some((_, v)) => Ok(v.clone()),
        None => Err(error(
            400,
            "invalid_request",
            &format!("missing query parameter `{name}`"),
        )),
    }
}

/// A chain id as the store writes them: 32 lowercase hex characters.
fn chain_param(pairs: &[(&'static str, String)]) -> Result<String, AuditApiResponse> {
    let chain = required(pairs, "chain")?;
    if chain.len() != 32
        || !chain
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(error(
            400,
            "invalid_request",
            "query parameter `chain` must be a chain id (32 lowercase hex characters)",
        ));
    }
    Ok(chain)
}

/// `GET /audit/checkpoints/latest?chain=ID`
async fn latest_checkpoint(reader: &audit::Reader, query: Option<&str>) -> AuditApiResponse {
    let chain = match query_pairs(query, &["chain"])
        .map_err(|e| invalid(&e))
        .and_then(|p| chain_param(&p))
    {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    match reader.latest_checkpoint(&chain).await {
        Ok(Some((_, note))) => AuditApiResponse {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: note.into_bytes(),
            subject_id: None,
            retry_after: None,
        },
        Ok(None) => error(404, "not_found", "no such chain"),
        Err(e) => unavailable(&e),
    }
}

/// `GET /audit/proof?inquiry=ID`
async fn proof(reader: &audit::Reader, query: Option<&str>) -> AuditApiResponse {
    let inquiry = match query_pairs(query, &["inquiry"])
        .map_err(|e| invalid(&e))
        .and_then(|p| required(&p, "inquiry"))
    {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    match reader.inclusion_proof(&inquiry).await {
        Ok(bundle) => {
            let mut resp = ok_json(&serde_json::to_value(&bundle).unwrap_or(Value::Null));
            resp.subject_id = bundle.entry.entry.subject_id.clone();
            resp
        }
        Err(audit::AuditError::ProofPending) => {
            let mut resp = error(
                409,
                "proof_pending",
                "no signed checkpoint covers this inquiry yet: retry shortly",
            );
            resp.retry_after = Some(1);
            resp
        }
        Err(e) if e.is_not_found() => error(404, "not_found", &e.to_string()),
        Err(e) => unavailable(&e),
    }
}

/// `GET /audit/proof/consistency?chain=ID&from=N&to=M`
async fn consistency(reader: &audit::Reader, query: Option<&str>) -> AuditApiResponse {
    let parsed = query_pairs(query, &["chain", "from", "to"])
        .map_err(|e| invalid(&e))
        .and_then(|p| {
            let chain = chain_param(&p)?;
            let num = |name: &str| -> Result<u64, AuditApiResponse> {
                required(&p, name)?.parse::<u64>().map_err(|_| {
                    error(
                        400,
                        "invalid_request",
                        &format!("`{name}` must be a tree size"),
                    )
                })
            };
            let (from, to) = (num("from")?, num("to")?);
            if from > to {
                return Err(invalid(&QueryError::InvertedRange));
            }
            Ok((chain, from, to))
        });
    let (chain, from, to) = match parsed {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    match reader.consistency_proof(&chain, from, to).await {
        Ok(proof) => {
            use base64::Engine as _;
            let hashes: Vec<String> = proof
                .iter()
                .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
                .collect();
            ok_json(&json!({ "chain_id": chain, "from": from, "to": to, "proof": hashes }))
        }
        Err(e) if e.is_not_found() => error(404, "not_found", &e.to_string()),
        Err(e) => unavailable(&e),
    }
}

/// `GET /audit/entries` (`format=csv`: the same entries as CSV, see
/// [`csv_entries`]).
async fn entries(reader: &audit::Reader, query: Option<&str>) -> AuditApiResponse {
    let parsed = query_pairs(query, &ENTRIES_PARAMS).and_then(|pairs| {
        let csv = match pairs
            .iter()
            .find(|(n, _)| *n == "format")
            .map(|(_, v)| v.as_str())
        {
            None | Some("" | "json") => false,
            Some("csv") => true,
            Some(other) => return Err(QueryError::Format(shown(other))),
        };
        Ok((filter_from_pairs(&pairs, true)?, csv))
    });
    let (filter, csv) = match parsed {
        Ok(f) => f,
        Err(e) => return invalid(&e),
    };
    match reader.query(&filter).await {
        Ok(found) if csv => AuditApiResponse {
            status: 200,
            content_type: "text/csv; charset=utf-8",
            body: csv_entries(&found),
            subject_id: filter.subject,
            retry_after: None,
        },
        Ok(found) => {
            let truncated = filter
                .limit
                .is_some_and(|l| u64::try_from(found.len()).is_ok_and(|n| n >= l));
            let list: Vec<Value> = found.iter().map(entry_json).collect();
            let mut resp = ok_json(&json!({ "entries": list, "truncated": truncated }));
            resp.subject_id = filter.subject;
            resp
        }
        Err(e) => unavailable(&e),
    }
}

/// The columns of `/audit/entries?format=csv`.
pub const CSV_COLUMNS: [&str; 20] = [
    "time",
    "inquiry_id",
    "chain_id",
    "seq",
    "plane",
    "officer_id",
    "officer_name",
    "unit",
    "purpose",
    "case",
    "method",
    "path",
    "subject_id",
    "subject_type",
    "decision",
    "reason",
    "status",
    "records_returned",
    "rule",
    "hash",
];

/// Entries as CSV (RFC 4180, CRLF line ends, a header line): every field
/// quoted, `"` doubled, and a field a spreadsheet would take for a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) prefixed with `'`.
pub fn csv_entries(found: &[audit::Entry]) -> Vec<u8> {
    let mut out = String::new();
    let line = |out: &mut String, fields: &[&str]| {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(out, f);
        }
        out.push_str("\r\n");
    };
    line(&mut out, &CSV_COLUMNS);
    for e in found {
        let n = &e.entry;
        let (time, seq, status, returned) = (
            format_ms(n.time_ms),
            e.seq.to_string(),
            n.status.to_string(),
            n.records_returned.to_string(),
        );
        line(
            &mut out,
            &[
                &time,
                &n.inquiry_id,
                &e.chain_id,
                &seq,
                &n.plane,
                &n.officer_id,
                &n.officer_name,
                &n.unit,
                n.purpose.as_deref().unwrap_or(""),
                n.case.as_deref().unwrap_or(""),
                &n.method,
                &n.path,
                n.subject_id.as_deref().unwrap_or(""),
                n.subject_type.as_deref().unwrap_or(""),
                n.decision.as_str(),
                &n.reason,
                &status,
                &returned,
                &n.rule,
                &e.hash,
            ],
        );
    }
    out.into_bytes()
}

/// One CSV field, quoted, formula-neutralised (see [`csv_entries`]).
fn csv_field(out: &mut String, text: &str) {
    out.push('"');
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// `GET /audit/verify`
async fn verify(reader: &audit::Reader, public_key: &[u8]) -> AuditApiResponse {
    match reader.verify(public_key).await {
        Ok(report) => ok_json(&verify_json(&report)),
        Err(e) => unavailable(&e),
    }
}

/// A verify report as JSON (its `Serialize` form: `result` first).
pub fn verify_json(report: &audit::VerifyReport) -> Value {
    // INVARIANT: a report holds only integers and strings, which always
    // serialise; `Null` is never the answer.
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// Entries read from the store per page of a streamed export.
pub const EXPORT_PAGE: i64 = 1024;
/// Bytes of whole lines per chunk of a streamed export.
pub const EXPORT_CHUNK: usize = 64 * 1024;
/// Chunks queued between the store reader and the response body.
pub const EXPORT_QUEUE: usize = 4;
/// A client that takes no chunk for this long ends its export.
pub const EXPORT_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a streamed export ended before its last line: the response body
/// ends with this error (the client sees a cut transfer, and a cut file
/// fails `audit verify --export`).
#[derive(Debug, thiserror::Error)]
#[error("the export could not be completed: the inquiry log could not be read")]
pub struct ExportCut;

/// The body of a streamed export: the chunks the export task sends, in
/// order; ends with [`ExportCut`] if the task failed.
#[derive(Debug)]
pub struct ExportStream {
    first: Option<bytes::Bytes>,
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, ExportCut>>,
}

impl hyper::body::Body for ExportStream {
    type Data = bytes::Bytes;
    type Error = ExportCut;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, ExportCut>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(first))));
        }
        this.rx
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(hyper::body::Frame::data)))
    }
}

impl ExportStream {
    /// The whole export, read into memory (tests and small exports only).
    pub async fn collect(mut self) -> Result<Vec<u8>, ExportCut> {
        let mut out = self.first.take().map(|b| b.to_vec()).unwrap_or_default();
        while let Some(chunk) = self.rx.recv().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// A started export: its body and the subject it is about (for the admin
/// request's own log entry).
#[derive(Debug)]
pub struct StartedExport {
    /// The response body (`application/x-ndjson`).
    pub body: ExportStream,
    /// The validated `subject` of the filter, if any.
    pub subject_id: Option<String>,
}

/// `GET /audit/export`: parses the filter, starts the export task (which
/// keeps `permit` until it ends) and waits for its first chunk, so that a
/// store that cannot be read at all is still a 503 `audit_unavailable`
/// rather than a cut 200. A bad filter is 400 `invalid_request`.
pub async fn export_stream<P: Send + 'static>(
    reader: audit::Reader,
    query: Option<&str>,
    permit: P,
) -> Result<StartedExport, AuditApiResponse> {
    let filter = parse_filter_query(query, false).map_err(|e| invalid(&e))?;
    let subject_id = filter.subject.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
    tokio::spawn(async move {
        let _permit = permit;
        let sender = tx.clone();
        let result = reader
            .export_chunks(&filter, EXPORT_PAGE, EXPORT_CHUNK, |chunk| {
                let tx = sender.clone();
                async move {
                    tx.send_timeout(Ok(bytes::Bytes::from(chunk)), EXPORT_STALL)
                        .await
                        .map_err(|_| {
                            audit::AuditError::Io(std::io::Error::new(
                                std::io::ErrorKind::BrokenPipe,
                                "the client went away or stopped reading",
                            ))
                        })
                }
            })
            .await;
        match result {
            Ok(entries) => tracing::debug!(entries, "audit export streamed"),
            Err(audit::AuditError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                tracing::info!("audit export ended early: the client went away or stopped reading");
            }
            Err(e) => {
                tracing::warn!(error = %e, "audit export: reading the inquiry log failed");
                // The receiver may be gone already; nothing else to tell.
                let _ = tx.send_timeout(Err(ExportCut), EXPORT_STALL).await;
            }
        }
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => Some(chunk),
        Some(Err(ExportCut)) | None => {
            return Err(error(
                503,
                "audit_unavailable",
                "the inquiry log could not be read",
            ))
        }
    };
    Ok(StartedExport {
        body: ExportStream { first, rx },
        subject_id,
    })
}

/// `GET /audit/subjects/{id}`
async fn subject(reader: &audit::Reader, id: &str, query: Option<&str>) -> AuditApiResponse {
    let (id, subject_type) = match policy::subject::canonical(id) {
        Ok(c) => c,
        Err(e) => return invalid(&QueryError::Subject { why: e.to_string() }),
    };
    let mut filter = match subject_query(query) {
        Ok(f) => f,
        Err(e) => return invalid(&e),
    };
    filter.subject = Some(id.to_string());
    // Inquiries about the subject: the data plane's entries, as the
    // console's subject page and `audit subject-report` list them (not a
    // compliance officer's read of the log, nor an alert naming it).
    filter.plane = Some("data".into());
    match reader.query(&filter).await {
        Ok(found) => {
            let truncated = filter
                .limit
                .is_some_and(|l| u64::try_from(found.len()).is_ok_and(|n| n >= l));
            let inquiries: Vec<Value> = found.iter().map(report_row_json).collect();
            let mut resp = ok_json(&json!({
                "subject": id,
                "subject_type": subject_type.as_str(),
                "inquiries": inquiries,
                "truncated": truncated,
            }));
            resp.subject_id = Some(id.to_string());
            resp
        }
        Err(e) => unavailable(&e),
    }
}

/// One line of the right-to-know report: who looked, when, why, and the outcome.
fn report_row_json(entry: &audit::Entry) -> Value {
    let e = &entry.entry;
    json!({
        "time": format_ms(e.time_ms),
        "inquiry_id": e.inquiry_id,
        "unit": e.unit,
        "officer_id": e.officer_id,
        "officer_name": e.officer_name,
        "purpose": e.purpose,
        "case": e.case,
        "decision": e.decision.as_str(),
        "reason": e.reason,
        "status": e.status,
    })
}

/// 200 with a JSON body.
fn ok_json(value: &Value) -> AuditApiResponse {
    AuditApiResponse {
        status: 200,
        content_type: "application/json",
        body: value.to_string().into_bytes(),
        subject_id: None,
        retry_after: None,
    }
}

/// 400 `invalid_request` with the parse error as message.
fn invalid(e: &QueryError) -> AuditApiResponse {
    error(400, "invalid_request", &e.to_string())
}

/// 503 `audit_unavailable`; the store's error goes to the process log only.
fn unavailable(e: &audit::AuditError) -> AuditApiResponse {
    tracing::warn!(error = %e, "audit api: reading the inquiry log failed");
    error(
        503,
        "audit_unavailable",
        "the inquiry log could not be read",
    )
}

/// A JSON error answer.
fn error(status: u16, code: &str, message: &str) -> AuditApiResponse {
    AuditApiResponse {
        status,
        content_type: "application/json",
        body: json!({ "error": { "code": code, "message": message } })
            .to_string()
            .into_bytes(),
        subject_id: None,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests;
