//! Cost of one `decide` call under a large policy: 10 000 officers, 100 roles.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use policy::consent::{sign, ConsentPayload};
use policy::{decide, Decision, Identity, Inquiry, Policy, Route, Settings, SubjectType};
use time::macros::datetime;

const PK8: &[u8] = include_bytes!("../../conformance/keys/consent-authority.pk8");
const PUB: &[u8] = include_bytes!("../../conformance/keys/consent-authority.pub");

fn big_policy() -> Policy {
    let mut t = String::new();
    for i in 0..40 {
        t.push_str(&format!("[items.item{i}]\ncategory = \"basic\"\n"));
    }
    t.push_str("[purposes]\n");
    for p in 0..20 {
        t.push_str(&format!("purpose{p} = \"purpose {p}\"\n"));
    }
    for r in 0..100 {
        let items: Vec<String> = (0..10)
            .map(|k| format!("\"item{}\"", (r + k) % 40))
            .collect();
        let purposes: Vec<String> = (0..3)
            .map(|k| format!("\"purpose{}\"", (r + k) % 20))
            .collect();
        let kind = if r % 10 == 9 {
            "credit_service"
        } else {
            "state_organ"
        };
        t.push_str(&format!(
            "[[roles]]\nname = \"role{r}\"\nkind = \"{kind}\"\nitems = [{}]\npurposes = [{}]\nsubject_types = [\"legal_person\", \"natural_person\"]\nconsent_fields = true\nrate = \"100/minute\"\n",
            items.join(", "),
            purposes.join(", ")
        ));
    }
    for o in 0..10_000 {
        t.push_str(&format!(
            "[[officers]]\nid = \"OFF-{o:05}\"\nname = \"Officer {o}\"\nunit = \"Unit {}\"\nroles = [\"role{}\", \"role{}\"]\nvalid_from = \"2026-01-01\"\nvalid_until = \"2027-12-31\"\n",
            o % 50,
            o % 100,
            (o * 7 + 3) % 100
        ));
    }
    let settings = Settings {
        consent_public_key: Some(PUB.to_vec()),
        ..Settings::default()
    };
    match Policy::parse(&t, "bench.toml", &settings) {
        Ok(p) => p,
        Err(e) => panic!("bench policy invalid: {e}"),
    }
}

fn identity(id: &str) -> Identity {
    Identity {
        officer_id: id.into(),
        name: String::new(),
        unit: String::new(),
        fingerprint: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    let policy = big_policy();
    let now = datetime!(2026-11-22 00:00 UTC);
    // OFF-00001 holds role1 (purposes 1..=3) and role10.
    let allow = Inquiry {
        route: Route::SubjectRecords {
            subject_id: "91430100MA4L0XXX1N".into(),
            subject_type: SubjectType::LegalPerson,
            items: None,
        },
        purpose: "purpose2".into(),
        case: "C-1".into(),
        consent: None,
    };
    let who = identity("OFF-00001");
    assert!(matches!(
        decide(&who, &allow, &policy, now),
        Decision::Allow(_)
    ));
    c.bench_function("decide/allow_legal_person", |b| {
        b.iter(|| decide(black_box(&who), black_box(&allow), black_box(&policy), now))
    });

    let mut deny = allow.clone();
    deny.purpose = "purpose19".into();
    c.bench_function("decide/deny_purpose", |b| {
        b.iter(|| decide(black_box(&who), black_box(&deny), black_box(&policy), now))
    });

    // OFF-00009 holds role9 (credit_service): natural person with a consent token,
    // dominated by the Ed25519 verification.
    let token = sign(
        &ConsentPayload {
            subject: "430102198506123011".into(),
            grantee: "OFF-00009".into(),
            items: vec!["item9".into(), "item10".into()],
            fields: vec![],
            not_after: "2027-06-30T00:00:00Z".into(),
        },
        PK8,
    )
    .unwrap_or_default();
    let consent = Inquiry {
        route: Route::SubjectRecords {
            subject_id: "430102198506123011".into(),
            subject_type: SubjectType::NaturalPerson,
            items: None,
        },
        purpose: "purpose9".into(),
        case: "C-1".into(),
        consent: Some(token),
    };
    let cs = identity("OFF-00009");
    assert!(matches!(
        decide(&cs, &consent, &policy, now),
        Decision::Allow(_)
    ));
    c.bench_function("decide/allow_with_consent", |b| {
        b.iter(|| decide(black_box(&cs), black_box(&consent), black_box(&policy), now))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
