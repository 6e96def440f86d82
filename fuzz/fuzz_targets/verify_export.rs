//! Fuzz `audit::verify_export`: arbitrary bytes as an export file (anyone
//! can hand a compliance officer a file), checked against the key that
//! signed the seed (`conformance/keys/consent-authority`, used here as an
//! audit key).
//!
//! Checks: never panics or hangs (lines are parsed on two threads behind
//! bounded hand-offs); the same bytes give the same report twice (the
//! threads' timing must not matter); a report of an intact log counts no
//! more entries than the file has lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

static KEY: &[u8; 32] = include_bytes!("../../conformance/keys/consent-authority.pub");

fuzz_target!(|data: &[u8]| {
    let report = audit::verify_export(data, KEY);
    let again = audit::verify_export(data, KEY);
    assert_eq!(
        format!("{report:?}"),
        format!("{again:?}"),
        "verify_export is not deterministic"
    );
    if let Ok(audit::VerifyReport::Intact { entries, .. }) = report {
        let lines = data.split(|b| *b == b'\n').count() as u64;
        assert!(entries <= lines, "{entries} entries from {lines} lines");
    }
});
