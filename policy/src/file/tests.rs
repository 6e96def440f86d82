//! Unit tests for `policy.toml` loading and validation.

use super::*;

const CONFORMANCE: &str = include_str!("../../../conformance/policy.toml");

fn errors(text: &str) -> Vec<Diagnostic> {
    match Policy::parse(text, "p.toml", &Settings::default()) {
        Ok(_) => panic!("policy unexpectedly valid"),
        Err(e) => e.0,
    }
}

/// Find the diagnostic whose message contains `needle`; return its line.
fn line_of(errs: &[Diagnostic], needle: &str) -> usize {
    errs.iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no error containing {needle:?} in {errs:#?}"))
        .line
}

const BASE: &str = r#"
[items.basic]
category = "basic"

[purposes]
p = "P"
"#;

#[test]
fn conformance_policy_loads() {
    let p = Policy::parse(CONFORMANCE, "policy.toml", &Settings::default()).unwrap();
    assert_eq!(p.officer_count(), 4);
    assert_eq!(p.purposes().len(), 5);
    assert_eq!(
        p.rate("market_inspector"),
        Some(Rate {
            count: 120,
            per: Duration::from_secs(60)
        })
    );
    assert_eq!(p.rate("auditor"), None);
    assert_eq!(p.rate("nobody"), None);
    let o = p.officer("HN-AMR-0001").unwrap();
    assert_eq!(o.unit, "Hunan Administration for Market Regulation");
    assert_eq!(o.valid_until, Some(time::macros::date!(2027 - 12 - 31)));
    let rules = p.rules();
    // Configured names are stored normalised (policy::keyname).
    assert!(rules.prohibited.contains("bloodtype"));
    assert!(rules.consent_required.contains("realestate"));
    assert_eq!(
        rules.mask.get("idnumber"),
        Some(&Mask {
            keep_start: 6,
            keep_end: 4
        })
    );
    assert_eq!(
        rules
            .items
            .get("court_enforcement")
            .unwrap()
            .inquiry_period_days,
        Some(1825)
    );
    assert_eq!(rules.record_fields, RecordFields::default());
    assert_eq!(rules.utc_offset_seconds, 8 * 3600);
    let cs = p.role("credit_rating_agency").unwrap();
    assert!(cs.consent_fields);
    assert_eq!(cs.kind, RoleKind::CreditService);
}

#[test]
fn field_names_are_lowercased() {
    let text = r#"
[fields]
prohibited = ["Religion"]
consent_required = ["INCOME"]
[fields.mask]
Phone = { keep_start = 3, keep_end = 2 }
"#;
    let p = Policy::parse(text, "p.toml", &Settings::default()).unwrap();
    assert!(p.rules().prohibited.contains("religion"));
    assert!(p.rules().consent_required.contains("income"));
    assert!(p.rules().mask.contains_key("phone"));
}

#[test]
fn record_fields_override_defaults() {
    let text = "[record_fields]\nrecords = \"entries\"\nitem = \"kind\"\n";
    let p = Policy::parse(text, "p.toml", &Settings::default()).unwrap();
    assert_eq!(p.rules().record_fields.records, "entries");
    assert_eq!(p.rules().record_fields.item, "kind");
    assert_eq!(p.rules().record_fields.decided_on, "decided_on");
    let e = errors("[record_fields]\nrecords = \"\"\n");
    assert_eq!(line_of(&e, "must not be empty"), 2);
    let e = errors("[record_fields]\nrecordz = \"x\"\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("recordz"), "{:?}", e[0]);
}

#[test]
fn unknown_key_is_reported_with_line() {
    let text =
        format!("{BASE}\n[[roles]]\nname = \"r\"\nkind = \"state_organ\"\ncolour = \"blue\"\n");
    let e = errors(&text);
    let unknown: Vec<_> = e
        .iter()
        .filter(|d| d.message.starts_with("unknown key"))
        .collect();
    assert_eq!(unknown.len(), 1, "{e:#?}");
    assert!(unknown[0].message.contains("colour"), "{}", unknown[0]);
    assert_eq!(unknown[0].file, "p.toml");
    assert_eq!(unknown[0].line, 11, "{}", unknown[0]);
    // and, in the same run, what is wrong with the role itself
    assert_eq!(line_of(&e, "data role `r` must list `items`"), 9);
}

#[test]
fn toml_syntax_error_has_line() {
    let e = errors("[items.basic]\ncategory = = 1\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 2);
    assert!(e[0].to_string().starts_with("p.toml:2:"));
}

#[test]
fn many_errors_reported_at_once() {
    let text = r#"[items.basic]
category = "basic"

[items.long_penalty]
category = "untrustworthy"
inquiry_period_days = 1200

[items.no_period]
category = "untrustworthy"

[items.weird]
category = "gossip"

[purposes]
p = "P"

[[roles]]
name = "r1"
kind = "state_organ"
items = ["basic", "nonexistent"]
purposes = ["p", "q"]
subject_types = ["legal_person", "robot"]
rate = "10/fortnight"

[[roles]]
name = "r1"
kind = "state_organ"
items = ["basic"]
purposes = ["p"]
subject_types = ["legal_person"]
beyond_inquiry_period = true

[[roles]]
name = "empty"
kind = "credit_service"

[[roles]]
name = "k"
kind = "wizard"

[[officers]]
id = "A"
roles = ["r1", "ghost"]
valid_from = "2027-01-01"
valid_until = "2026-01-01"

[[officers]]
id = "A"
roles = ["r1"]
valid_from = "2026-13-01"
"#;
    let e = errors(text);
    assert_eq!(line_of(&e, "exceeds 1095"), 6);
    assert_eq!(line_of(&e, "`no_period` needs `inquiry_period_days`"), 9);
    assert_eq!(line_of(&e, "unknown category `gossip`"), 12);
    assert_eq!(line_of(&e, "unknown item `nonexistent`"), 20);
    assert_eq!(line_of(&e, "unknown purpose `q`"), 21);
    assert_eq!(line_of(&e, "unknown subject type `robot`"), 22);
    assert_eq!(line_of(&e, "bad rate `10/fortnight`"), 23);
    assert_eq!(line_of(&e, "duplicate role name `r1`"), 26);
    assert_eq!(line_of(&e, "needs a `statutory_basis`"), 31);
    assert_eq!(line_of(&e, "data role `empty` must list `items`"), 34);
    assert_eq!(line_of(&e, "unknown kind `wizard`"), 39);
    assert_eq!(line_of(&e, "unknown role `ghost`"), 43);
    assert_eq!(line_of(&e, "is after `valid_until`"), 44);
    assert_eq!(line_of(&e, "duplicate officer id `A`"), 48);
    assert_eq!(line_of(&e, "`valid_from` must be a date"), 50);
    assert!(e.len() >= 15, "{e:#?}");
    // sorted in file order
    assert!(e.windows(2).all(|w| w[0].line <= w[1].line));
    // display: one per line, file:line:col
    let shown = PolicyErrors(e.clone()).to_string();
    assert_eq!(shown.lines().count(), e.len());
    assert!(shown.lines().all(|l| l.starts_with("p.toml:")));
}

#[test]
fn long_period_with_statutory_basis_is_fine() {
    let text = r#"
[items.court_enforcement]
category = "untrustworthy"
inquiry_period_days = 1825
statutory_basis = "Civil Procedure Law"
"#;
    assert!(Policy::parse(text, "p.toml", &Settings::default()).is_ok());
    let at_limit = "[items.x]\ncategory = \"untrustworthy\"\ninquiry_period_days = 1095\n";
    assert!(Policy::parse(at_limit, "p.toml", &Settings::default()).is_ok());
    let zero = "[items.x]\ncategory = \"untrustworthy\"\ninquiry_period_days = 0\n";
    assert_eq!(line_of(&errors(zero), "at least 1"), 3);
    let basic = "[items.x]\ncategory = \"basic\"\ninquiry_period_days = 10\n";
    assert_eq!(line_of(&errors(basic), "only untrustworthy"), 3);
}

#[test]
fn beyond_inquiry_period_with_basis() {
    let text = format!(
        "{BASE}\n[[roles]]\nname = \"r\"\nkind = \"state_organ\"\nitems = [\"basic\"]\npurposes = [\"p\"]\nsubject_types = [\"legal_person\"]\nbeyond_inquiry_period = true\nstatutory_basis = \"Law X\"\n"
    );
    let p = Policy::parse(&text, "p.toml", &Settings::default()).unwrap();
    assert_eq!(
        p.role("r").unwrap().beyond_inquiry_period.as_deref(),
        Some("Law X")
    );
}

#[test]
fn compliance_role_may_not_carry_grants() {
    let text =
        format!("{BASE}\n[[roles]]\nname = \"a\"\nkind = \"compliance\"\nitems = [\"basic\"]\n");
    let e = errors(&text);
    assert_eq!(
        line_of(&e, "compliance role `a` may not carry data grants"),
        10
    );
}

#[test]
fn empty_lists_and_duplicates() {
    let text = format!(
        "{BASE}\n[[roles]]\nname = \"r\"\nkind = \"state_organ\"\nitems = []\npurposes = [\"p\", \"p\"]\nsubject_types = [\"legal_person\"]\n\n[[officers]]\nid = \"o\"\nroles = []\n"
    );
    let e = errors(&text);
    assert_eq!(line_of(&e, "empty `items` list"), 9);
    assert_eq!(line_of(&e, "purpose `p` listed twice"), 12);
    assert_eq!(line_of(&e, "officer `o` has no roles"), 17);
}

#[test]
fn field_conflicts() {
    let text = "[fields]\nprohibited = [\"income\", \"Income\"]\nconsent_required = [\"income\"]\n";
    let e = errors(text);
    assert_eq!(line_of(&e, "listed twice in `fields.prohibited`"), 2);
    assert_eq!(line_of(&e, "both prohibited and consent_required"), 3);
    let neg = "[fields.mask]\nphone = { keep_start = -1, keep_end = 2 }\n";
    assert_eq!(line_of(&errors(neg), "must not be negative"), 2);
}

#[test]
fn rate_parsing() {
    let r = |s| Rate::parse(s);
    assert_eq!(
        r("120/minute"),
        Some(Rate {
            count: 120,
            per: Duration::from_secs(60)
        })
    );
    assert_eq!(
        r("1/second"),
        Some(Rate {
            count: 1,
            per: Duration::from_secs(1)
        })
    );
    assert_eq!(r("5/hour").map(|x| x.per), Some(Duration::from_secs(3600)));
    assert_eq!(r("7/day").map(|x| x.per), Some(Duration::from_secs(86_400)));
    for bad in [
        "0/minute",
        "-1/minute",
        "+1/minute",
        "/minute",
        "10",
        "10/",
        "10/minutes",
        "ten/minute",
        "1.5/second",
        "99999999999/day",
    ] {
        assert_eq!(r(bad), None, "{bad}");
    }
}

#[test]
fn officer_dates_accept_toml_dates_and_strings() {
    let text = format!(
        "{BASE}\n[[roles]]\nname = \"r\"\nkind = \"state_organ\"\nitems = [\"basic\"]\npurposes = [\"p\"]\nsubject_types = [\"legal_person\"]\n\n[[officers]]\nid = \"o\"\nroles = [\"r\"]\nvalid_from = 2026-01-01\nvalid_until = \"2026-12-31\"\n"
    );
    let p = Policy::parse(&text, "p.toml", &Settings::default()).unwrap();
    let o = p.officer("o").unwrap();
    assert_eq!(o.valid_from, Some(time::macros::date!(2026 - 01 - 01)));
    assert_eq!(o.valid_until, Some(time::macros::date!(2026 - 12 - 31)));
}

#[test]
fn bad_consent_key_is_reported() {
    let settings = Settings {
        consent_public_key: Some(b"garbage".to_vec()),
        ..Settings::default()
    };
    let e = Policy::parse("", "p.toml", &settings).unwrap_err();
    assert!(e.to_string().contains("consent authority key"));
}

#[test]
fn load_missing_file_names_it() {
    let e = Policy::load(
        Path::new("/nonexistent/dir/policy.toml"),
        &Settings::default(),
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].file, "/nonexistent/dir/policy.toml");
    assert!(e
        .to_string()
        .starts_with("/nonexistent/dir/policy.toml:1:1: cannot read"));
}

#[test]
fn every_unknown_key_is_reported() {
    let text = r#"colour = "red"
[items.basic]
category = "basic"
kategory = "x"

[fields]
prohibited = []
[fields.mask]
phone = { keep_start = 3, keep_end = 2, keep_middle = 1 }

[[roles]]
name = "r"
kind = "state_organ"
itemz = ["basic"]

[[officers]]
id = "o"
roles = ["r"]
valid_to = "2026-01-01"
"#;
    let e = errors(text);
    let unknown = e
        .iter()
        .filter(|d| d.message.starts_with("unknown key"))
        .count();
    assert_eq!(unknown, 5, "{e:#?}");
    assert_eq!(line_of(&e, "unknown key `colour`"), 1);
    assert_eq!(line_of(&e, "unknown key `kategory` in `items.basic`"), 4);
    assert_eq!(line_of(&e, "unknown key `keep_middle`"), 9);
    assert_eq!(line_of(&e, "unknown key `itemz`"), 14);
    assert_eq!(line_of(&e, "unknown key `valid_to`"), 19);
    assert_eq!(e[1].column, 1);
    // the role misses its grants (`itemz` is not `items`): said in the same run
    assert_eq!(line_of(&e, "data role `r` must list `items`"), 12);
}

#[test]
fn fuzz_truncated_inline_table_has_a_message() {
    // Found by the `policy_file` fuzz target: a file cut off after `key = `
    // inside an inline table must still explain itself.
    let text = "[rules]\nmask.phone = { keep_start = 3, keep_end = ";
    let errors = Policy::parse(text, "p.toml", &Settings::default()).unwrap_err();
    assert!(!errors.0.is_empty());
    for d in &errors.0 {
        assert!(!d.message.trim().is_empty(), "empty diagnostic: {d}");
        assert_eq!(
            (d.line, d.column),
            (2, 43),
            "diagnostic points at the cut: {d}"
        );
    }
}

#[test]
fn every_kind_of_error_in_one_run() {
    // unknown keys, mistyped values, missing keys and semantic errors together
    let text = r#"[items.basic]
category = "basic"
colour = "red"

[items.penalty]
category = "untrustworthy"
inquiry_period_days = "three years"

[purposes]
p = "P"
q = 7

[[roles]]
name = "r"
kind = "state_organ"
items = ["basic", "gossip", 3]
purposes = ["p"]
subject_types = ["legal_person"]
rate = 120
consent_fields = "yes"

[[roles]]
kind = "state_organ"

[[officers]]
id = "o"
roles = ["r", "ghost"]
valid_from = "2026-02-30"
valid_until = 20261231
badge = 7

[[officers]]
roles = ["r"]
"#;
    let e = errors(text);
    assert_eq!(line_of(&e, "unknown key `colour` in `items.basic`"), 3);
    assert_eq!(
        line_of(
            &e,
            "`inquiry_period_days` in `items.penalty` must be an integer, not a string"
        ),
        7
    );
    assert_eq!(line_of(&e, "`q` in `purposes` must be a string"), 11);
    assert_eq!(line_of(&e, "unknown item `gossip`"), 16);
    assert_eq!(line_of(&e, "each entry of `items`"), 16);
    assert_eq!(
        line_of(&e, "`rate` in a `[[roles]]` entry must be a string"),
        19
    );
    assert_eq!(
        line_of(
            &e,
            "`consent_fields` in a `[[roles]]` entry must be a boolean"
        ),
        20
    );
    assert_eq!(line_of(&e, "a `[[roles]]` entry needs `name`"), 22);
    assert_eq!(line_of(&e, "unknown role `ghost`"), 27);
    assert_eq!(line_of(&e, "`valid_from` must be a date"), 28);
    assert_eq!(line_of(&e, "`valid_until` must be a date"), 29);
    assert_eq!(line_of(&e, "unknown key `badge`"), 30);
    assert_eq!(line_of(&e, "an `[[officers]]` entry needs `id`"), 32);
    // the penalty item's period was mistyped, not missing: said once
    assert!(
        !e.iter()
            .any(|d| d.message.contains("needs `inquiry_period_days`")),
        "{e:#?}"
    );
    assert_eq!(e.len(), 13, "{e:#?}");
    assert!(e
        .windows(2)
        .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
    for d in &e {
        assert!(d.to_string().starts_with("p.toml:"), "{d}");
    }
}

#[test]
fn mistyped_lists_are_not_also_called_missing() {
    let text = format!(
        "{BASE}\n[[roles]]\nname = \"r\"\nkind = \"state_organ\"\nitems = \"basic\"\npurposes = [\"p\"]\nsubject_types = [\"legal_person\"]\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        line_of(
            &e,
            "`items` in a `[[roles]]` entry must be an array of strings, not a string"
        ),
        11
    );
}

#[test]
fn wrongly_shaped_tables_are_reported() {
    let e = errors(
        "items = 3
fields = \"x\"\nroles = {}\nofficers = [1]\n",
    );
    assert_eq!(
        line_of(&e, "`items` in the policy must be a table, not an integer"),
        1
    );
    assert_eq!(
        line_of(&e, "`fields` in the policy must be a table, not a string"),
        2
    );
    assert_eq!(
        line_of(&e, "`roles` in the policy must be an array of tables"),
        3
    );
    assert_eq!(line_of(&e, "each entry of `officers` must be a table"), 4);
}

const DUTIES: &str = r#"
[items.basic]
category = "basic"

[purposes]
p = "P"

[[roles]]
name = "inspector"
kind = "state_organ"
items = ["basic"]
purposes = ["p"]
subject_types = ["legal_person"]

[[roles]]
name = "rater"
kind = "credit_service"
items = ["basic"]
purposes = ["p"]
subject_types = ["legal_person"]

[[roles]]
name = "auditor"
kind = "compliance"

[[roles]]
name = "chief_auditor"
kind = "compliance"
"#;

#[test]
fn separation_of_duties() {
    // compliance + state_organ, compliance + credit_service: both refused
    let text = format!(
        "{DUTIES}\n[[officers]]\nid = \"a\"\nroles = [\"inspector\", \"auditor\"]\n\n[[officers]]\nid = \"b\"\nroles = [\"chief_auditor\", \"rater\"]\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(
        line_of(
            &e,
            "officer `a` holds compliance role `auditor` and data role `inspector`"
        ),
        32
    );
    assert_eq!(
        line_of(
            &e,
            "officer `b` holds compliance role `chief_auditor` and data role `rater`"
        ),
        36
    );
    assert!(e[0].message.contains("separation of duties"));
    assert_eq!(e[0].column, 9);

    // several roles of one side are fine
    let text = format!(
        "{DUTIES}\n[[officers]]\nid = \"a\"\nroles = [\"inspector\", \"rater\"]\n\n[[officers]]\nid = \"b\"\nroles = [\"auditor\", \"chief_auditor\"]\n"
    );
    let p = Policy::parse(&text, "p.toml", &Settings::default()).unwrap();
    assert_eq!(p.officer_count(), 2);
}

const ALERTS: &str = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 200
window = "1h"
action = "suspend"
suspend_for = "4h"

[[alerts]]
name = "probing"
kind = "refusals"
threshold = 20
window = "10m"

[[alerts]]
name = "night-work"
kind = "off_hours"
hours = "08:00-20:00"
days = "mon-fri"

[[alerts]]
name = "hotspot"
kind = "subject_units"
threshold = 5
window = "24h"
"#;

#[test]
fn the_specs_alert_rules_load() {
    use crate::alerts::{AlertAction, AlertKind};
    let p = Policy::parse(
        &format!("{CONFORMANCE}{ALERTS}"),
        "p.toml",
        &Settings::default(),
    )
    .unwrap();
    let a = p.alerts();
    assert_eq!(a.len(), 4);
    assert_eq!(a[0].name, "bulk-lookup");
    assert_eq!(a[0].kind, AlertKind::DistinctSubjects);
    assert_eq!(a[0].threshold, 200);
    assert_eq!(a[0].window, Duration::from_secs(3600));
    assert_eq!(
        a[0].action,
        AlertAction::Suspend(Duration::from_secs(4 * 3600))
    );
    assert_eq!(a[1].action, AlertAction::Alert);
    assert_eq!(a[1].window, Duration::from_secs(600));
    // off_hours: every inquiry outside the working time fires.
    assert_eq!(a[2].kind, AlertKind::OffHours);
    assert_eq!(a[2].threshold, 1);
    let w = a[2].working.unwrap();
    assert_eq!((w.start_min, w.end_min), (480, 1200));
    assert_eq!(w.days, [true, true, true, true, true, false, false]);
    assert_eq!(a[3].kind, AlertKind::SubjectUnits);
    // No `[[alerts]]`: none.
    assert!(Policy::parse(CONFORMANCE, "p.toml", &Settings::default())
        .unwrap()
        .alerts()
        .is_empty());
}

/// The SPEC's `[[alerts]]` example, verbatim (comments included): its
/// first rule writes `suspend_for` beside `action = "alert"`, which loads
/// as an alert (the duration has no effect without `action = "suspend"`).
const SPEC_ALERTS: &str = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"   # per officer: distinct subjects within window
threshold = 200
window = "1h"
action = "alert"             # or "suspend"
suspend_for = "4h"           # with action = "suspend"

[[alerts]]
name = "probing"
kind = "refusals"            # per officer: refused inquiries within window
threshold = 20
window = "10m"

[[alerts]]
name = "night-work"
kind = "off_hours"           # any inquiry outside these hours (platform time zone)
hours = "08:00-20:00"
days = "mon-fri"

[[alerts]]
name = "hotspot"
kind = "subject_units"       # per subject: distinct units within window
threshold = 5
window = "24h"
"#;

#[test]
fn the_specs_alert_example_loads_verbatim() {
    use crate::alerts::AlertAction;
    let p = Policy::parse(
        &format!("{CONFORMANCE}{SPEC_ALERTS}"),
        "p.toml",
        &Settings::default(),
    )
    .unwrap();
    let a = p.alerts();
    assert_eq!(a.len(), 4);
    assert_eq!(a[0].action, AlertAction::Alert);
    assert_eq!(a[0].threshold, 200);
    // Windows keep the policy's spelling for listings: `24h`, not `1d`.
    assert_eq!(a[3].window_text, "24h");
    assert_eq!(a[3].window, Duration::from_secs(86_400));
}

#[test]
fn bad_alert_rules_are_reported_with_their_lines() {
    let text = format!(
        "{BASE}
[[alerts]]
name = \"a\"
kind = \"gossip\"

[[alerts]]
name = \"b\"
kind = \"refusals\"
window = \"10m\"

[[alerts]]
name = \"c\"
kind = \"refusals\"
threshold = 0
window = \"10 minutes\"

[[alerts]]
name = \"d\"
kind = \"distinct_subjects\"
threshold = 5
window = \"1h\"
action = \"suspend\"

[[alerts]]
name = \"e\"
kind = \"off_hours\"
hours = \"8-20\"
days = \"weekdays\"

[[alerts]]
name = \"e\"
kind = \"subject_units\"
threshold = 5
window = \"24h\"
action = \"suspend\"
suspend_for = \"4h\"
hours = \"08:00-20:00\"

[[alerts]]
name = \"Bad Name\"
kind = \"refusals\"
threshold = \"many\"
window = \"60d\"
colour = \"red\"
action = \"ban\"
"
    );
    let e = errors(&text);
    assert_eq!(line_of(&e, "alert `a`: unknown kind `gossip`"), 10);
    assert_eq!(
        line_of(&e, "alert `b`: kind `refusals` needs a `threshold`"),
        14
    );
    assert_eq!(line_of(&e, "alert `c`: `threshold` must be"), 20);
    assert_eq!(line_of(&e, "alert `c`: bad `window` `10 minutes`"), 21);
    assert_eq!(
        line_of(&e, "alert `d`: `action = \"suspend\"` needs `suspend_for`"),
        28
    );
    assert_eq!(line_of(&e, "alert `e`: bad `hours` `8-20`"), 33);
    assert_eq!(line_of(&e, "alert `e`: bad `days` `weekdays`"), 34);
    assert_eq!(line_of(&e, "duplicate alert name `e`"), 37);
    assert_eq!(line_of(&e, "cannot suspend an officer"), 41);
    assert_eq!(
        line_of(&e, "`hours` is only meaningful with kind `off_hours`"),
        43
    );
    assert_eq!(line_of(&e, "alert name `Bad Name` must be"), 46);
    assert_eq!(
        line_of(
            &e,
            "`threshold` in an `[[alerts]]` entry must be an integer"
        ),
        48
    );
    assert_eq!(line_of(&e, "`window` = `60d` is longer than 30d"), 49);
    assert_eq!(line_of(&e, "unknown key `colour`"), 50);
    assert_eq!(line_of(&e, "unknown action `ban`"), 51);
    // `suspend_for` beside `action = "alert"` has no effect, but must
    // still be a duration.
    let e = errors(&format!(
        "{BASE}\n[[alerts]]\nname = \"x\"\nkind = \"refusals\"\nthreshold = 1\nwindow = \"1h\"\naction = \"alert\"\nsuspend_for = \"soon\"\n"
    ));
    assert_eq!(line_of(&e, "suspend_for"), 14);
    let e = errors(&format!("{BASE}\n[[alerts]]\nkind = \"refusals\"\n"));
    assert_eq!(line_of(&e, "an `[[alerts]]` entry needs `name`"), 8);
    // An unknown kind hides no other error of the entry; nor does `hours`
    // on another kind hide that its value could not be hours.
    let e = errors(&format!(
        "{BASE}\n[[alerts]]\nname = \"u\"\nkind = \"gossip\"\nthreshold = 0\nwindow = \"1y\"\nsuspend_for = \"never\"\nhours = \"25:00-26:00\"\ndays = \"someday\"\naction = \"ban\"\n\n[[alerts]]\nname = \"v\"\nkind = \"refusals\"\nthreshold = 3\nwindow = \"1h\"\nhours = \"25:00-26:00\"\n"
    ));
    assert_eq!(line_of(&e, "alert `u`: unknown kind `gossip`"), 10);
    assert_eq!(line_of(&e, "alert `u`: `threshold` must be"), 11);
    assert_eq!(line_of(&e, "alert `u`: bad `window` `1y`"), 12);
    assert_eq!(line_of(&e, "alert `u`: bad `suspend_for` `never`"), 13);
    assert_eq!(line_of(&e, "alert `u`: bad `hours` `25:00-26:00`"), 14);
    assert_eq!(line_of(&e, "alert `u`: bad `days` `someday`"), 15);
    assert_eq!(line_of(&e, "alert `u`: unknown action `ban`"), 16);
    assert_eq!(
        line_of(
            &e,
            "alert `v`: `hours` is only meaningful with kind `off_hours`"
        ),
        23
    );
    assert_eq!(line_of(&e, "alert `v`: bad `hours` `25:00-26:00`"), 23);
}

/// Every table the reader reads names its unknown keys, at the key, with
/// the table as the messages name it; keys every table knows but the
/// reader keeps no value of (`name`, `description`) are not unknown.
#[test]
fn unknown_keys_of_every_table() {
    let text = r#"[items.basic]
category = "basic"
name = "Basic"
description = "Registration data"

[purposes]
p = "P"

[fields]
prohibited = []
forbidden = []

[[alerts]]
name = "a"
kind = "volume"
threshold = 5
window = "1h"
description = "many"
treshold = 6

[record_fields]
records = "records"
item_code = "x"
"#;
    let e = errors(text);
    let unknown: Vec<&str> = e
        .iter()
        .filter(|d| d.message.starts_with("unknown key"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(unknown.len(), 3, "{e:#?}");
    assert_eq!(line_of(&e, "unknown key `forbidden` in `fields`"), 11);
    assert_eq!(
        line_of(&e, "unknown key `treshold` in an `[[alerts]]` entry"),
        19
    );
    assert_eq!(
        line_of(&e, "unknown key `item_code` in `record_fields`"),
        23
    );
}
