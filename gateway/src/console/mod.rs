//! The compliance console (issue 16): server-rendered HTML pages on the
//! admin plane under `/console/`, for compliance identities only.
//!
//! This module owns turning a `GET /console/...` path and query string into
//! reads of the inquiry log ([`audit::Reader`]) and an HTML answer
//! ([`Page`]); the admin plane ([`crate::server::admin`]) authenticates,
//! authorises (`policy::decide_admin`; anyone else gets [`forbidden`]),
//! commits the view's own log entry before the answer is released, and
//! adds the headers ([`CSP`]).
//!
//! | path | page |
//! |---|---|
//! | `/console/` | overview: per chain its entries, latest checkpoint, signature and age, witness cosignatures; the last full verification (what, when, by whom); inquiries per day and unit over 30 days (SVG); refusals by reason; open alerts |
//! | `/console/entries?officer=&unit=&subject=&purpose=&case=&decision=&reason=&from=&to=&page=` | search, newest first, [`PAGE_SIZE`] a page, keyset paging (`page` is the [`audit::Cursor`] of the last entry shown); export links |
//! | `/console/entries/{inquiry_id}` | one entry, every field, its chain position and hash, its inclusion proof checked against the latest checkpoint |
//! | `/console/officers/{id}` | an officer's latest entries, suspension, alerts |
//! | `/console/subjects/{id}` | the subject's right-to-know report, printable |
//! | `/console/alerts?from=&to=&rule=` | misuse alert firings and active suspensions |
//! | `/console/verify` | runs a full verification of the store now |
//! | `/console/static/console.css` | the stylesheet (also served before the role check) |
//!
//! Every page takes `lang` (`zh-CN`, the default, or `en`, see [`i18n`]).
//! A bad parameter is a 400 page naming the parameter, never its value; an
//! unknown entry a 404 page; a store that cannot be read a 503 page.
//!
//! HTML comes only from maud templates ([`pages`]), which escape every
//! value; no page holds a script, an inline style or a resource from
//! elsewhere, so `Content-Security-Policy: default-src 'self'` holds.
//!
//! ## Layout
//! - [`pages`]: the templates;
//! - [`chart`]: the SVG chart;
//! - [`i18n`]: the message tables.

pub mod chart;
pub mod i18n;
pub mod pages;

use std::sync::Mutex;

use i18n::Lang;

use crate::audit_api::{parse_decision, parse_subject, parse_time_bound, percent_decode};

/// The console answers' `Content-Security-Policy`.
pub const CSP: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The stylesheet (`/console/static/console.css`).
pub const STYLESHEET: &str = include_str!("console.css");

/// Path of the stylesheet.
pub const STYLESHEET_PATH: &str = "/console/static/console.css";

/// Entries per search page.
pub const PAGE_SIZE: usize = 50;

/// Most lines a subject report or officer page shows.
pub const REPORT_LIMIT: usize = 1000;

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// Whether `path` is the console's.
pub fn is_console(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// An HTML answer, ready for the admin plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of `body`.
    pub content_type: &'static str,
    /// The document.
    pub body: Vec<u8>,
    /// The reason code the view's log entry records (`ok`,
    /// `invalid_request`, `not_found`, `audit_unavailable` ...).
    pub reason: &'static str,
    /// The subject the page is about, for the view's log entry.
    pub subject_id: Option<String>,
}

/// The result of the last full verification a compliance officer ran
/// from the console (kept by this gateway process).
#[derive(Debug, Clone)]
pub struct Verified {
    /// When it finished (UTC ms).
    pub at_ms: i64,
    /// The officer who ran it.
    pub by: String,
    /// The report, or why it could not run.
    pub report: Result<audit::VerifyReport, String>,
}

/// What the console keeps between requests.
#[derive(Debug, Default)]
pub struct ConsoleState {
    /// The last full verification, if one ran since start.
    pub verified: Mutex<Option<Verified>>,
}

/// Everything one console request reads.
#[derive(Debug)]
pub struct Context<'a> {
    /// The inquiry log.
    pub reader: &'a audit::Reader,
    /// The raw audit public key (checkpoint signatures, proofs).
    pub public_key: &'a [u8],
    /// The configured witnesses: the name the gateway knows each under
    /// (as cosignatures are stored) and its verifier key.
    pub witnesses: &'a [(String, audit::note::Verifier)],
    /// Now (UTC ms).
    pub now_ms: i64,
    /// The platform's time zone, seconds east of UTC.
    pub utc_offset_seconds: i32,
    /// This gateway's chain (named as the verifier).
    pub chain_id: &'a str,
    /// The officer viewing the page.
    pub viewer: &'a str,
    /// Active suspensions: `(officer, until_ms, rule)`.
    pub suspensions: Vec<(String, i64, String)>,
    /// Kept state (the last verification).
    pub state: &'a ConsoleState,
}

/// What was wrong with a parameter (shown after its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not a parameter of this page.
    Unknown,
    /// Given twice.
    Twice,
    /// Bad percent-encoding.
    Encoding,
    /// A value that does not parse or is out of range.
    Invalid,
    /// `from` after `to`.
    Range,
}

/// Why a console page could not be shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// A bad query parameter or path segment (400). The value is never
    /// kept: only the parameter's name is shown.
    #[error("query parameter `{name}` is not acceptable: {problem:?}")]
    Param {
        /// The parameter (or path segment) name.
        name: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// No such entry (404).
    #[error("not found")]
    NotFound,
    /// No such page (404).
    #[error("no such page")]
    NoSuchPage,
    /// The store could not be read (503).
    #[error("the inquiry log could not be read: {0}")]
    Store(#[from] audit::AuditError),
}

fn bad(name: &str, problem: Problem) -> ConsoleError {
    ConsoleError::Param {
        name: name.chars().take(40).collect(),
        problem,
    }
}

/// A page's decoded query parameters (each name once).
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(&'static str, String)>,
}

impl Params {
    /// Splits and decodes `query`, taking only `allowed` names (and `lang`).
    pub fn parse(query: Option<&str>, allowed: &[&'static str]) -> Result<Params, ConsoleError> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = percent_decode(raw_name).ok_or_else(|| bad("?", Problem::Encoding))?;
            let Some(known) = allowed
                .iter()
                .chain(std::iter::once(&"lang"))
                .copied()
                .find(|a| *a == name)
            else {
                return Err(bad(&name, Problem::Unknown));
            };
            if pairs.iter().any(|(n, _)| *n == known) {
                return Err(bad(known, Problem::Twice));
            }
            let value = percent_decode(raw_value).ok_or_else(|| bad(known, Problem::Encoding))?;
            pairs.push((known, value));
        }
        Ok(Params { pairs })
    }

    /// A parameter's value; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| *n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// The pairs but `lang` and `page`, for links that keep a search.
    pub fn filters(&self) -> Vec<(&'static str, String)> {
        self.pairs
            .iter()
            .filter(|(n, v)| !matches!(*n, "lang" | "page") && !v.trim().is_empty())
            .map(|(n, v)| (*n, v.trim().to_owned()))
            .collect()
    }
}

/// The language a query asks for, ignoring everything else (for error pages).
pub fn lang_of(query: Option<&str>) -> Lang {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.strip_prefix("lang="))
        .find_map(|v| percent_decode(v).and_then(|v| Lang::parse(&v)))
        .unwrap_or(Lang::ZhCn)
}

/// Percent-encodes a query component (everything but unreserved characters).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?name=value&...` with `lang` kept.
pub fn link(lang: Lang, path: &str, params: &[(&str, String)]) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .map(|(n, v)| format!("{n}={}", encode_component(v)))
        .collect();
    if let Some(l) = lang.query_value() {
        parts.push(format!("lang={l}"));
    }
    if parts.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The 403 page for an identity that may not use the console.
pub fn forbidden(query: Option<&str>, reason: &'static str) -> Page {
    let lang = lang_of(query);
    Page {
        status: 403,
        content_type: "text/html; charset=utf-8",
        body: pages::message(lang, 403, None).into_string().into_bytes(),
        reason,
        subject_id: None,
    }
}

/// The stylesheet as a page.
pub fn stylesheet() -> Page {
    Page {
        status: 200,
        content_type: "text/css; charset=utf-8",
        body: STYLESHEET.as_bytes().to_vec(),
        reason: "ok",
        subject_id: None,
    }
}

/// A rendered page before it becomes a [`Page`].
struct Rendered {
    markup: maud::Markup,
    subject_id: Option<String>,
}

impl From<maud::Markup> for Rendered {
    fn from(markup: maud::Markup) -> Rendered {
        Rendered {
            markup,
            subject_id: None,
        }
    }
}

/// Serve one console page (the caller has checked the viewer's role).
pub async fn handle(ctx: &Context<'_>, path: &str, query: Option<&str>) -> Page {
    let lang = lang_of(query);
    let result = route(ctx, path, query).await;
    match result {
        Ok(r) => Page {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: r.markup.into_string().into_bytes(),
            reason: "ok",
            subject_id: r.subject_id,
        },
        Err(e) => {
            let (status, reason) = match &e {
                ConsoleError::Param { .. } => (400, "invalid_request"),
                ConsoleError::NotFound | ConsoleError::NoSuchPage => (404, "not_found"),
                ConsoleError::Store(err) => {
                    tracing::warn!(error = %err, "console: the inquiry log could not be read");
                    (503, "audit_unavailable")
                }
            };
            Page {
                status,
                content_type: "text/html; charset=utf-8",
                body: pages::message(lang, status, Some(&e))
                    .into_string()
                    .into_bytes(),
                reason,
                subject_id: None,
            }
        }
    }
}

async fn route(
    ctx: &Context<'_>,
    path: &str,
    query: Option<&str>,
) -> Result<Rendered, ConsoleError> {
    let lang_param = |p: &Params| -> Result<Lang, ConsoleError> {
        match p.get("lang") {
            None => Ok(Lang::ZhCn),
            Some(l) => Lang::parse(l).ok_or_else(|| bad("lang", Problem::Invalid)),
        }
    };
    match path {
        "/console" | "/console/" => {
            let p = Params::parse(query, &[])?;
            let lang = lang_param(&p)?;
            overview(ctx, lang).await.map(Rendered::from)
        }
        "/console/entries" => {
            let p = Params::parse(query, &SEARCH_PARAMS)?;
            let lang = lang_param(&p)?;
            search(ctx, lang, &p).await
        }
        "/console/alerts" => {
            let p = Params::parse(query, &["from", "to", "rule"])?;
            let lang = lang_param(&p)?;
            alerts(ctx, lang, &p).await.map(Rendered::from)
        }
        "/console/officers" => {
            // The form for ids holding a `/` (see `pages::officer_target`).
            let p = Params::parse(query, &["id"])?;
            let lang = lang_param(&p)?;
            let id = p.get("id").unwrap_or_default();
            check_id("id", id)?;
            officer(ctx, lang, id).await.map(Rendered::from)
        }
        "/console/verify" => {
            let p = Params::parse(query, &[])?;
            let lang = lang_param(&p)?;
            verify(ctx, lang).await.map(Rendered::from)
        }
        _ => {
            let p = Params::parse(query, &[])?;
            let lang = lang_param(&p)?;
            if let Some(id) = segment(path, "/console/entries/")? {
                entry(ctx, lang, &id).await
            } else if let Some(id) = segment(path, "/console/officers/")? {
                officer(ctx, lang, &id).await.map(Rendered::from)
            } else if let Some(id) = segment(path, "/console/subjects/")? {
                subject(ctx, lang, &id).await
            } else {
                Err(ConsoleError::NoSuchPage)
            }
        }
    }
}

/// The id after `prefix`, decoded: one path segment of at most 128
/// printable characters.
fn segment(path: &str, prefix: &str) -> Result<Option<String>, ConsoleError> {
    let Some(raw) = path.strip_prefix(prefix) else {
        return Ok(None);
    };
    let name = prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("id");
    let id =
        percent_decode(&raw.replace('+', "%2B")).ok_or_else(|| bad(name, Problem::Encoding))?;
    if id.contains('/') {
        return Err(bad(name, Problem::Invalid));
    }
    check_id(name, &id)?;
    Ok(Some(id))
}

/// An id from a path segment or a parameter: at most 128 printable
/// characters.
fn check_id(name: &str, id: &str) -> Result<(), ConsoleError> {
    if id.is_empty() || id.chars().count() > 128 || id.chars().any(policy::inquiry::is_hidden_char)
    {
        return Err(bad(name, Problem::Invalid));
    }
    Ok(())
}

/// The search page's parameters.
pub const SEARCH_PARAMS: [&str; 10] = [
    "officer", "unit", "subject", "purpose", "case", "decision", "reason", "from", "to", "page",
];

/// The search filter of `p` (without paging): each parameter checked on
/// its own, so a refusal names it.
pub fn search_filter(p: &Params) -> Result<audit::Filter, ConsoleError> {
    let text = |name: &'static str| -> Result<Option<String>, ConsoleError> {
        match p.get(name) {
            None => Ok(None),
            Some(v)
                if v.chars().count() > 512 || v.chars().any(policy::inquiry::is_hidden_char) =>
            {
                Err(bad(name, Problem::Invalid))
            }
            Some(v) => Ok(Some(v.to_owned())),
        }
    };
    let subject = p
        .get("subject")
        .map(|s| parse_subject(s).map_err(|_| bad("subject", Problem::Invalid)))
        .transpose()?;
    let decision = p
        .get("decision")
        .map(|d| parse_decision(d).map_err(|_| bad("decision", Problem::Invalid)))
        .transpose()?;
    let from_ms = p
        .get("from")
        .map(|t| parse_time_bound(t, false).map_err(|_| bad("from", Problem::Invalid)))
        .transpose()?;
    let to_ms = p
        .get("to")
        .map(|t| parse_time_bound(t, true).map_err(|_| bad("to", Problem::Invalid)))
        .transpose()?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if f > t {
            return Err(bad("from", Problem::Range));
        }
    }
    Ok(audit::Filter {
        officer: text("officer")?,
        unit: text("unit")?,
        purpose: text("purpose")?,
        case: text("case")?,
        reason: text("reason")?,
        subject,
        decision,
        from_ms,
        to_ms,
        ..audit::Filter::default()
    })
}

/// The signer a signature line (`— NAME BASE64`) names.
fn signer_of(line: &str) -> Option<&str> {
    line.trim_start()
        .strip_prefix('\u{2014}')?
        .split_whitespace()
        .next()
}

async fn overview(ctx: &Context<'_>, lang: Lang) -> Result<maud::Markup, ConsoleError> {
    let key = audit::tree_head::LogKey::raw(ctx.public_key)?;
    let mut chains = Vec::new();
    for id in ctx.reader.chains().await? {
        let status = ctx.reader.chain_status(&id).await?;
        let signed = status
            .latest
            .as_ref()
            .map(|(_, _, note)| key.open(note).is_ok());
        let cosigned = status
            .cosignatures
            .iter()
            .map(|(w, line)| {
                // Verified, not verifiable here (no key for that witness),
                // or failing: a stored cosignature that does not verify is
                // a checkpoint the witness did not cosign — rewritten or
                // re-signed (an outside probe saw it shown as "no key").
                let verified = match (
                    &status.latest,
                    ctx.witnesses
                        .iter()
                        .find(|(name, _)| name == w)
                        .map(|(_, v)| v),
                ) {
                    // The stored line itself, added to the checkpoint: one
                    // that does not even parse is as failing as a bad
                    // signature.
                    (Some((_, _, note)), Some(v)) => match audit::note::Note::parse(note)
                        .and_then(|mut n| n.add_sig_lines(line).map(|()| n))
                        .map(|n| n.verify(std::slice::from_ref(v)))
                    {
                        Ok(Ok(_)) => Some(true),
                        // Signed under that witness's name by another key
                        // (its key rotated): not verifiable here, not
                        // failing. A line naming another signer, filed
                        // under this witness, fails.
                        Ok(Err(audit::note::NoteError::NoTrustedSignature))
                            if signer_of(line) == Some(v.name.as_str()) =>
                        {
                            None
                        }
                        _ => Some(false),
                    },
                    _ => None,
                };
                (w.clone(), verified)
            })
            .collect();
        chains.push(pages::ChainView {
            status,
            signed,
            cosigned,
        });
    }
    let offset = i64::from(ctx.utc_offset_seconds) * 1000;
    // Day 29 is today in the platform's zone; day 0 is 29 days before.
    let today_start = (ctx.now_ms + offset).div_euclid(DAY_MS) * DAY_MS - offset;
    let start = today_start - 29 * DAY_MS;
    let rows = ctx.reader.daily_counts("data", start, 30).await?;
    let chart = chart::DailyStacked::from_rows(
        &rows,
        30,
        |d| pages::day_label(start + i64::from(d) * DAY_MS, ctx.utc_offset_seconds),
        if lang == Lang::En { "other" } else { "其他" },
    );
    let refusals = ctx.reader.refusal_counts(start).await?;
    let recent = crate::audit_api::query_alerts(
        ctx.reader,
        Some(&crate::audit_api::format_ms(ctx.now_ms - 7 * DAY_MS)),
        None,
        None,
    )
    .await
    .map_err(|_| bad("from", Problem::Invalid))??;
    let verified = ctx
        .state
        .verified
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(pages::overview(
        ctx,
        lang,
        &pages::Overview {
            chains,
            verified,
            chart,
            refusals,
            recent_alerts: recent,
        },
    ))
}

async fn search(ctx: &Context<'_>, lang: Lang, p: &Params) -> Result<Rendered, ConsoleError> {
    let mut filter = search_filter(p)?;
    filter.after = p
        .get("page")
        .map(|c| audit::Cursor::decode(c).ok_or_else(|| bad("page", Problem::Invalid)))
        .transpose()?;
    filter.newest_first = true;
    filter.limit = Some(PAGE_SIZE as u64 + 1);
    let mut found = ctx.reader.query(&filter).await?;
    let more = found.len() > PAGE_SIZE;
    found.truncate(PAGE_SIZE);
    let next = if more {
        found.last().map(|e| audit::Cursor::of(e).encode())
    } else {
        None
    };
    Ok(Rendered {
        markup: pages::search(ctx, lang, p, &found, next.as_deref()),
        subject_id: filter.subject,
    })
}

async fn entry(ctx: &Context<'_>, lang: Lang, id: &str) -> Result<Rendered, ConsoleError> {
    let Some(found) = ctx.reader.find_inquiry(id).await? else {
        return Err(ConsoleError::NotFound);
    };
    let proof = match ctx.reader.inclusion_proof(id).await {
        Ok(bundle) => pages::ProofView::Checked(check_proof(ctx, &bundle)),
        Err(audit::AuditError::ProofPending) => pages::ProofView::Pending,
        Err(e) if e.is_not_found() => return Err(ConsoleError::NotFound),
        Err(e @ audit::AuditError::Corrupt { .. }) => pages::ProofView::Checked(Err(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let subject_id = found.entry.subject_id.clone();
    Ok(Rendered {
        markup: pages::entry(ctx, lang, &found, &proof),
        subject_id,
    })
}

/// Checks a proof bundle as an offline verifier would (`audit
/// verify-proof`): the entry's hash, the inclusion proof to the
/// checkpoint's root, the checkpoint's signature; and which configured
/// witnesses cosigned that checkpoint.
fn check_proof(
    ctx: &Context<'_>,
    bundle: &audit::reader::ProofBundle,
) -> Result<pages::ProofChecked, String> {
    let key = audit::tree_head::LogKey::raw(ctx.public_key).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(bundle).map_err(|e| e.to_string())?;
    let report = audit::reader::verify_bundle(&json, &key, &[])?;
    let signed_ms = key.open(&bundle.checkpoint).map(|c| c.time_ms).ok();
    let note = audit::note::Note::parse(&bundle.checkpoint).ok();
    let witnesses = ctx
        .witnesses
        .iter()
        .filter(|(_, v)| {
            note.as_ref()
                .is_some_and(|n| n.verify(std::slice::from_ref(v)).is_ok())
        })
        .map(|(name, _)| name.clone())
        .collect();
    Ok(pages::ProofChecked {
        tree_size: report.tree_size,
        origin: report.origin,
        signed_ms,
        witnesses,
    })
}

async fn officer(ctx: &Context<'_>, lang: Lang, id: &str) -> Result<maud::Markup, ConsoleError> {
    let found = ctx
        .reader
        .query(&audit::Filter {
            officer: Some(id.to_owned()),
            newest_first: true,
            limit: Some(PAGE_SIZE as u64),
            ..audit::Filter::default()
        })
        .await?;
    let alerts: Vec<serde_json::Value> = ctx
        .reader
        .query(&audit::Filter {
            officer: Some(id.to_owned()),
            plane: Some("alert".into()),
            reason: Some("alert".into()),
            newest_first: true,
            limit: Some(PAGE_SIZE as u64),
            ..audit::Filter::default()
        })
        .await?
        .iter()
        .filter_map(crate::audit_api::alert_json)
        .collect();
    let lifts = ctx
        .reader
        .query(&audit::Filter {
            officer: Some(id.to_owned()),
            plane: Some("alert".into()),
            reason: Some("lift".into()),
            newest_first: true,
            limit: Some(PAGE_SIZE as u64),
            ..audit::Filter::default()
        })
        .await?;
    let suspension = ctx
        .suspensions
        .iter()
        .find(|(o, _, _)| o == id)
        .map(|(_, until, rule)| (*until, rule.clone()));
    Ok(pages::officer(
        ctx, lang, id, &found, suspension, &alerts, &lifts,
    ))
}

async fn subject(ctx: &Context<'_>, lang: Lang, id: &str) -> Result<Rendered, ConsoleError> {
    let (id, subject_type) =
        policy::subject::canonical(id).map_err(|_| bad("subject", Problem::Invalid))?;
    let id = id.as_str();
    let mut found = ctx
        .reader
        .query(&audit::Filter {
            subject: Some(id.to_owned()),
            plane: Some("data".into()),
            limit: Some(REPORT_LIMIT as u64 + 1),
            ..audit::Filter::default()
        })
        .await?;
    let truncated = found.len() > REPORT_LIMIT;
    found.truncate(REPORT_LIMIT);
    Ok(Rendered {
        markup: pages::subject(ctx, lang, id, subject_type.as_str(), &found, truncated),
        subject_id: Some(id.to_owned()),
    })
}

async fn alerts(ctx: &Context<'_>, lang: Lang, p: &Params) -> Result<maud::Markup, ConsoleError> {
    for name in ["from", "to"] {
        if let Some(t) = p.get(name) {
            parse_time_bound(t, name == "to").map_err(|_| bad(name, Problem::Invalid))?;
        }
    }
    let list =
        crate::audit_api::query_alerts(ctx.reader, p.get("from"), p.get("to"), p.get("rule"))
            .await
            .map_err(|_| bad("from", Problem::Range))??;
    Ok(pages::alerts(ctx, lang, p, &list))
}

async fn verify(ctx: &Context<'_>, lang: Lang) -> Result<maud::Markup, ConsoleError> {
    let report = ctx
        .reader
        .verify(ctx.public_key)
        .await
        .map_err(|e| e.to_string());
    let done = Verified {
        at_ms: ctx.now_ms,
        by: ctx.viewer.to_owned(),
        report,
    };
    *ctx.state.verified.lock().unwrap_or_else(|p| p.into_inner()) = Some(done.clone());
    Ok(pages::verify(ctx, lang, &done))
}

#[cfg(test)]
mod tests;
