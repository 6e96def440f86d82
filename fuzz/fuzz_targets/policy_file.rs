//! Fuzz `policy::Policy::parse`: arbitrary UTF-8 text as an operator's policy
//! file, default settings.
//!
//! Checks: parsing never panics; a refused file reports at least one
//! diagnostic, and every diagnostic names the file it was given and a line
//! and column inside it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::{Policy, Settings};

fuzz_target!(|text: &str| {
    match Policy::parse(text, "fuzz.toml", &Settings::default()) {
        Ok(policy) => {
            // A loaded policy answers its accessors without panicking.
            for role in policy.roles() {
                let _ = policy.rate(&role.name);
            }
            let _ = policy.officer_count();
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "refused policy with no diagnostic");
            let lines = text.split('\n').count();
            for diag in &errors.0 {
                assert_eq!(diag.file, "fuzz.toml", "diagnostic names another file");
                assert!(
                    diag.line >= 1 && diag.line <= lines,
                    "diagnostic line out of the file"
                );
                assert!(diag.column >= 1, "diagnostic column is 0");
                assert!(!diag.message.is_empty(), "diagnostic without a message");
            }
        }
    }
});
