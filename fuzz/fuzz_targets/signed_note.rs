//! Fuzz the verifiable log's readers of untrusted text: C2SP signed notes
//! and checkpoints (`audit::note`, what a witness or a verifier is handed),
//! credgate checkpoints opened with a key (`audit::tree_head::LogKey`), and
//! inclusion proof bundles (`audit::reader::verify_bundle`, what a credit
//! subject is handed).
//!
//! Checks: never panics; a note that parses writes back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;

static KEY: &[u8; 32] = include_bytes!("../../conformance/keys/consent-authority.pub");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = audit::note::Note::parse(text) {
        assert_eq!(note.to_string(), text, "a parsed note writes back differently");
        let _ = audit::note::TreeHead::parse(&note.text);
    }
    let _ = audit::note::Verifier::parse(text);
    if let Ok(key) = audit::tree_head::LogKey::raw(KEY) {
        let _ = key.open(text);
        let _ = audit::reader::verify_bundle(text, &key, &[]);
    }
});
