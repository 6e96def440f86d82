//! Fuzz `certs::identity::identity_from_der`: arbitrary bytes as a client
//! certificate's DER, read with every kind of identity mapping.
//!
//! Checks: never panics; an accepted certificate yields a non-blank officer
//! id and the lowercase hex SHA-256 of exactly the input as fingerprint;
//! a refusal's message names the mapped field, never a certificate value.
#![no_main]

use std::sync::LazyLock;

use certs::identity::{fingerprint, identity_from_der, Field, IdentityMapping};
use libfuzzer_sys::fuzz_target;

static MAPPINGS: LazyLock<Vec<IdentityMapping>> = LazyLock::new(|| {
    let m = |officer_id, name, unit| IdentityMapping {
        officer_id,
        name,
        unit,
    };
    vec![
        IdentityMapping::default(),
        m(Field::SubjectCn, Field::SubjectO, Field::SubjectOu),
        m(
            Field::SubjectOu,
            Field::SubjectSerialNumber,
            Field::SubjectCn,
        ),
        m(
            Field::SanUri("urn:officer:".to_owned()),
            Field::SubjectCn,
            Field::SanEmail,
        ),
        m(
            Field::SanUri(String::new()),
            Field::SanEmail,
            Field::SubjectO,
        ),
        m(
            Field::SanEmail,
            Field::SanUri("spiffe://".to_owned()),
            Field::SubjectOu,
        ),
    ]
});

fuzz_target!(|der: &[u8]| {
    for mapping in MAPPINGS.iter() {
        match identity_from_der(der, mapping) {
            Ok(identity) => {
                assert!(!identity.officer_id.trim().is_empty(), "blank officer id");
                assert_eq!(identity.fingerprint, fingerprint(der));
                assert_eq!(identity.fingerprint.len(), 64);
            }
            Err(e) => {
                // Messages are fixed text plus at most the mapping spelling.
                let shown = e.to_string();
                assert!(shown.len() < 200, "error message carries certificate data");
            }
        }
    }
});
