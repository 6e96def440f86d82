//! Property tests for `decide`: growing a policy never takes a grant away,
//! anything outside a role's items, purposes or subject types is refused, and
//! a fetched record is decided as the records route of its subject.

use std::collections::BTreeSet;

use policy::{decide, decide_fetched_record, Decision, Identity, Inquiry, Policy, Route, Settings};
use proptest::prelude::*;
use time::macros::datetime;

const ITEMS: [&str; 6] = ["i0", "i1", "i2", "i3", "i4", "i5"];
const PURPOSES: [&str; 4] = ["p0", "p1", "p2", "p3"];
const LEGAL: &str = "91430100MA4L0XXX1N";
const NATURAL: &str = "430102198506123011";

#[derive(Debug, Clone)]
struct RoleSpec {
    credit_service: bool,
    items: BTreeSet<usize>,
    purposes: BTreeSet<usize>,
    natural: bool,
    legal: bool,
}

fn role_spec() -> impl Strategy<Value = RoleSpec> {
    (
        any::<bool>(),
        prop::collection::btree_set(0..ITEMS.len(), 1..4),
        prop::collection::btree_set(0..PURPOSES.len(), 1..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(credit_service, items, purposes, natural, legal)| RoleSpec {
                credit_service,
                items,
                purposes,
                natural,
                legal: legal || !natural,
            },
        )
}

fn list<T: AsRef<str>>(v: impl IntoIterator<Item = T>) -> String {
    let parts: Vec<String> = v
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Render a policy with the given roles and one officer `O` holding `held` of them.
fn render(roles: &[RoleSpec], held: &[usize]) -> String {
    let mut t = String::new();
    for i in ITEMS {
        t.push_str(&format!("[items.{i}]\ncategory = \"basic\"\n"));
    }
    t.push_str("[purposes]\n");
    for p in PURPOSES {
        t.push_str(&format!("{p} = \"{p}\"\n"));
    }
    for (n, r) in roles.iter().enumerate() {
        let mut types = Vec::new();
        if r.natural {
            types.push("natural_person");
        }
        if r.legal {
            types.push("legal_person");
        }
        t.push_str(&format!(
            "[[roles]]\nname = \"r{n}\"\nkind = \"{}\"\nitems = {}\npurposes = {}\nsubject_types = {}\n",
            if r.credit_service { "credit_service" } else { "state_organ" },
            list(r.items.iter().map(|i| ITEMS[*i])),
            list(r.purposes.iter().map(|p| PURPOSES[*p])),
            list(types),
        ));
    }
    let held: Vec<String> = held.iter().map(|h| format!("r{h}")).collect();
    t.push_str(&format!(
        "[[officers]]\nid = \"O\"\nroles = {}\n",
        list(held)
    ));
    t
}

fn parse(text: &str) -> Policy {
    Policy::parse(text, "prop.toml", &Settings::default()).unwrap()
}

#[derive(Debug, Clone)]
struct Req {
    natural: bool,
    purpose: usize,
    items: Option<BTreeSet<usize>>,
    record_route: bool,
}

fn req() -> impl Strategy<Value = Req> {
    (
        any::<bool>(),
        0..PURPOSES.len(),
        prop::option::of(prop::collection::btree_set(0..ITEMS.len(), 1..3)),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(natural, purpose, items, record_route)| Req {
            natural,
            purpose,
            items,
            record_route,
        })
}

fn inquiry(r: &Req) -> Inquiry {
    let (subject_id, subject_type) = if r.natural {
        (NATURAL, policy::SubjectType::NaturalPerson)
    } else {
        (LEGAL, policy::SubjectType::LegalPerson)
    };
    let route = if r.record_route {
        Route::Record {
            record_id: "r-1".into(),
        }
    } else {
        Route::SubjectRecords {
            subject_id: subject_id.into(),
            subject_type,
            items: r
                .items
                .as_ref()
                .map(|s| s.iter().map(|i| ITEMS[*i].to_owned()).collect()),
        }
    };
    Inquiry {
        route,
        purpose: PURPOSES[r.purpose].into(),
        case: "c".into(),
        consent: None,
    }
}

fn officer() -> Identity {
    Identity {
        officer_id: "O".into(),
        name: String::new(),
        unit: String::new(),
        fingerprint: String::new(),
    }
}

/// Grow a role: add items, purposes and subject types.
fn grow(
    r: &RoleSpec,
    items: &BTreeSet<usize>,
    purposes: &BTreeSet<usize>,
    natural: bool,
    legal: bool,
) -> RoleSpec {
    RoleSpec {
        credit_service: r.credit_service,
        items: r.items.union(items).copied().collect(),
        purposes: r.purposes.union(purposes).copied().collect(),
        natural: r.natural || natural,
        legal: r.legal || legal,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn growing_policy_keeps_allowed_requests_allowed(
        roles in prop::collection::vec(role_spec(), 1..4),
        held_mask in prop::collection::vec(any::<bool>(), 4),
        extra_roles in prop::collection::vec(role_spec(), 0..3),
        add_items in prop::collection::btree_set(0..ITEMS.len(), 0..3),
        add_purposes in prop::collection::btree_set(0..PURPOSES.len(), 0..2),
        add_natural in any::<bool>(),
        add_legal in any::<bool>(),
        r in req(),
    ) {
        let now = datetime!(2026-11-22 00:00 UTC);
        let mut held: Vec<usize> = (0..roles.len()).filter(|i| held_mask[*i]).collect();
        if held.is_empty() { held.push(0); }
        let small = parse(&render(&roles, &held));
        let before = decide(&officer(), &inquiry(&r), &small, now);
        prop_assume!(matches!(before, Decision::Allow(_)));

        let mut bigger: Vec<RoleSpec> = roles
            .iter()
            .map(|x| grow(x, &add_items, &add_purposes, add_natural, add_legal))
            .collect();
        let first_extra = bigger.len();
        bigger.extend(extra_roles.iter().cloned());
        let mut held_big = held.clone();
        held_big.extend(first_extra..bigger.len());
        let big = parse(&render(&bigger, &held_big));
        let after = decide(&officer(), &inquiry(&r), &big, now);
        match (before, after) {
            (Decision::Allow(b), Decision::Allow(a)) => {
                prop_assert!(a.scope.items.is_superset(&b.scope.items));
                prop_assert!(a.scope.subject_types.is_superset(&b.scope.subject_types));
            }
            (_, after) => prop_assert!(false, "grown policy refused: {:?}", after),
        }
    }

    #[test]
    fn requests_outside_a_role_are_refused(role in role_spec(), r in req()) {
        let now = datetime!(2026-11-22 00:00 UTC);
        let p = parse(&render(std::slice::from_ref(&role), &[0]));
        let d = decide(&officer(), &inquiry(&r), &p, now);
        let type_ok = if r.natural { role.natural } else { role.legal };
        let items_ok = r.items.as_ref().is_none_or(|s| s.is_subset(&role.items));
        if !role.purposes.contains(&r.purpose) {
            prop_assert!(matches!(&d, Decision::Deny(x) if x.reason.code() == "purpose_not_granted"), "{:?}", d);
        } else if r.record_route {
            prop_assert!(matches!(d, Decision::Allow(_)));
        } else if !type_ok {
            prop_assert!(matches!(&d, Decision::Deny(x) if x.reason.code() == "subject_type_not_granted"), "{:?}", d);
        } else if !items_ok {
            prop_assert!(matches!(&d, Decision::Deny(x) if x.reason.code() == "item_not_granted"), "{:?}", d);
        } else if role.credit_service && r.natural {
            prop_assert!(matches!(&d, Decision::Deny(x) if x.reason.code() == "consent_required"), "{:?}", d);
        } else {
            match d {
                Decision::Allow(a) => {
                    // never more than the role's items
                    let role_items: BTreeSet<String> = role.items.iter().map(|i| ITEMS[*i].to_owned()).collect();
                    prop_assert!(a.scope.items.is_subset(&role_items));
                }
                other => prop_assert!(false, "refused: {:?}", other),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `decide_fetched_record` decides a fetched record exactly as the
    /// records route of the record's subject (same allow scope, same deny
    /// reason), whatever roles the officer holds.
    #[test]
    fn fetched_record_decides_as_the_records_route(
        roles in prop::collection::vec(role_spec(), 1..4),
        held_mask in prop::collection::vec(any::<bool>(), 4),
        natural in any::<bool>(),
        purpose in 0..PURPOSES.len(),
    ) {
        let now = datetime!(2026-11-22 00:00 UTC);
        let mut held: Vec<usize> = (0..roles.len()).filter(|i| held_mask[*i]).collect();
        if held.is_empty() { held.push(0); }
        let p = parse(&render(&roles, &held));
        let fetch = Req { natural, purpose, items: None, record_route: true };
        let as_records = Req { record_route: false, ..fetch.clone() };
        let subject = if natural { NATURAL } else { LEGAL };
        let got = decide_fetched_record(&officer(), &inquiry(&fetch), subject, &p, now);
        let want = decide(&officer(), &inquiry(&as_records), &p, now);
        match (got, want) {
            // Same scope, except that the record route's officer did not
            // ask for the subject (the detectors mask its id).
            (Decision::Allow(g), Decision::Allow(mut w)) => {
                prop_assert_eq!(g.scope.asked_subject.as_deref(), None);
                prop_assert_eq!(w.scope.asked_subject.as_deref(), Some(subject));
                w.scope.asked_subject = None;
                prop_assert_eq!(g, w)
            }
            (Decision::Deny(g), Decision::Deny(w)) => prop_assert_eq!(g.reason, w.reason),
            (g, w) => prop_assert!(false, "fetched {:?} vs records route {:?}", g, w),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The request parser is total: any input gives Ok or an error, never a
    /// panic, and what it accepts is well-formed.
    #[test]
    fn inquiry_parser_is_total(
        path in "(/v1/(subjects|records)/)?[ -~é王%./]{0,40}(/records)?",
        query in prop::option::of("[ -~]{0,30}"),
        purpose in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        case in prop::option::of(prop::collection::vec(any::<u8>(), 0..140)),
        consent in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    ) {
        let raw = policy::inquiry::RawRequest {
            path: &path,
            query: query.as_deref(),
            purpose: purpose.as_deref(),
            case: case.as_deref(),
            consent: consent.as_deref(),
        };
        if let Ok(i) = policy::inquiry::parse(&raw) {
            prop_assert!(!i.purpose.is_empty() && i.purpose.len() <= 64);
            prop_assert!(!i.case.is_empty() && i.case.chars().count() <= 128);
            match i.route {
                Route::Subject { subject_id, subject_type }
                | Route::SubjectRecords { subject_id, subject_type, .. } => {
                    prop_assert_eq!(policy::classify(&subject_id), Ok(subject_type));
                }
                Route::Record { record_id } => {
                    prop_assert!(!record_id.is_empty() && record_id != "." && record_id != "..");
                }
            }
        }
    }

    /// `classify` never panics and accepts only 18-character ids.
    #[test]
    fn classify_is_total(id in "[0-9A-Za-zé王]{0,20}") {
        if policy::classify(&id).is_ok() {
            prop_assert_eq!(id.len(), 18);
        }
    }
}
