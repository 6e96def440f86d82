//! The entry model and its canonical byte encoding.
//!
//! Owns [`Decision`], [`NewEntry`] (what the gateway hands over), [`Entry`]
//! (a committed entry with its chain fields), [`Receipt`], and the hash rule.
//!
//! ## Canonical entry bytes (format `v1`)
//!
//! The bytes hashed for an entry are, in this exact order:
//!
//! 1. the ASCII tag `credgate-audit-entry-v1` followed by one `0x00` byte;
//! 2. `chain_id` (str), `seq` (u64);
//! 3. every [`NewEntry`] field in declaration order: `time_ms` (i64),
//!    `inquiry_id`, `plane`, `officer_id`, `officer_name`, `unit`,
//!    `cert_fingerprint` (str), `purpose`, `case`, `consent_id` (opt str),
//!    `method`, `path` (str), `subject_id`, `subject_type` (opt str),
//!    `items_requested` (list), `decision` (str: `allow`/`deny`/`error`),
//!    `reason`, `rule` (str), `statutory_basis` (opt str), `status` (u16),
//!    `records_returned` (u32), `records_suppressed` (map),
//!    `removed_keys`, `masked_keys` (list), `objection_labeled` (u32),
//!    `upstream_status` (opt u16), `latency_ms` (u64).
//!
//! Primitive encodings: integers are fixed-width big-endian (`i64`/`u64` 8
//! bytes, `u32` 4, `u16` 2); a str is its UTF-8 length as u32 followed by the
//! bytes; an optional value is `0x00` (absent) or `0x01` followed by the
//! value; a list is its length as u32 followed by each str; a map is its
//! length as u32 followed by (key str, value u32) pairs in ascending key
//! byte order (a `BTreeMap` iterates in that order).
//!
//! Every length is explicit, so two different entries never share bytes.
//!
//! `hash = SHA-256(prev_hash (32 raw bytes) || canonical bytes)`; the first
//! entry of a chain (seq 1) uses 32 zero bytes as `prev_hash`. Hashes are
//! stored and exported as lowercase hex.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::error::AuditError;

/// Tag that starts every canonical entry encoding.
const ENTRY_TAG: &[u8] = b"credgate-audit-entry-v1\0";

/// The prev_hash of the first entry of every chain.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

/// What the gateway decided for an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The inquiry was authorised and answered.
    Allow,
    /// The inquiry was refused (authority exceeded, bad request, ...).
    Deny,
    /// The gateway or upstream failed while serving an authorised inquiry.
    Error,
}

impl Decision {
    /// The stable text form: `allow`, `deny` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Error => "error",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Decision::Allow),
            "deny" => Ok(Decision::Deny),
            "error" => Ok(Decision::Error),
            other => Err(AuditError::InvalidDecision(other.to_owned())),
        }
    }
}

/// One inquiry as the gateway hands it over, before it joins the chain.
///
/// Holds names and counts only, never a redacted value or a consent token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// UTC unix milliseconds, set by the gateway at request start.
    pub time_ms: i64,
    /// The id the gateway gave this inquiry (also sent as `Inquiry-Id`).
    pub inquiry_id: String,
    /// `data` or `admin`: which listener the request came in on.
    pub plane: String,
    /// Officer id from the client certificate.
    pub officer_id: String,
    /// Officer name from the client certificate.
    pub officer_name: String,
    /// Officer's unit from the client certificate.
    pub unit: String,
    /// Fingerprint of the client certificate, to tie the entry to one cert.
    pub cert_fingerprint: String,
    /// Declared purpose code, if any was sent.
    pub purpose: Option<String>,
    /// Declared case or file number, if any was sent.
    pub case: Option<String>,
    /// Id of the consent token presented (never the token itself).
    pub consent_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (with query).
    pub path: String,
    /// Subject the inquiry was about, if the route names one.
    pub subject_id: Option<String>,
    /// `natural_person` or `legal_person`, if known.
    pub subject_type: Option<String>,
    /// Information items requested.
    pub items_requested: Vec<String>,
    /// What was decided.
    pub decision: Decision,
    /// Error code, or `ok`.
    pub reason: String,
    /// Id of the policy rule that made the decision.
    pub rule: String,
    /// Statutory basis logged for inquiries beyond the inquiry period.
    pub statutory_basis: Option<String>,
    /// HTTP status sent to the client.
    pub status: u16,
    /// Records returned to the client.
    pub records_returned: u32,
    /// Records suppressed, by reason code.
    pub records_suppressed: BTreeMap<String, u32>,
    /// Names of keys removed from the response (never values).
    pub removed_keys: Vec<String>,
    /// Names of keys masked in the response (never values).
    pub masked_keys: Vec<String>,
    /// Records labelled as under objection.
    pub objection_labeled: u32,
    /// Upstream HTTP status, if the upstream was asked.
    pub upstream_status: Option<u16>,
    /// Time from request start to the audit hand-over, in milliseconds.
    pub latency_ms: u64,
}

/// A committed entry: the gateway's [`NewEntry`] plus its place in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The chain (one per writer process) this entry belongs to.
    pub chain_id: String,
    /// Position in the chain, starting at 1, without gaps.
    pub seq: u64,
    /// Hex hash of the previous entry (64 zeros for seq 1).
    pub prev_hash: String,
    /// Hex `SHA-256(prev_hash || canonical bytes)`.
    pub hash: String,
    /// The inquiry itself.
    pub entry: NewEntry,
}

/// Proof that an entry was durably committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Sequence number the entry got in this process's chain.
    pub seq: u64,
    /// Hex hash of the entry.
    pub hash: String,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    // Lengths above u32::MAX cannot occur for entries that fit a store row;
    // saturating keeps the function total without a panic.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            put_str(buf, s);
        }
    }
}

fn put_list(buf: &mut Vec<u8>, items: &[String]) {
    let len = u32::try_from(items.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    for item in items {
        put_str(buf, item);
    }
}

/// Appends the canonical bytes (see the module docs) of an entry at
/// `(chain_id, seq)` to `buf`.
pub fn canonical_bytes(buf: &mut Vec<u8>, chain_id: &str, seq: u64, e: &NewEntry) {
    buf.extend_from_slice(ENTRY_TAG);
    put_str(buf, chain_id);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&e.time_ms.to_be_bytes());
    put_str(buf, &e.inquiry_id);
    put_str(buf, &e.plane);
    put_str(buf, &e.officer_id);
    put_str(buf, &e.officer_name);
    put_str(buf, &e.unit);
    put_str(buf, &e.cert_fingerprint);
    put_opt_str(buf, e.purpose.as_deref());
    put_opt_str(buf, e.case.as_deref());
    put_opt_str(buf, e.consent_id.as_deref());
    put_str(buf, &e.method);
    put_str(buf, &e.path);
    put_opt_str(buf, e.subject_id.as_deref());
    put_opt_str(buf, e.subject_type.as_deref());
    put_list(buf, &e.items_requested);
    put_str(buf, e.decision.as_str());
    put_str(buf, &e.reason);
    put_str(buf, &e.rule);
    put_opt_str(buf, e.statutory_basis.as_deref());
    buf.extend_from_slice(&e.status.to_be_bytes());
    buf.extend_from_slice(&e.records_returned.to_be_bytes());
    let len = u32::try_from(e.records_suppressed.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    for (k, v) in &e.records_suppressed {
        put_str(buf, k);
        buf.extend_from_slice(&v.to_be_bytes());
    }
    put_list(buf, &e.removed_keys);
    put_list(buf, &e.masked_keys);
    buf.extend_from_slice(&e.objection_labeled.to_be_bytes());
    match e.upstream_status {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            buf.extend_from_slice(&s.to_be_bytes());
        }
    }
    buf.extend_from_slice(&e.latency_ms.to_be_bytes());
}

/// Computes `SHA-256(prev_hash || canonical bytes)` for an entry at
/// `(chain_id, seq)`. `scratch` is reused between calls to avoid allocating.
pub fn entry_hash(
    scratch: &mut Vec<u8>,
    prev_hash: &[u8; 32],
    chain_id: &str,
    seq: u64,
    e: &NewEntry,
) -> [u8; 32] {
    scratch.clear();
    scratch.extend_from_slice(prev_hash);
    canonical_bytes(scratch, chain_id, seq, e);
    let d = digest::digest(&digest::SHA256, scratch);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The entry's chain hash `SHA-256(prev_hash || canonical bytes)` and its
/// Merkle leaf hash `SHA-256(0x00 || canonical bytes)` (see
/// [`crate::merkle`]), from one encoding. `scratch` is reused between calls.
pub fn entry_hashes(
    scratch: &mut Vec<u8>,
    prev_hash: &[u8; 32],
    chain_id: &str,
    seq: u64,
    e: &NewEntry,
) -> ([u8; 32], [u8; 32]) {
    scratch.clear();
    // One spare byte in front: the leaf prefix overwrites the end of
    // prev_hash, so both digests read one contiguous buffer.
    scratch.push(0);
    scratch.extend_from_slice(prev_hash);
    canonical_bytes(scratch, chain_id, seq, e);
    let link = digest::digest(&digest::SHA256, &scratch[1..]);
    scratch[32] = 0x00;
    let leaf = digest::digest(&digest::SHA256, &scratch[32..]);
    let mut a = [0u8; 32];
    a.copy_from_slice(link.as_ref());
    let mut b = [0u8; 32];
    b.copy_from_slice(leaf.as_ref());
    (a, b)
}

/// Decodes a 64-character hex hash; `None` if it is not exactly that.
pub(crate) fn parse_hash(s: &str) -> Option<[u8; 32]> {
    // By table: on every entry of a verify, `hex::decode_to_slice` was
    // 8 % of the time. Accepts what it accepts (either case).
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        if (hi | lo) & 0x80 != 0 {
            return None;
        }
        *o = (hi << 4) | lo;
    }
    Some(out)
}

/// Value of each byte as a hex digit; 0xff for a byte that is not one.
static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The table decoder accepts exactly what `hex` accepts.
    #[test]
    fn parse_hash_agrees_with_the_hex_crate() {
        let mut cases: Vec<String> = vec![
            "00".repeat(32),
            "ff".repeat(32),
            "FF".repeat(32),
            "aB".repeat(32),
            "0".repeat(63),
            "0".repeat(65),
            String::new(),
            format!("{}g", "0".repeat(63)),
            format!("{} ", "0".repeat(63)),
            format!("{}é", "0".repeat(62)),
        ];
        for b in 0..=255u8 {
            cases.push(format!("{}{}", "0".repeat(63), b as char));
            cases.push(format!("{}{}0", (b as char), "0".repeat(62)));
        }
        for c in cases {
            let mut want = [0u8; 32];
            let want = hex::decode_to_slice(&c, &mut want).ok().map(|()| want);
            assert_eq!(parse_hash(&c), want, "{c:?}");
        }
    }

    /// The sample entry, for this crate's tests.
    pub(crate) use crate::testing::sample;

    #[test]
    fn decision_round_trips_through_text() {
        for d in [Decision::Allow, Decision::Deny, Decision::Error] {
            assert_eq!(d.as_str().parse::<Decision>().ok(), Some(d));
        }
        assert!("ALLOW".parse::<Decision>().is_err());
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample(1);
        let mut scratch = Vec::new();
        let h0 = entry_hash(&mut scratch, &GENESIS_HASH, "c", 1, &base);
        let mut variants: Vec<NewEntry> = Vec::new();
        macro_rules! vary {
            ($($f:ident = $v:expr;)*) => {$(
                let mut e = base.clone();
                e.$f = $v;
                variants.push(e);
            )*};
        }
        vary! {
            time_ms = 1; inquiry_id = "x".into(); plane = "admin".into();
            officer_id = "x".into(); officer_name = "x".into(); unit = "x".into();
            cert_fingerprint = "x".into(); purpose = None; case = None;
            consent_id = Some("t".into()); method = "POST".into(); path = "/x".into();
            subject_id = None; subject_type = None; items_requested = vec![];
            decision = Decision::Deny; reason = "x".into(); rule = "x".into();
            statutory_basis = Some("law".into()); status = 403; records_returned = 0;
            records_suppressed = BTreeMap::new(); removed_keys = vec![];
            masked_keys = vec![]; objection_labeled = 0; upstream_status = None;
            latency_ms = 0;
        }
        for v in &variants {
            assert_ne!(
                entry_hash(&mut scratch, &GENESIS_HASH, "c", 1, v),
                h0,
                "{v:?}"
            );
        }
        assert_ne!(entry_hash(&mut scratch, &GENESIS_HASH, "d", 1, &base), h0);
        assert_ne!(entry_hash(&mut scratch, &GENESIS_HASH, "c", 2, &base), h0);
        assert_ne!(entry_hash(&mut scratch, &[1u8; 32], "c", 1, &base), h0);
        assert_eq!(entry_hash(&mut scratch, &GENESIS_HASH, "c", 1, &base), h0);
    }

    #[test]
    fn both_hashes_come_from_the_same_bytes() {
        let e = sample(4);
        let mut s = Vec::new();
        let prev = [9u8; 32];
        let (link, leaf) = entry_hashes(&mut s, &prev, "c", 4, &e);
        assert_eq!(link, entry_hash(&mut s, &prev, "c", 4, &e));
        let mut bytes = Vec::new();
        canonical_bytes(&mut bytes, "c", 4, &e);
        assert_eq!(leaf, crate::merkle::leaf_hash(&bytes));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = sample(1);
        let mut b = sample(1);
        a.officer_name = "ab".into();
        a.unit = "c".into();
        b.officer_name = "a".into();
        b.unit = "bc".into();
        let mut s = Vec::new();
        assert_ne!(
            entry_hash(&mut s, &GENESIS_HASH, "c", 1, &a),
            entry_hash(&mut s, &GENESIS_HASH, "c", 1, &b)
        );
    }
}
