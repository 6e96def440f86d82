//! The pure authorisation function: who may ask what, and why.
//!
//! [`decide`] answers one data-plane [`Inquiry`] under a [`Policy`] at a
//! given instant; [`decide_fetched_record`] decides `GET /v1/records/{id}`
//! again, per role, once the upstream has named the record's subject;
//! [`decide_admin`] guards the compliance plane. Deny by default: every
//! path that does not end in an explicit grant is a [`Deny`] with a reason
//! code and a short rule (never data). No I/O, no clock reads.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::consent::{self, VerifiedConsent};
use crate::file::{Officer, Policy, Role, RoleKind};
use crate::model::{
    Allow, Category, Decision, Deny, Identity, Inquiry, Reason, Route, Scope, SubjectType,
};
use crate::subject::classify;

fn deny(reason: Reason, rule: impl Into<String>) -> Deny {
    Deny {
        reason,
        rule: rule.into(),
    }
}

/// The officer behind `identity`, if known and valid on `now`'s calendar day
/// in the platform zone (`valid_until` inclusive to the end of that day).
fn valid_officer<'p>(
    identity: &Identity,
    policy: &'p Policy,
    now: OffsetDateTime,
) -> Result<&'p Officer, Deny> {
    let officer = policy.officer(&identity.officer_id).ok_or_else(|| {
        deny(
            Reason::UnknownOfficer,
            "officer id of the client certificate is not in the policy",
        )
    })?;
    let offset = UtcOffset::from_whole_seconds(policy.utc_offset_seconds).unwrap_or(UtcOffset::UTC);
    let today = now.checked_to_offset(offset).unwrap_or(now).date();
    if let Some(from) = officer.valid_from {
        if today < from {
            return Err(deny(
                Reason::OfficerNotValid,
                format!(
                    "officer {}: valid_from {from} is after today {today}",
                    officer.id
                ),
            ));
        }
    }
    if let Some(until) = officer.valid_until {
        if today > until {
            return Err(deny(
                Reason::OfficerNotValid,
                format!(
                    "officer {}: valid_until {until} has passed (today {today})",
                    officer.id
                ),
            ));
        }
    }
    Ok(officer)
}

/// `role_forbidden`: the officer has no role of the kind the plane needs.
fn no_role(officer: &Officer, kind: &str, because: &str) -> Deny {
    deny(
        Reason::RoleForbidden,
        format!("officer {} has no {kind} role: {because}", officer.id),
    )
}

/// The roles of `roles` for which `f` holds, in order.
fn keep<'p>(roles: &[&'p Role], f: impl Fn(&Role) -> bool) -> Vec<&'p Role> {
    roles.iter().copied().filter(|r| f(r)).collect()
}

fn names(roles: &[&Role]) -> String {
    roles
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Verify a consent token for this officer at `now`: signature, grantee,
/// expiry and `max_days`. The subject is checked by the caller.
fn verify_consent(
    token: &str,
    officer: &Officer,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<VerifiedConsent, Deny> {
    let key = policy.consent_public_key().ok_or_else(|| {
        deny(
            Reason::ConsentInvalid,
            "consent: no consent authority key is configured",
        )
    })?;
    let v = consent::verify(token, key)
        .map_err(|e| deny(Reason::ConsentInvalid, format!("consent: {e}")))?;
    if v.payload.grantee != officer.id {
        return Err(deny(
            Reason::ConsentInvalid,
            "consent: token is granted to another officer",
        ));
    }
    if v.not_after <= now {
        return Err(deny(Reason::ConsentInvalid, "consent: token has expired"));
    }
    let limit = now.checked_add(Duration::days(i64::from(policy.consent_max_days())));
    if limit.is_none_or(|limit| v.not_after > limit) {
        return Err(deny(
            Reason::ConsentInvalid,
            format!(
                "consent: token runs longer than max_days = {}",
                policy.consent_max_days()
            ),
        ));
    }
    Ok(v)
}

/// The period exemption of a scope: `Some(basis)` only when EVERY
/// contributing role carries `beyond_inquiry_period` (distinct bases joined
/// with `; ` in role-name order), else `None`. The redactor applies the
/// exemption to every untrustworthy item of the scope, so one contributing
/// role without a statutory basis must switch it off (fail closed).
fn common_statutory_basis(contributing: &[&Role]) -> Option<String> {
    let mut bases: Vec<&str> = Vec::new();
    for role in contributing {
        let basis = role.beyond_inquiry_period.as_deref()?;
        if !bases.contains(&basis) {
            bases.push(basis);
        }
    }
    if bases.is_empty() {
        None
    } else {
        Some(bases.join("; "))
    }
}

/// Decide one data-plane inquiry. Checks, in order: officer known, officer
/// valid today, officer has a data role, purpose granted, subject type
/// granted, explicit items granted, consent (credit service on natural
/// persons), and for `GET /v1/subjects/{id}` at least one item of category
/// `basic` in the result (else `item_not_granted`).
///
/// Grants are the union over the *contributing* roles: those that pass
/// purpose and subject type on their own and still grant at least one item
/// after consent (role ∩ token) and the client's `items` narrowed them. The
/// inquiry-period exemption is granted only when every contributing role has
/// it (see [`Scope::beyond_inquiry_period`]).
///
/// For `GET /v1/records/{id}` the subject is unknown here; this is only the
/// pre-fetch check (officer, purpose, consent signature and grantee). Once
/// the upstream names the subject, call [`decide_fetched_record`].
pub fn decide(
    identity: &Identity,
    inquiry: &Inquiry,
    policy: &Policy,
    now: OffsetDateTime,
) -> Decision {
    match decide_inner(identity, inquiry, policy, now) {
        Ok(allow) => Decision::Allow(Box::new(allow)),
        Err(d) => Decision::Deny(d),
    }
}

/// The officer-level checks of [`decide`] alone, in its order and with its
/// refusals: officer known, valid today, holding a data role. The gateway
/// runs them before it reads a data-plane request's path and headers, so
/// an unknown, expired or compliance identity is refused as such (403)
/// whatever it sent; [`decide`] repeats them on the same policy.
pub fn check_officer(
    identity: &Identity,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<(), Deny> {
    let officer = valid_officer(identity, policy, now)?;
    // As `data_roles` decides, without collecting them (this runs on every
    // data-plane request, before `decide` collects them).
    let any_data_role = officer
        .roles
        .iter()
        .filter_map(|name| policy.role(name))
        .any(|r| r.kind != RoleKind::Compliance);
    if any_data_role {
        Ok(())
    } else {
        Err(no_data_role(officer))
    }
}

/// `role_forbidden` for an officer who holds compliance roles only.
fn no_data_role(officer: &Officer) -> Deny {
    no_role(
        officer,
        "data",
        "compliance roles may not query credit data",
    )
}

/// The officer's data (non-compliance) roles by name, or `role_forbidden`
/// when there is none.
fn data_roles<'p>(officer: &Officer, policy: &'p Policy) -> Result<Vec<&'p Role>, Deny> {
    let mut data_roles: Vec<&Role> = officer
        .roles
        .iter()
        .filter_map(|name| policy.role(name))
        .filter(|r| r.kind != RoleKind::Compliance)
        .collect();
    data_roles.sort_by(|a, b| a.name.cmp(&b.name));
    if data_roles.is_empty() {
        return Err(no_data_role(officer));
    }
    Ok(data_roles)
}

/// A value the client sent, as a refusal's message shows it: quoted when
/// the policy knows it or it is a plain word (ASCII letters, `_`, `-`; at
/// most 40), else described without repeating it. The message is answered
/// and kept in the inquiry log: a personal identifier a client typed into
/// a header (`Inquiry-Purpose: p13812345678`) must reach neither.
fn as_sent(value: &str, known: bool) -> String {
    let plain = !value.is_empty()
        && value.len() <= 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
    if known || plain {
        format!("\"{value}\"")
    } else {
        format!(
            "(not repeated: {} characters that are not a name in the policy)",
            value.chars().count()
        )
    }
}

fn decide_inner(
    identity: &Identity,
    inquiry: &Inquiry,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<Allow, Deny> {
    let officer = valid_officer(identity, policy, now)?;
    let data_roles = data_roles(officer, policy)?;

    let purpose_roles = keep(&data_roles, |r| r.purposes.contains(&inquiry.purpose));
    if purpose_roles.is_empty() {
        return Err(deny(
            Reason::PurposeNotGranted,
            format!(
                "purpose {} is not granted to {} (officer {})",
                as_sent(
                    &inquiry.purpose,
                    policy
                        .roles()
                        .any(|r| r.purposes.contains(&inquiry.purpose))
                ),
                data_roles
                    .iter()
                    .map(|r| format!("role \"{}\"", r.name))
                    .collect::<Vec<_>>()
                    .join(" or "),
                officer.id,
            ),
        ));
    }

    let (subject, requested): (Option<(&str, SubjectType)>, Option<&Vec<String>>) =
        match &inquiry.route {
            Route::Subject {
                subject_id,
                subject_type,
            } => (Some((subject_id.as_str(), *subject_type)), None),
            Route::SubjectRecords {
                subject_id,
                subject_type,
                items,
            } => (Some((subject_id.as_str(), *subject_type)), items.as_ref()),
            Route::Record { .. } => (None, None),
        };

    let passing: Vec<&Role> = match subject {
        Some((_, st)) => {
            let p = keep(&purpose_roles, |r| r.subject_types.contains(&st));
            if p.is_empty() {
                return Err(deny(
                    Reason::SubjectTypeNotGranted,
                    format!(
                        "no role granting purpose `{}` covers subject type {} (roles: {})",
                        inquiry.purpose,
                        st.as_str(),
                        names(&purpose_roles)
                    ),
                ));
            }
            p
        }
        None => purpose_roles,
    };

    if let Some(requested) = requested {
        let granted: BTreeSet<&String> = passing.iter().flat_map(|r| r.items.iter()).collect();
        for item in requested {
            if !policy.rules().items.contains_key(item) {
                return Err(deny(
                    Reason::InvalidRequest,
                    format!(
                        "item {} is not in the policy's item catalogue",
                        as_sent(item, false)
                    ),
                ));
            }
            if !granted.contains(item) {
                return Err(deny(
                    Reason::ItemNotGranted,
                    format!("item `{item}` is not granted by roles {}", names(&passing)),
                ));
            }
        }
    }

    let consent = match &inquiry.consent {
        Some(token) => {
            let v = verify_consent(token, officer, policy, now)?;
            if let Some((subject_id, _)) = subject {
                if v.payload.subject != subject_id {
                    return Err(deny(
                        Reason::ConsentInvalid,
                        "consent: token names another subject",
                    ));
                }
            }
            Some(v)
        }
        None => None,
    };

    // Per-role grants: a credit service role on a natural person sees only
    // what the consent token covers, and nothing without a token. A role
    // contributes when it has at least one item left after the consent and
    // the client's `items` narrowed it; only contributing roles shape the
    // scope (items, subject types, fields, period exemption) and the log.
    let natural = matches!(subject, Some((_, SubjectType::NaturalPerson)));
    let record_route = subject.is_none();
    let mut eligible = 0usize;
    let mut contributing: Vec<&Role> = Vec::new();
    let mut items: BTreeSet<String> = BTreeSet::new();
    for role in &passing {
        let consent_bound = role.kind == RoleKind::CreditService
            && (natural || (record_route && consent.is_some()));
        let token_items: Option<&[String]> = match (&consent, consent_bound) {
            (Some(v), true) => Some(v.payload.items.as_slice()),
            (None, true) => continue,
            (_, false) => None,
        };
        eligible += 1;
        let granted: Vec<&String> = role
            .items
            .iter()
            .filter(|i| token_items.is_none_or(|t| t.iter().any(|x| x == *i)))
            .filter(|i| requested.is_none_or(|r| r.contains(*i)))
            .collect();
        if granted.is_empty() {
            continue;
        }
        items.extend(granted.into_iter().cloned());
        contributing.push(role);
    }
    if eligible == 0 {
        return Err(deny(
            Reason::ConsentRequired,
            format!(
                "credit service roles ({}) need the subject's consent token for a natural person",
                names(&passing)
            ),
        ));
    }
    if contributing.is_empty() {
        return Err(deny(
            Reason::ItemNotGranted,
            format!(
                "no requested item is covered by both roles {} and the consent token",
                names(&passing)
            ),
        ));
    }
    // Items the client named are served whole or refused, as an item
    // outside the roles is (above): the consent token does not narrow an
    // explicit list in silence (an outside probe: `items=basic,commendation`
    // with a token for `basic` was served `basic` alone, and the log lost
    // the item asked for).
    if let Some(missing) = requested.and_then(|r| r.iter().find(|i| !items.contains(*i))) {
        return Err(deny(
            Reason::ItemNotGranted,
            format!(
                "item `{missing}` is not covered by both roles {} and the consent token",
                names(&passing)
            ),
        ));
    }

    let rules = policy.rules().clone();
    if matches!(inquiry.route, Route::Subject { .. })
        && !items.iter().any(|i| {
            rules
                .items
                .get(i)
                .is_some_and(|r| r.category == Category::Basic)
        })
    {
        return Err(deny(
            Reason::ItemNotGranted,
            format!(
                "no basic item granted: roles {} (with the consent token, if any) grant no item of category basic",
                names(&contributing)
            ),
        ));
    }
    let consent_fields: BTreeSet<String> = match &consent {
        Some(v) if contributing.iter().any(|r| r.consent_fields) => v
            .payload
            .fields
            .iter()
            .map(|f| crate::keyname::normalise(f).into_owned())
            .filter(|f| rules.consent_required.contains(f))
            .collect(),
        _ => BTreeSet::new(),
    };
    let beyond = common_statutory_basis(&contributing);
    let scope = Scope {
        items,
        subject_types: contributing
            .iter()
            .flat_map(|r| r.subject_types.iter().copied())
            .collect(),
        consent_fields,
        unmasked: contributing
            .iter()
            .flat_map(|r| r.unmasked.iter().cloned())
            .collect(),
        beyond_inquiry_period: beyond.clone(),
        consent_subject: consent.as_ref().map(|v| v.payload.subject.clone()),
        asked_subject: subject.map(|(id, _)| id.to_owned()),
        natural_person_needs_consent: contributing
            .iter()
            .any(|r| r.kind == RoleKind::CreditService),
        rules,
    };
    Ok(Allow {
        scope,
        roles: contributing.iter().map(|r| r.name.clone()).collect(),
        consent_id: consent.map(|v| v.token_id),
        statutory_basis: beyond,
    })
}

/// Decide `GET /v1/records/{id}` again once the upstream has named the
/// record's subject, as if the officer had asked for that subject's records.
///
/// `inquiry` must be the original record-route inquiry (`Route::Record`);
/// `subject_id` is the subject id the upstream answer names. The id is
/// classified (an invalid id is `subject_type_not_granted`), then the
/// decision is exactly [`decide()`] of
/// `Route::SubjectRecords { subject_id, subject_type, items: None }` with the
/// same purpose, case and consent token. So only roles covering the
/// subject's type contribute; a credit service role needs a consent token
/// for a natural person, the token must name this subject, and its items
/// narrow the role's; consent fields, unmasked keys and the inquiry-period
/// exemption come from the contributing roles only. The caller re-applies
/// redaction with the returned scope (a record whose item the scope does
/// not grant is suppressed there).
///
/// Any other route is refused with `invalid_request` (fail closed: the
/// subject of those routes is known before the fetch, use [`decide()`]).
pub fn decide_fetched_record(
    identity: &Identity,
    inquiry: &Inquiry,
    subject_id: &str,
    policy: &Policy,
    now: OffsetDateTime,
) -> Decision {
    if !matches!(inquiry.route, Route::Record { .. }) {
        return Decision::Deny(deny(
            Reason::InvalidRequest,
            "decide_fetched_record only applies to GET /v1/records/{id}",
        ));
    }
    let Ok(subject_type) = classify(subject_id) else {
        return Decision::Deny(deny(
            Reason::SubjectTypeNotGranted,
            "the upstream named an invalid subject id (not GB 11643 / GB 32100) for the record",
        ));
    };
    let as_records = Inquiry {
        route: Route::SubjectRecords {
            subject_id: subject_id.to_owned(),
            subject_type,
            items: None,
        },
        purpose: inquiry.purpose.clone(),
        case: inquiry.case.clone(),
        consent: inquiry.consent.clone(),
    };
    match decide(identity, &as_records, policy, now) {
        Decision::Deny(d) => Decision::Deny(Deny {
            reason: d.reason,
            rule: format!("the record's subject: {}", d.rule),
        }),
        // The officer asked for a record, not this subject: its id is
        // news to them and the detectors mask it.
        Decision::Allow(mut allow) => {
            allow.scope.asked_subject = None;
            Decision::Allow(allow)
        }
    }
}

/// Guard the admin (compliance) plane: Ok with the officer's compliance role
/// names, or `unknown_officer` / `officer_not_valid` / `role_forbidden`.
pub fn decide_admin(
    identity: &Identity,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<Vec<String>, Deny> {
    let officer = valid_officer(identity, policy, now)?;
    let roles: Vec<String> = officer
        .roles
        .iter()
        .filter(|name| {
            policy
                .role(name)
                .is_some_and(|r| r.kind == RoleKind::Compliance)
        })
        .cloned()
        .collect();
    if roles.is_empty() {
        return Err(no_role(
            officer,
            "compliance",
            "data roles may not read the inquiry log",
        ));
    }
    Ok(roles)
}

fn join<'a>(it: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.into_iter().map(String::as_str).collect();
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

/// Multi-line human explanation of a decision (for `credgate policy explain`).
pub fn explain(decision: &Decision) -> String {
    let mut out = String::new();
    match decision {
        Decision::Allow(a) => {
            let s = &a.scope;
            let _ = writeln!(out, "decision: allow");
            let _ = writeln!(out, "roles: {}", join(&a.roles));
            let _ = writeln!(out, "items: {}", join(&s.items));
            let types: Vec<String> = s
                .subject_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect();
            let _ = writeln!(out, "subject types: {}", join(&types));
            let _ = writeln!(
                out,
                "consent-required fields visible: {}",
                join(&s.consent_fields)
            );
            if !s.unmasked.is_empty() {
                let _ = writeln!(out, "unmasked fields: {}", join(&s.unmasked));
            }
            if let Some(id) = &a.consent_id {
                let _ = writeln!(out, "consent token id: {id}");
            }
            if let Some(basis) = &a.statutory_basis {
                let _ = writeln!(out, "beyond inquiry period, statutory basis: {basis}");
            }
            if s.natural_person_needs_consent {
                let _ = writeln!(out, "natural persons: only with the subject's consent");
            }
        }
        Decision::Deny(d) => {
            let _ = writeln!(out, "decision: deny");
            let _ = writeln!(out, "code: {}", d.reason.code());
            let _ = writeln!(out, "rule: {}", d.rule);
        }
    }
    out
}

#[cfg(test)]
mod tests;
