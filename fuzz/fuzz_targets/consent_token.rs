//! Fuzz `policy::consent::verify`: arbitrary bytes as a `Subject-Consent`
//! token, checked against the conformance consent-authority public key.
//!
//! Checks: never panics; a refusal is one of the fixed
//! messages (so never repeats the token); an
//! accepted token yields a 16-hex-digit log id, and changing its first
//! payload character makes it fail.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use policy::consent::{parse_public_key, verify, ConsentError};

static KEY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let raw = include_bytes!("../../conformance/keys/consent-authority.pub");
    parse_public_key(raw).unwrap_or_default()
});

fuzz_target!(|data: &[u8]| {
    assert_eq!(KEY.len(), 32, "conformance key did not parse");
    let token = String::from_utf8_lossy(data);
    match verify(&token, &KEY) {
        Ok(verified) => {
            assert_eq!(verified.token_id.len(), 16);
            assert!(verified.token_id.bytes().all(|b| b.is_ascii_hexdigit()));
            // Changing the first payload character changes the signed bytes.
            let mut chars = token.chars();
            let first = chars.next().unwrap_or('A');
            let swapped = if first == 'A' { 'B' } else { 'A' };
            let tampered: String = std::iter::once(swapped).chain(chars).collect();
            assert!(
                verify(&tampered, &KEY).is_err(),
                "tampered payload verified"
            );
        }
        Err(e) => {
            // Every refusal is one of the fixed texts: none carries the token.
            let fixed = [
                ConsentError::Malformed,
                ConsentError::BadSignature,
                ConsentError::Payload,
                ConsentError::NotAfter,
                ConsentError::PublicKey,
            ];
            let shown = e.to_string();
            assert!(
                fixed.iter().any(|f| f.to_string() == shown),
                "error message depends on the token"
            );
        }
    }
});
