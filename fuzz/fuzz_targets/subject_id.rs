//! Fuzz `policy::subject::classify`: an arbitrary string as a client-supplied
//! subject id.
//!
//! Checks: never panics; an accepted id is 18 characters whose 18th is the
//! check character of its first 17 (GB 11643 for a natural person, GB 32100
//! for a legal person); a refusal's message is one of the fixed texts (only
//! the length varies), so it never repeats the id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::subject::{classify, gb11643_check_char, gb32100_check_char, SubjectIdError};
use policy::SubjectType;

fuzz_target!(|id: &str| {
    match classify(id) {
        Ok(kind) => {
            assert_eq!(id.chars().count(), 18, "accepted id is not 18 characters");
            assert_eq!(id.len(), 18, "accepted id is not ASCII");
            let (first17, last) = id.split_at(17);
            let expected = match kind {
                SubjectType::NaturalPerson => gb11643_check_char(first17),
                SubjectType::LegalPerson => gb32100_check_char(first17),
            };
            assert_eq!(
                expected.map(String::from).as_deref(),
                Some(last),
                "accepted id with a wrong check character"
            );
        }
        Err(e) => {
            // The message is one of the fixed texts (only the length varies),
            // so it cannot carry the id.
            let fixed = [
                SubjectIdError::Length(id.chars().count()),
                SubjectIdError::Charset,
                SubjectIdError::BirthDate,
                SubjectIdError::CheckChar,
            ];
            let shown = e.to_string();
            assert!(
                fixed.iter().any(|f| f.to_string() == shown),
                "error message depends on the id"
            );
        }
    }
});
