use super::*;

#[test]
fn every_failure_has_the_spec_status_and_code() {
    let cases = [
        (
            Failure::Denied(Reason::InvalidRequest),
            400,
            "invalid_request",
        ),
        (
            Failure::Denied(Reason::RoleForbidden),
            403,
            "role_forbidden",
        ),
        (
            Failure::Invalid("missing header Inquiry-Case".into()),
            400,
            "invalid_request",
        ),
        (Failure::NotFound, 404, "not_found"),
        (Failure::MethodNotAllowed, 405, "method_not_allowed"),
        (Failure::Malformed("x"), 400, "invalid_request"),
        (Failure::PayloadTooLarge, 413, "payload_too_large"),
        (Failure::UriTooLong, 414, "invalid_request"),
        (Failure::HeadersTooLarge, 431, "invalid_request"),
        (
            Failure::RateLimited {
                retry_after_secs: 3,
                limit: RateLimit::Role,
            },
            429,
            "rate_limited",
        ),
        (Failure::CertificateRevoked, 403, "certificate_revoked"),
        (Failure::CertificateExpired, 403, "certificate_expired"),
        (Failure::UpstreamInvalid, 502, "upstream_invalid_response"),
        (Failure::AuditUnavailable, 503, "audit_unavailable"),
        (Failure::RateStoreUnavailable, 503, "audit_unavailable"),
        (Failure::UpstreamTimeout, 504, "upstream_timeout"),
        (Failure::UpstreamUnavailable, 502, "upstream_unavailable"),
        (
            Failure::Suppressed(Suppression::Expired),
            451,
            "inquiry_period_expired",
        ),
        (
            Failure::Suppressed(Suppression::Restored),
            451,
            "credit_restored",
        ),
        (
            Failure::Suppressed(Suppression::Withheld),
            451,
            "withheld_by_subject",
        ),
        (
            Failure::Suppressed(Suppression::NotGranted),
            403,
            "item_not_granted",
        ),
        (
            Failure::Denied(Reason::OfficerSuspended),
            403,
            "officer_suspended",
        ),
        (
            Failure::Refused(Reason::PurposeNotGranted, "r".into()),
            403,
            "purpose_not_granted",
        ),
    ];
    for (f, status, code) in cases {
        assert_eq!(f.status(), status, "{f:?}");
        assert_eq!(f.code(), code, "{f:?}");
        let resp = failure_response(&f, "abc");
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.headers()["inquiry-id"], "abc");
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
}

/// The status each policy reason and each single-record refusal is
/// answered with, as the shared conformance cases expect it.
#[test]
fn conformance_cases_get_their_status_from_this_mapping() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/cases");
    let by_code: std::collections::BTreeMap<&str, u16> = [
        Reason::InvalidRequest,
        Reason::UnknownOfficer,
        Reason::OfficerNotValid,
        Reason::PurposeNotGranted,
        Reason::ItemNotGranted,
        Reason::SubjectTypeNotGranted,
        Reason::ConsentRequired,
        Reason::ConsentInvalid,
        Reason::RoleForbidden,
        Reason::OfficerSuspended,
    ]
    .into_iter()
    .map(|r| (r.code(), reason_status(r)))
    .chain(
        [
            Suppression::Expired,
            Suppression::Restored,
            Suppression::Withheld,
        ]
        .into_iter()
        .map(|s| (suppression_answer(s).1, suppression_answer(s).0)),
    )
    .collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let case: serde_json::Value = serde_json::from_str(&text).unwrap();
        let Some(code) = case["expect"]["code"].as_str() else {
            continue;
        };
        if let Some(status) = by_code.get(code) {
            assert_eq!(
                u64::from(*status),
                case["expect"]["status"].as_u64().unwrap(),
                "{code}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} cases checked");
}

#[test]
fn rate_limited_response_carries_retry_after() {
    let resp = failure_response(
        &Failure::RateLimited {
            retry_after_secs: 7,
            limit: RateLimit::Role,
        },
        "x",
    );
    assert_eq!(resp.headers()["retry-after"], "7");
}

#[test]
fn error_body_is_the_documented_json() {
    let body = error_body(&Failure::UpstreamTimeout, "id-1");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert_eq!(v["error"]["inquiry_id"], "id-1");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[test]
fn upstream_and_gateway_faults_are_logged_as_errors() {
    assert_eq!(
        Failure::UpstreamInvalid.audit_decision(),
        audit::Decision::Error
    );
    assert_eq!(
        Failure::AuditUnavailable.audit_decision(),
        audit::Decision::Error
    );
    assert_eq!(
        Failure::Denied(Reason::ItemNotGranted).audit_decision(),
        audit::Decision::Deny
    );
}

/// A refusal's message names the rule or the limit at fault (SPEC,
/// "Messages that say what is wrong"), not just that something was.
#[test]
fn refusal_messages_name_the_rule_or_limit() {
    for (f, names) in [
        (
            Failure::Suppressed(Suppression::Expired),
            "inquiry_period_days",
        ),
        (Failure::Suppressed(Suppression::Restored), "`restored`"),
        (
            Failure::Suppressed(Suppression::Withheld),
            "`withheld_by_subject`",
        ),
        (
            Failure::Suppressed(Suppression::NotGranted),
            "item is not granted",
        ),
        (
            Failure::RateStoreUnavailable,
            "rate across the cluster could not be checked",
        ),
        (Failure::HeadersTooLarge, "max_header_bytes"),
        (Failure::HeadersTooLarge, "max_headers"),
    ] {
        assert!(f.message().contains(names), "{f:?}: {}", f.message());
    }
    // A 429 names the rate it is about: the role's, the certificate's
    // refusal budget, or the admin plane's export cap.
    for (limit, names, not) in [
        (RateLimit::Role, "`rate` in the policy's role", "refusal"),
        (RateLimit::RefusalBudget, "refusal_rate", "policy's role"),
        (
            RateLimit::Exports,
            "max_concurrent_exports",
            "policy's role",
        ),
    ] {
        let f = Failure::RateLimited {
            retry_after_secs: 1,
            limit,
        };
        let m = f.message();
        assert!(m.contains(names) && m.contains("Retry-After"), "{m}");
        assert!(!m.contains(not), "{m}");
    }
}
