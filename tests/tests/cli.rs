//! The operator commands end to end: the real `credgate` binary (as
//! `credgate-under-test`) run as a process — certs, consent, policy check and
//! explain, audit verify / query / export / subject-report — and its exit
//! codes and one-line errors on bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// A legal person (GB 32100) the test log is about.
const LEGAL: &str = "91430100MA4L0XXX1N";
/// Another legal person.
const OTHER_LEGAL: &str = "91110000100000000R";
/// A natural person (GB 11643).
const NATURAL: &str = "430102198506123011";

/// A policy whose officers are valid for decades, so the tests do not age.
const POLICY: &str = r#"[items.basic]
category = "basic"

[items.administrative_penalty]
category = "untrustworthy"
inquiry_period_days = 1095

[items.commendation]
category = "positive"

[purposes]
administrative_inspection = "Administrative inspection and spot checks"
recruitment = "Recruitment and promotion of public employees"
credit_service = "Credit service with the subject's consent"

[fields]
prohibited = ["religion", "medical_history"]
consent_required = ["income", "tax_paid"]

[fields.mask]
id_number = { keep_start = 6, keep_end = 4 }

[[roles]]
name = "market_inspector"
kind = "state_organ"
items = ["basic", "administrative_penalty"]
purposes = ["administrative_inspection"]
subject_types = ["legal_person"]
rate = "120/minute"

[[roles]]
name = "credit_rating_agency"
kind = "credit_service"
items = ["basic", "commendation"]
purposes = ["credit_service"]
subject_types = ["natural_person", "legal_person"]
consent_fields = true
rate = "30/minute"

[[roles]]
name = "auditor"
kind = "compliance"

[[officers]]
id = "HN-AMR-0001"
name = "Li Na"
unit = "Hunan Administration for Market Regulation"
roles = ["market_inspector"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"

[[officers]]
id = "CS-RATE-0007"
name = "Chen Jing"
unit = "Xiangjiang Credit Rating Co., Ltd."
roles = ["credit_rating_agency"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"

[[officers]]
id = "AU-0001"
name = "Wu Min"
unit = "Hunan Credit Information Center"
roles = ["auditor"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"
"#;

/// What one run of the binary produced.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn credgate(args: &[&str]) -> Run {
    credgate_pins(args, &shared_pins())
}

/// The pin file (`gateway::trusted_keys`) the commands of this binary's
/// tests share, so that none writes into the home of whoever runs them.
fn shared_pins() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
        .join("trusted-audit-keys")
}

/// `credgate args...` with `pins` as the file of pinned audit keys.
fn credgate_pins(args: &[&str], pins: &Path) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("CREDGATE_TRUSTED_KEYS", pins)
        .output()
        .expect("run credgate-under-test");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[track_caller]
fn assert_ok(run: &Run) {
    assert_eq!(run.code, Some(0), "{}", run.describe());
}

/// Non-zero exit, exactly one line on stderr, no panic or backtrace.
#[track_caller]
fn assert_clean_failure(run: &Run) {
    assert!(
        matches!(run.code, Some(c) if c != 0),
        "expected failure: {}",
        run.describe()
    );
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "want one stderr line: {}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    assert!(
        !run.stderr.contains("stack backtrace"),
        "{}",
        run.describe()
    );
}

/// A clean failure with exit `code` whose one stderr line is a
/// `credgate: error: …` line.
#[track_caller]
fn assert_error_line(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{}", run.describe());
    assert_clean_failure(run);
    assert!(
        run.stderr.starts_with("credgate: error: "),
        "{}",
        run.describe()
    );
}

/// `certs init` into `dir/pki`.
fn init_pki(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    let run = credgate(&["certs", "init", "--dir", p(&pki)]);
    assert_ok(&run);
    pki
}

/// Write `policy.toml` and `gateway.toml` (store `audit.db` beside them).
fn write_config(dir: &Path, pki: &Path, policy: &str) -> PathBuf {
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
cert = "{pki}/server.pem"
key = "{pki}/server.key"
client_ca = "{pki}/ca.pem"
crl = ["{pki}/ca.crl"]

[admin]
listen = "127.0.0.1:0"

[upstream]
url = "http://127.0.0.1:9"

[audit]
store = "sqlite://audit.db"
signing_key = "{pki}/audit-signing.pk8"
checkpoint_every = 2

[consent]
authority_key = "{pki}/consent-authority.pub"
max_days = 365

[policy]
file = "policy.toml"
"#,
        pki = p(pki)
    );
    let path = dir.join("gateway.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A temp folder with a PKI and a valid config.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let pki = init_pki(tmp.path());
    let config = write_config(tmp.path(), &pki, POLICY);
    (tmp, pki, config)
}

// ------------------------------------------------------------------ certs

#[test]
fn certs_init_issue_revoke_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    let run = credgate(&["certs", "init", "--dir", p(&pki)]);
    assert_ok(&run);
    for name in [
        "ca.pem",
        "ca.key",
        "server.pem",
        "server.key",
        "ca.crl",
        "audit-signing.pk8",
        "consent-authority.pk8",
        "consent-authority.pub",
    ] {
        assert!(pki.join(name).is_file(), "{name} missing");
        assert!(
            run.stdout.contains(name),
            "{name} not reported: {}",
            run.describe()
        );
    }
    // The sample policy beside it: valid, with the Chinese names beside
    // the English ones for prohibited, consent-only and masked fields.
    assert!(run.stdout.contains("policy.toml"), "{}", run.describe());
    let sample = std::fs::read_to_string(pki.join("policy.toml")).unwrap();
    for name in [
        "宗教信仰",
        "病史",
        "血型",
        "指纹",
        "基因",
        "收入",
        "存款",
        "房产",
        "纳税",
        "身份证号",
        "手机号码",
        "religion",
        "medical_history",
        "income",
        "id_number",
        "phone",
    ] {
        assert!(
            sample.contains(name),
            "{name} missing from the sample policy"
        );
    }
    policy::Policy::parse(&sample, "policy.toml", &policy::Settings::default())
        .expect("the sample policy loads");
    // A policy.toml already there is kept as it is.
    let other = tmp.path().join("other-pki");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("policy.toml"), "# mine\n").unwrap();
    let run = credgate(&["certs", "init", "--dir", p(&other)]);
    assert_ok(&run);
    assert!(run.stdout.contains("kept"), "{}", run.describe());
    assert_eq!(
        std::fs::read_to_string(other.join("policy.toml")).unwrap(),
        "# mine\n"
    );

    let prefix = tmp.path().join("li-na");
    let run = credgate(&[
        "certs",
        "issue",
        "--dir",
        p(&pki),
        "--officer-id",
        "HN-AMR-0001",
        "--name",
        "Li Na",
        "--unit",
        "Hunan AMR",
        "--days",
        "30",
        "--out",
        p(&prefix),
    ]);
    assert_ok(&run);
    for ext in ["pem", "key", "p12"] {
        let file = tmp.path().join(format!("li-na.{ext}"));
        assert!(file.is_file(), "{ext} missing");
        assert!(
            run.stdout.contains(p(&file)),
            "{ext} not reported: {}",
            run.describe()
        );
    }
    let cert = tmp.path().join("li-na.pem");

    // the certificate chains to the CA and names the officer
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile", p(&pki.join("ca.pem")), p(&cert)])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let serial = Command::new("openssl")
        .args(["x509", "-in", p(&cert), "-noout", "-serial"])
        .output()
        .unwrap();
    let serial = String::from_utf8(serial.stdout).unwrap();
    let serial = serial.trim().trim_start_matches("serial=").to_uppercase();
    assert!(!serial.is_empty());

    let crl_text = || {
        let out = Command::new("openssl")
            .args(["crl", "-in", p(&pki.join("ca.crl")), "-noout", "-text"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().to_uppercase()
    };
    assert!(
        !crl_text().contains(&serial),
        "fresh CRL already lists the cert"
    );

    let run = credgate(&["certs", "revoke", "--dir", p(&pki), "--cert", p(&cert)]);
    assert_ok(&run);
    assert!(run.stdout.contains("ca.crl"), "{}", run.describe());
    assert!(
        crl_text().contains(&serial),
        "revoked serial {serial} not in CRL"
    );
}

// ---------------------------------------------------------------- consent

#[test]
fn consent_token_verifies_with_the_written_public_key() {
    let (_tmp, pki, _config) = setup();
    let run = credgate(&[
        "consent",
        "issue",
        "--dir",
        p(&pki),
        "--subject",
        NATURAL,
        "--grantee",
        "CS-RATE-0007",
        "--items",
        "basic,commendation",
        "--fields",
        "income",
        "--days",
        "7",
    ]);
    assert_ok(&run);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "token alone on stdout: {}", run.describe());
    let token = lines[0];

    let public = std::fs::read(pki.join("consent-authority.pub")).unwrap();
    let verified = policy::consent::verify(token, &public).expect("token verifies");
    assert_eq!(verified.payload.subject, NATURAL);
    assert_eq!(verified.payload.grantee, "CS-RATE-0007");
    assert_eq!(verified.payload.items, vec!["basic", "commendation"]);
    assert_eq!(verified.payload.fields, vec!["income"]);
    let ahead = verified.not_after - time::OffsetDateTime::now_utc();
    assert!(
        ahead > time::Duration::days(7) - time::Duration::minutes(5)
            && ahead <= time::Duration::days(7),
        "not_after {} is not 7 days ahead",
        verified.payload.not_after
    );

    // a different key does not verify it
    let other = tempfile::tempdir().unwrap();
    let other_pki = init_pki(other.path());
    let other_public = std::fs::read(other_pki.join("consent-authority.pub")).unwrap();
    assert!(policy::consent::verify(token, &other_public).is_err());
}

// ----------------------------------------------------------------- policy

#[test]
fn policy_check_accepts_a_good_config() {
    let (_tmp, _pki, config) = setup();
    let run = credgate(&["policy", "check", "--config", p(&config)]);
    assert_ok(&run);
    assert!(run.stdout.contains("3 officers"), "{}", run.describe());
    assert!(run.stdout.contains("3 roles"), "{}", run.describe());
    assert!(run.stdout.contains("3 items"), "{}", run.describe());
}

#[test]
fn policy_check_prints_every_error_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = init_pki(tmp.path());
    let broken = POLICY
        .replace("inquiry_period_days = 1095", "inquiry_period_days = 2000")
        .replace("rate = \"120/minute\"", "rate = \"12/fortnight\"")
        .replacen("roles = [\"auditor\"]", "roles = [\"no_such_role\"]", 1);
    let line_of = |needle: &str| {
        broken
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    let config = write_config(tmp.path(), &pki, &broken);
    let run = credgate(&["policy", "check", "--config", p(&config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(!run.stderr.contains("panicked"));
    for (needle, keyword) in [
        ("inquiry_period_days = 2000", "1095"),
        ("12/fortnight", "12/fortnight"),
        ("no_such_role", "no_such_role"),
    ] {
        let want = format!("policy.toml:{}:", line_of(needle));
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(&want) && l.contains(keyword)),
            "no `{want}` line about `{keyword}`: {}",
            run.describe()
        );
    }
}

#[test]
fn policy_check_reports_unknown_keys_and_semantic_errors_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = init_pki(tmp.path());
    let broken = POLICY
        .replacen(
            "roles = [\"auditor\"]",
            "roles = [\"auditor\", \"market_inspector\"]\nbadge = 7",
            1,
        )
        .replace("rate = \"120/minute\"", "rate = 120\ncolour = \"blue\"");
    let config = write_config(tmp.path(), &pki, &broken);
    let run = credgate(&["policy", "check", "--config", p(&config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let lines: Vec<&str> = run.stderr.lines().collect();
    for keyword in ["`badge`", "`colour`", "`rate`", "separation of duties"] {
        assert!(
            lines.iter().any(|l| l.starts_with("credgate: error: ")
                && l.contains("policy.toml:")
                && l.contains(keyword)),
            "no error about {keyword}: {}",
            run.describe()
        );
    }
    assert_eq!(
        lines.last().copied(),
        Some("credgate: 4 error(s)"),
        "{}",
        run.describe()
    );
}

#[test]
fn policy_check_reports_config_and_policy_errors_together() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = init_pki(tmp.path());
    let broken = POLICY.replace("rate = \"30/minute\"", "rate = \"often\"");
    let config = write_config(tmp.path(), &pki, &broken);
    // break the config too: its server certificate is gone
    std::fs::remove_file(pki.join("server.pem")).unwrap();
    let run = credgate(&["policy", "check", "--config", p(&config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.lines().any(|l| l.contains("server.pem")),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("policy.toml:") && l.contains("often")),
        "{}",
        run.describe()
    );
}

#[test]
fn policy_check_reports_every_error_of_gateway_toml_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = init_pki(tmp.path());
    let config = write_config(tmp.path(), &pki, POLICY);
    // Two values of the wrong type in two tables, an unknown key and a
    // file that does not exist: serde's first error hides none of them.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("checkpoint_every = 2", "checkpoint_every = \"x\"")
        .replace("max_days = 365", "max_days = \"a year\"")
        .replace("[admin]", "[admin]\nlisen = \"127.0.0.1:0\"")
        .replace("server.key\"", "missing.key\"");
    std::fs::write(&config, &text).unwrap();
    let line_of = |prefix: &str| text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1;
    let run = credgate(&["policy", "check", "--config", p(&config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = |prefix: &str| format!("credgate: error: {}:{}:", p(&config), line_of(prefix));
    let want = [
        (at("key = "), "missing.key"),
        (at("lisen"), "unknown key `lisen` in [admin]"),
        (
            at("checkpoint_every"),
            "invalid type: string \"x\", expected i64",
        ),
        (
            at("max_days"),
            "invalid type: string \"a year\", expected i64",
        ),
    ];
    assert_eq!(lines.len(), want.len() + 1, "{}", run.describe());
    for ((prefix, message), line) in want.iter().zip(&lines) {
        assert!(
            line.starts_with(prefix.as_str()) && line.contains(message),
            "`{line}` is not `{prefix}…{message}`: {}",
            run.describe()
        );
    }
    assert_eq!(
        lines.last().copied(),
        Some("credgate: 4 error(s)"),
        "{}",
        run.describe()
    );
}

#[test]
fn policy_explain_allow_and_deny() {
    let (_tmp, _pki, config) = setup();
    let path = format!("/v1/subjects/{LEGAL}/records?items=basic");
    let allow = credgate(&[
        "policy",
        "explain",
        "--config",
        p(&config),
        "--officer",
        "HN-AMR-0001",
        "--purpose",
        "administrative_inspection",
        "--path",
        &path,
    ]);
    assert_ok(&allow);
    assert!(
        allow.stdout.to_lowercase().contains("allow"),
        "{}",
        allow.describe()
    );
    assert!(
        allow.stdout.contains("market_inspector"),
        "{}",
        allow.describe()
    );

    let deny = credgate(&[
        "policy",
        "explain",
        "--config",
        p(&config),
        "--officer",
        "HN-AMR-0001",
        "--purpose",
        "recruitment",
        "--path",
        &path,
    ]);
    // A decision printed, allow or deny, is the command doing its job.
    assert_eq!(deny.code, Some(0), "{}", deny.describe());
    assert!(
        deny.stdout.contains("decision: deny"),
        "{}",
        deny.describe()
    );
    assert!(
        deny.stdout.contains("purpose_not_granted"),
        "{}",
        deny.describe()
    );

    let malformed = credgate(&[
        "policy",
        "explain",
        "--config",
        p(&config),
        "--officer",
        "HN-AMR-0001",
        "--purpose",
        "administrative_inspection",
        "--path",
        "/v1/subjects/91430100MA4L0XXX1A",
    ]);
    assert_eq!(malformed.code, Some(1), "{}", malformed.describe());
    assert!(
        malformed.stdout.contains("invalid_request"),
        "{}",
        malformed.describe()
    );
}

#[test]
fn policy_explain_with_a_consent_token_from_consent_issue() {
    let (_tmp, pki, config) = setup();
    let path = format!("/v1/subjects/{NATURAL}/records");
    let explain = |consent: Option<&str>| {
        let mut args = vec![
            "policy",
            "explain",
            "--config",
            p(&config),
            "--officer",
            "CS-RATE-0007",
            "--purpose",
            "credit_service",
            "--path",
            &path,
        ];
        if let Some(token) = consent {
            args.extend_from_slice(&["--consent", token]);
        }
        credgate(&args)
    };
    let without = explain(None);
    assert_eq!(without.code, Some(0), "{}", without.describe());
    assert!(
        without.stdout.contains("consent_required"),
        "{}",
        without.describe()
    );

    let issue = |grantee: &str| {
        let run = credgate(&[
            "consent",
            "issue",
            "--dir",
            p(&pki),
            "--subject",
            NATURAL,
            "--grantee",
            grantee,
            "--items",
            "commendation",
            "--fields",
            "income",
            "--days",
            "30",
        ]);
        assert_ok(&run);
        run.stdout.trim().to_string()
    };
    let token = issue("CS-RATE-0007");
    let with = explain(Some(&token));
    assert_ok(&with);
    assert!(
        with.stdout.contains("items: commendation"),
        "{}",
        with.describe()
    );
    assert!(with.stdout.contains("income"), "{}", with.describe());
    assert!(
        !with.stdout.contains(&token),
        "the token itself is never echoed"
    );

    let misaddressed = explain(Some(&issue("SOMEONE-ELSE")));
    assert_eq!(misaddressed.code, Some(0), "{}", misaddressed.describe());
    assert!(
        misaddressed.stdout.contains("consent_invalid"),
        "{}",
        misaddressed.describe()
    );
}

// -------------------------------------------------------------- bad input

#[test]
fn bad_input_gives_one_line_and_no_panic() {
    let (tmp, pki, config) = setup();
    let missing = tmp.path().join("missing");
    let garbage = tmp.path().join("garbage.toml");
    std::fs::write(&garbage, "this is [not toml\n\u{0}\u{1}").unwrap();
    let out = tmp.path().join("x");
    let path = format!("/v1/subjects/{LEGAL}");

    // Each case with its exit code: 1 the input is wrong, 2 a file or store
    // that is not there (SPEC "Messages that say what is wrong"); `audit
    // verify` has its own codes (2: could not run).
    let cases: Vec<(i32, Vec<&str>)> = vec![
        (
            2,
            vec![
                "certs",
                "issue",
                "--dir",
                p(&missing),
                "--officer-id",
                "A",
                "--name",
                "B",
                "--unit",
                "C",
                "--out",
                p(&out),
            ],
        ),
        (1, vec!["certs", "init", "--dir", p(&pki)]),
        (
            2,
            vec!["certs", "revoke", "--dir", p(&pki), "--cert", p(&missing)],
        ),
        (
            2,
            vec![
                "certs",
                "revoke",
                "--dir",
                p(&missing),
                "--cert",
                p(&config),
            ],
        ),
        (
            2,
            vec![
                "consent",
                "issue",
                "--dir",
                p(&missing),
                "--subject",
                LEGAL,
                "--grantee",
                "X",
                "--items",
                "basic",
            ],
        ),
        (
            1,
            vec![
                "consent",
                "issue",
                "--dir",
                p(&pki),
                "--subject",
                "not-an-id",
                "--grantee",
                "X",
                "--items",
                "basic",
            ],
        ),
        (
            1,
            vec![
                "consent",
                "issue",
                "--dir",
                p(&pki),
                "--subject",
                LEGAL,
                "--grantee",
                "X",
                "--items",
                "basic",
                "--days",
                "0",
            ],
        ),
        // a deny: exit 1, one note on stderr
        (
            1,
            vec![
                "policy",
                "explain",
                "--config",
                p(&config),
                "--officer",
                "NOBODY",
                "--purpose",
                "administrative_inspection",
                "--path",
                &path,
            ],
        ),
        (1, vec!["policy", "check", "--config", p(&garbage)]),
        (2, vec!["policy", "check", "--config", p(&missing)]),
        (
            2,
            vec![
                "policy",
                "explain",
                "--config",
                p(&missing),
                "--officer",
                "HN-AMR-0001",
                "--purpose",
                "administrative_inspection",
                "--path",
                &path,
            ],
        ),
        (
            1,
            vec![
                "policy",
                "explain",
                "--config",
                p(&garbage),
                "--officer",
                "HN-AMR-0001",
                "--purpose",
                "administrative_inspection",
                "--path",
                &path,
            ],
        ),
        (2, vec!["audit", "verify", "--config", p(&missing)]),
        (2, vec!["audit", "verify", "--config", p(&garbage)]),
        (2, vec!["audit", "verify", "--export", p(&missing)]),
        (
            1,
            vec![
                "audit",
                "query",
                "--config",
                p(&config),
                "--from",
                "yesterday",
            ],
        ),
        (
            1,
            vec![
                "audit",
                "query",
                "--config",
                p(&config),
                "--decision",
                "maybe",
            ],
        ),
        (
            1,
            vec![
                "audit",
                "subject-report",
                "--config",
                p(&config),
                "--subject",
                "123",
            ],
        ),
        (
            2,
            vec!["audit", "export", "--config", p(&missing), "--out", p(&out)],
        ),
        (1, vec!["audit", "query", "--config", p(&garbage)]),
        (2, vec!["audit", "query", "--config", p(&missing)]),
    ];
    for (code, args) in cases {
        let run = credgate(&args);
        eprintln!("credgate {}", args.join(" "));
        assert_clean_failure(&run);
        assert_eq!(
            run.code,
            Some(code),
            "credgate {}: {}",
            args.join(" "),
            run.describe()
        );
    }
}

// ---------------------------------------------- invalid input exits 1 (SPEC)

/// A subject id of the right length whose check character is wrong.
const BAD_CHECK: &str = "91430100MA4L0XXX1M";

/// `command` with the options `base`, each replaced by the one of the
/// same name in `changed` if there is one, then the rest of `changed`.
fn with_options<'a>(
    command: &[&'a str],
    base: &[(&'a str, &'a str)],
    changed: &[(&'a str, &'a str)],
) -> Vec<&'a str> {
    let mut args = command.to_vec();
    for (name, value) in base {
        let value = changed
            .iter()
            .find(|(n, _)| n == name)
            .map_or(*value, |(_, v)| *v);
        args.extend_from_slice(&[name, value]);
    }
    for (name, value) in changed {
        if !base.iter().any(|(n, _)| n == name) {
            args.extend_from_slice(&[name, value]);
        }
    }
    args
}

/// A valid `consent issue` command line with some options `changed`.
fn consent_args<'a>(pki: &'a str, changed: &[(&'a str, &'a str)]) -> Vec<&'a str> {
    with_options(
        &["consent", "issue"],
        &[
            ("--dir", pki),
            ("--subject", LEGAL),
            ("--grantee", "CS-RATE-0007"),
            ("--items", "basic"),
        ],
        changed,
    )
}

/// A valid `certs issue` command line with some options `changed`.
fn issue_args<'a>(pki: &'a str, out: &'a str, changed: &[(&'a str, &'a str)]) -> Vec<&'a str> {
    with_options(
        &["certs", "issue"],
        &[
            ("--dir", pki),
            ("--officer-id", "HN-AMR-0001"),
            ("--name", "Li Na"),
            ("--unit", "AMR"),
            ("--out", out),
        ],
        changed,
    )
}

#[test]
fn invalid_arguments_exit_1_with_one_error_line() {
    // No log yet: arguments are checked before the store is looked for.
    let (tmp, pki, config) = setup();
    let (pki, config) = (p(&pki), p(&config));
    let out = tmp.path().join("officer");
    let out = p(&out);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["audit", "query", "--config", config, "--decision", "maybe"],
            "invalid decision `maybe`",
        ),
        (
            vec!["audit", "query", "--config", config, "--from", "yesterday"],
            "invalid time `yesterday`",
        ),
        (
            vec!["audit", "query", "--config", config, "--officer", " "],
            "officer",
        ),
        (
            vec![
                "audit",
                "query",
                "--config",
                config,
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-01",
            ],
            "`from` lies after `to`",
        ),
        (
            vec!["audit", "alerts", "--config", config, "--from", "bad"],
            "invalid time `bad`",
        ),
        (
            vec!["audit", "alerts", "--config", config, "--to", "bad"],
            "invalid time `bad`",
        ),
        (
            vec![
                "audit", "export", "--config", config, "--from", "bad", "--out", out,
            ],
            "invalid time `bad`",
        ),
        (
            vec![
                "audit",
                "subject-report",
                "--config",
                config,
                "--subject",
                "123",
            ],
            "invalid subject id: ",
        ),
        (
            vec![
                "audit",
                "subject-report",
                "--config",
                config,
                "--subject",
                BAD_CHECK,
            ],
            "check character",
        ),
        (
            consent_args(pki, &[("--days", "0")]),
            "`--days` must be at least 1",
        ),
        (
            consent_args(pki, &[("--grantee", " ")]),
            "`--grantee` must not be empty",
        ),
        (consent_args(pki, &[("--items", ",")]), "`--items`"),
        (
            consent_args(pki, &[("--subject", BAD_CHECK)]),
            "invalid subject id",
        ),
        (
            issue_args(pki, out, &[("--days", "0")]),
            "`--days` must be at least 1",
        ),
        (
            issue_args(pki, out, &[("--officer-id", "")]),
            "`--officer-id` must not be empty",
        ),
        (
            issue_args(pki, out, &[("--unit", " ")]),
            "`--unit` must not be empty",
        ),
        // once a panic ("resulting value is out of range")
        (
            issue_args(pki, out, &[("--days", "4000000000")]),
            "too far in the future",
        ),
        (
            vec!["certs", "revoke", "--dir", pki, "--cert", config],
            "does not hold a readable X.509 certificate",
        ),
        (
            vec!["certs", "init", "--dir", pki],
            "refusing to overwrite an existing PKI",
        ),
    ];
    for (args, says) in cases {
        let run = credgate(&args);
        let what = format!("credgate {}", args.join(" "));
        assert_eq!(run.code, Some(1), "{what}: {}", run.describe());
        assert_error_line(&run, 1);
        assert!(run.stderr.contains(says), "{what}: {}", run.describe());
        assert!(run.stdout.is_empty(), "{what}: {}", run.describe());
    }
    // Nothing was written by the refused `certs issue`s.
    assert!(!tmp.path().join("officer.pem").exists());

    // The same commands that could not run: exit 2.
    let missing = tmp.path().join("missing");
    let missing = p(&missing);
    let cases: Vec<Vec<&str>> = vec![
        vec!["audit", "query", "--config", config, "--decision", "deny"],
        vec![
            "audit",
            "alerts",
            "--config",
            config,
            "--from",
            "2026-01-01",
        ],
        vec![
            "audit",
            "subject-report",
            "--config",
            config,
            "--subject",
            LEGAL,
        ],
        vec!["audit", "query", "--config", missing],
        consent_args(missing, &[]),
        issue_args(missing, out, &[]),
    ];
    for args in cases {
        let run = credgate(&args);
        let what = format!("credgate {}", args.join(" "));
        assert_eq!(run.code, Some(2), "{what}: {}", run.describe());
        assert_error_line(&run, 2);
    }
}

// ------------------------------------------------ usage errors (one line)

#[test]
fn usage_errors_are_one_line_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let run = credgate(&["witness", "init", "--dir", p(&dir)]);
    assert_error_line(&run, 1);
    assert_eq!(
        run.stderr.trim_end(),
        "credgate: error: missing required argument(s): --listen <LISTEN>, --name <NAME> \
         (see `credgate witness init --help`)",
        "{}",
        run.describe()
    );
    assert!(!dir.exists());

    // no subcommand: one line naming them
    for (args, names) in [
        (
            vec![],
            "serve, demo, sample-db, certs, consent, policy, audit, witness",
        ),
        (vec!["certs"], "init, issue, revoke, crl"),
        (vec!["--log-format", "json", "policy"], "check, explain"),
    ] {
        let run = credgate(&args);
        assert_error_line(&run, 1);
        assert!(
            run.stderr.contains("missing subcommand") && run.stderr.contains(names),
            "{}",
            run.describe()
        );
        assert!(run.stderr.contains("--help"), "{}", run.describe());
        assert!(run.stdout.is_empty(), "{}", run.describe());
    }

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            vec!["audit", "query"],
            "missing required argument(s): --config <CONFIG>",
        ),
        (
            vec!["audit", "query", "--config", "x", "--format", "xml"],
            "invalid value 'xml' for '--format <FORMAT>'; [possible values: table, json, csv]",
        ),
        (
            vec!["audit", "query", "--config", "x", "--form", "y"],
            "unexpected argument '--form' found; tip: a similar argument exists: '--from' \
             (see `credgate audit query --help`)",
        ),
        (
            vec!["serve", "--config"],
            "a value is required for '--config <CONFIG>'",
        ),
        (
            vec!["certs", "issue", "--dir", "d", "--days", "x"],
            "invalid value 'x' for '--days <DAYS>'",
        ),
        (
            vec!["--log-format", "yaml", "serve", "--config", "x"],
            "invalid value 'yaml' for '--log-format <LOG_FORMAT>'",
        ),
        (
            vec![
                "audit",
                "lift",
                "--config",
                "x",
                "--officer",
                "",
                "--reason",
                "r",
            ],
            "must not be empty (see `credgate audit lift --help`)",
        ),
    ];
    // `audit verify` and `verify-proof` keep 1 for tampering / an invalid
    // proof: a command line they cannot run with is 2 ("could not run").
    for (args, says) in [
        (
            vec!["audit", "verify", "--config", "x", "--public-key", "aa"],
            "cannot be used with",
        ),
        (
            vec!["audit", "verify-proof"],
            "missing required argument(s)",
        ),
    ] {
        let run = credgate(&args);
        assert_error_line(&run, 2);
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{args:?}: {}",
            run.describe()
        );
        assert!(run.stderr.contains(says), "{args:?}: {}", run.describe());
    }
    for (args, says) in cases {
        let run = credgate(&args);
        let what = format!("credgate {}", args.join(" "));
        assert_eq!(run.code, Some(1), "{what}: {}", run.describe());
        assert_error_line(&run, 1);
        assert!(run.stderr.contains(says), "{what}: {}", run.describe());
        for clap_line in ["Usage:", "For more information"] {
            assert!(
                !run.stderr.contains(clap_line),
                "{what}: {}",
                run.describe()
            );
        }
    }

    // --help and --version still print normally and exit 0.
    for args in [
        vec!["--help"],
        vec!["-h"],
        vec!["help"],
        vec!["--version"],
        vec!["certs", "issue", "--help"],
        vec!["help", "audit"],
    ] {
        let run = credgate(&args);
        assert_ok(&run);
        assert!(!run.stdout.trim().is_empty(), "{}", run.describe());
        assert!(run.stderr.is_empty(), "{}", run.describe());
    }
    let run = credgate(&["witness", "init", "--help"]);
    assert!(
        run.stdout.contains("witness init [OPTIONS] --dir <DIR>"),
        "{}",
        run.describe()
    );
}

// ------------------------------------------------------------------ audit

/// Ms since the epoch of an RFC 3339 instant.
fn ms(text: &str) -> i64 {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// One log entry as the gateway would hand it over.
fn entry(
    time: &str,
    officer: &str,
    unit: &str,
    subject: &str,
    purpose: &str,
    decision: audit::Decision,
) -> audit::NewEntry {
    let allow = matches!(decision, audit::Decision::Allow);
    audit::NewEntry {
        time_ms: ms(time),
        inquiry_id: format!("inq-{}-{officer}", ms(time)),
        plane: "data".into(),
        officer_id: officer.into(),
        officer_name: format!("name of {officer}"),
        unit: unit.into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some(purpose.into()),
        case: Some("HN-2026-001".into()),
        consent_id: None,
        method: "GET".into(),
        path: format!("/v1/subjects/{subject}"),
        subject_id: Some(subject.into()),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into()],
        decision,
        reason: if allow {
            "ok".into()
        } else {
            "purpose_not_granted".into()
        },
        rule: "test".into(),
        statutory_basis: None,
        status: if allow { 200 } else { 403 },
        records_returned: u32::from(allow),
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec![],
        objection_labeled: 0,
        upstream_status: if allow { Some(200) } else { None },
        latency_ms: 3,
    }
}

/// Fill `dir/audit.db` with five entries through `audit::AuditLog`.
fn fill_log(dir: &Path, pki: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = audit::AuditConfig {
            store_url: format!("sqlite://{}", p(&dir.join("audit.db"))),
            signing_key_pkcs8: std::fs::read(pki.join("audit-signing.pk8")).unwrap(),
            checkpoint_every: 2,
            ..Default::default()
        };
        let log = audit::AuditLog::open(&cfg).await.unwrap();
        let amr = "Hunan AMR";
        let rating = "Xiangjiang Credit Rating";
        for e in [
            entry(
                "2026-03-01T09:00:00Z",
                "HN-AMR-0001",
                amr,
                LEGAL,
                "administrative_inspection",
                audit::Decision::Allow,
            ),
            entry(
                "2026-03-01T23:59:59Z",
                "HN-AMR-0001",
                amr,
                LEGAL,
                "recruitment",
                audit::Decision::Deny,
            ),
            entry(
                "2026-03-02T10:00:00Z",
                "CS-RATE-0007",
                rating,
                NATURAL,
                "credit_service",
                audit::Decision::Allow,
            ),
            entry(
                "2026-03-03T10:00:00Z",
                "HN-AMR-0001",
                amr,
                OTHER_LEGAL,
                "administrative_inspection",
                audit::Decision::Allow,
            ),
            entry(
                "2026-03-04T10:00:00Z",
                "CS-RATE-0007",
                rating,
                LEGAL,
                "credit_service",
                audit::Decision::Allow,
            ),
        ] {
            log.append(e).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });
}

fn query(config: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["audit", "query", "--config", p(config), "--format", "json"];
    args.extend_from_slice(extra);
    let run = credgate(&args);
    assert_ok(&run);
    let value: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.describe()));
    value.as_array().expect("a JSON array").clone()
}

fn officers(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["entry"]["officer_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn audit_commands_against_a_real_log() {
    let (tmp, pki, config) = setup();
    fill_log(tmp.path(), &pki);

    // verify: intact
    let run = credgate(&["audit", "verify", "--config", p(&config)]);
    assert_ok(&run);
    assert!(run.stdout.contains("5 entries"), "{}", run.describe());

    // query: every filter narrows
    assert_eq!(query(&config, &[]).len(), 5);
    assert_eq!(
        officers(&query(&config, &["--officer", "CS-RATE-0007"])),
        vec!["CS-RATE-0007", "CS-RATE-0007"]
    );
    let by_subject = query(&config, &["--subject", LEGAL]);
    assert_eq!(by_subject.len(), 3);
    let denied = query(&config, &["--decision", "deny"]);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["entry"]["purpose"], "recruitment");
    // a bare `--to` date includes the whole day; a bare `--from` starts at 00:00
    assert_eq!(query(&config, &["--to", "2026-03-01"]).len(), 2);
    assert_eq!(
        query(&config, &["--from", "2026-03-02", "--to", "2026-03-03"]).len(),
        2
    );
    assert_eq!(query(&config, &["--from", "2026-03-04T10:00:00Z"]).len(), 1);

    // csv: a header and one row per entry
    let run = credgate(&[
        "audit",
        "query",
        "--config",
        p(&config),
        "--format",
        "csv",
        "--officer",
        "HN-AMR-0001",
    ]);
    assert_ok(&run);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.describe());
    assert!(lines[0].starts_with("time,"));
    assert!(lines[1].contains("HN-AMR-0001") && lines[1].contains("allow"));

    // table
    let run = credgate(&["audit", "query", "--config", p(&config)]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("OFFICER") && run.stdout.contains("CS-RATE-0007"),
        "{}",
        run.describe()
    );

    // subject report: who, when, why, outcome
    let run = credgate(&[
        "audit",
        "subject-report",
        "--config",
        p(&config),
        "--subject",
        LEGAL,
    ]);
    assert_ok(&run);
    assert!(run.stdout.contains(": 3"), "{}", run.describe());
    for want in [
        "2026-03-01T09:00:00",
        "Hunan AMR",
        "Xiangjiang Credit Rating",
        "recruitment",
        "deny",
        "HN-AMR-0001",
    ] {
        assert!(
            run.stdout.contains(want),
            "`{want}` missing: {}",
            run.describe()
        );
    }
    assert!(
        !run.stdout.contains("2026-03-02T10:00:00"),
        "other subject listed: {}",
        run.describe()
    );

    // export → verifies offline, with the configured key and with the file's own
    let export = tmp.path().join("export.jsonl");
    let run = credgate(&[
        "audit",
        "export",
        "--config",
        p(&config),
        "--out",
        p(&export),
    ]);
    assert_ok(&run);
    assert!(run.stdout.contains("5 entries"), "{}", run.describe());
    let export_run = run;
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&export),
        "--config",
        p(&config),
    ]);
    assert_ok(&run);
    // Without `--config` or `--public-key`, an export is checked against
    // the audit keys pinned for this user, never against the key its own
    // header names (a forger could re-sign it and name their own key).
    // Nothing pinned: it could not be verified.
    let fresh = tmp.path().join("fresh-home/trusted-audit-keys");
    let alone =
        |file: &Path, pins: &Path| credgate_pins(&["audit", "verify", "--export", p(file)], pins);
    let run = alone(&export, &fresh);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("trusted key"), "{}", run.describe());
    // `audit export --config` pinned the key: the export verifies alone,
    // and says which pinned key vouched and where it came from.
    let run = alone(&export, &shared_pins());
    assert_ok(&run);
    assert!(
        run.stdout.starts_with("intact: 5 entries"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("pinned in this user's trusted keys")
            && run.stdout.contains(p(&config)),
        "{}",
        run.describe()
    );
    // What the file holds is sealed with it: a selection cannot pass for
    // the whole log by editing its header.
    assert!(
        run.stdout.contains("the export holds: whole log"),
        "{}",
        run.describe()
    );
    let export_text = std::fs::read_to_string(&export).unwrap();
    assert!(export_text
        .lines()
        .next()
        .unwrap()
        .contains("\"selection\":\"whole log\""));
    let relabelled = tmp.path().join("relabelled.jsonl");
    std::fs::write(
        &relabelled,
        export_text.replacen(
            "\"selection\":\"whole log\"",
            "\"selection\":\"officer=HN-AMR-0001\"",
            1,
        ),
    )
    .unwrap();
    assert_eq!(alone(&relabelled, &shared_pins()).code, Some(1));
    let part = tmp.path().join("part.jsonl");
    assert_ok(&credgate(&[
        "audit",
        "export",
        "--config",
        p(&config),
        "--from",
        "2026-03-02",
        "--out",
        p(&part),
    ]));
    let run = alone(&part, &shared_pins());
    assert_ok(&run);
    assert!(
        run.stdout.contains("the export holds: from_ms="),
        "{}",
        run.describe()
    );
    // Any command given the config pins it (here `audit key`), once.
    assert_ok(&credgate_pins(
        &["audit", "key", "--config", p(&config)],
        &fresh,
    ));
    assert_ok(&credgate_pins(
        &["audit", "verify", "--config", p(&config)],
        &fresh,
    ));
    let pinned = std::fs::read_to_string(&fresh).unwrap();
    assert_eq!(pinned.lines().count(), 1, "{pinned}");
    assert_ok(&alone(&export, &fresh));
    // Edited after signing, or re-signed under another key: tampering.
    let text = std::fs::read_to_string(&export).unwrap();
    let edited = tmp.path().join("edited.jsonl");
    std::fs::write(&edited, text.replacen("recruitment", "credit_review", 1)).unwrap();
    let run = alone(&edited, &fresh);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("first bad sequence number 2"),
        "{}",
        run.describe()
    );
    // Another gateway's export (its own key, never pinned in `fresh`):
    // what a forger who re-signed this one under a key of their own makes.
    let (other_tmp, other_pki, other_config) = setup();
    fill_log(other_tmp.path(), &other_pki);
    let foreign = other_tmp.path().join("foreign.jsonl");
    let other_pins = other_tmp.path().join("trusted-audit-keys");
    let run = credgate_pins(
        &[
            "audit",
            "export",
            "--config",
            p(&other_config),
            "--out",
            p(&foreign),
        ],
        &other_pins,
    );
    assert_ok(&run);
    assert_ok(&alone(&foreign, &other_pins));
    let run = alone(&foreign, &fresh);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("not one of the audit keys pinned"),
        "{}",
        run.describe()
    );
    // A header that is not UTF-8, with keys pinned: tampering, as with a key.
    let mut garbled = std::fs::read(&export).unwrap();
    garbled[3] = 0xff;
    let garbled_path = tmp.path().join("garbled.jsonl");
    std::fs::write(&garbled_path, garbled).unwrap();
    let run = alone(&garbled_path, &fresh);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    // Its header alone does not pin anything.
    assert_eq!(std::fs::read_to_string(&fresh).unwrap(), pinned);
    // the key `audit export` printed pins it
    let key = export_run
        .stdout
        .split("--public-key ")
        .nth(1)
        .map(|rest| rest.trim().trim_end_matches('`').to_string())
        .expect("audit export prints the public key");
    assert_eq!(key.len(), 64, "{}", export_run.describe());
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&export),
        "--public-key",
        &key,
    ]);
    assert_ok(&run);
    let wrong = "00".repeat(32);
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&export),
        "--public-key",
        &wrong,
    ]);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    // The signed-note verifier key `audit key` prints works too, as it
    // does for `verify-proof` (an outside probe: hex only here).
    let vkey = credgate(&["audit", "key", "--config", p(&config)]);
    assert_ok(&vkey);
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&export),
        "--public-key",
        vkey.stdout.trim(),
    ]);
    assert_ok(&run);

    // a tampered export is caught
    let text = std::fs::read_to_string(&export).unwrap();
    let forged = text.replacen("recruitment", "administrative_inspection", 1);
    assert_ne!(text, forged);
    let forged_path = tmp.path().join("forged.jsonl");
    std::fs::write(&forged_path, forged).unwrap();
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&forged_path),
        "--config",
        p(&config),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("first bad sequence number 2"),
        "{}",
        run.describe()
    );

    // A file damaged so that it no longer reads as an export is tampering
    // (exit 1), not a verifier that could not run (exit 2): cut mid-line,
    // cut to nothing, header removed, header naming another key, a byte
    // that is not UTF-8, or not an export at all.
    let header_end = text.find('\n').expect("header line") + 1;
    let mut swapped: serde_json::Value = serde_json::from_str(&text[..header_end]).unwrap();
    swapped["public_key"] = serde_json::Value::String("11".repeat(32));
    let mut not_utf8 = text.clone().into_bytes();
    not_utf8[header_end + 10] = 0xff;
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("cut mid-line", text.as_bytes()[..text.len() - 40].to_vec()),
        ("cut to nothing", Vec::new()),
        (
            "cut after the header",
            text.as_bytes()[..header_end].to_vec(),
        ),
        (
            "cut before the end line",
            text.as_bytes()[..text.trim_end().rfind('\n').unwrap() + 1].to_vec(),
        ),
        ("header removed", text.as_bytes()[header_end..].to_vec()),
        (
            "header naming another key",
            format!("{swapped}\n{}", &text[header_end..]).into_bytes(),
        ),
        ("not UTF-8", not_utf8),
        ("not an export", b"hello\n".to_vec()),
    ];
    for (what, bytes) in damaged {
        let path = tmp.path().join("damaged.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let run = credgate(&[
            "audit",
            "verify",
            "--export",
            p(&path),
            "--config",
            p(&config),
        ]);
        assert_eq!(run.code, Some(1), "{what}: {}", run.describe());
        assert!(
            run.stdout.contains("tampering found"),
            "{what}: {}",
            run.describe()
        );
    }
    // A version 3 export (before exports were sealed): its chains verify,
    // but the command cannot vouch for the file whole (exit 2, saying why).
    let mut v3: Vec<&str> = text.lines().collect();
    v3.pop();
    let v3_header = v3[0].replacen("\"version\":4", "\"version\":3", 1);
    v3[0] = &v3_header;
    let v3_path = tmp.path().join("v3.jsonl");
    std::fs::write(&v3_path, v3.join("\n") + "\n").unwrap();
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&v3_path),
        "--config",
        p(&config),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("is a version 3 export"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("5 entries verify"),
        "{}",
        run.describe()
    );
    // A folder given as the export: could not run, and says it read.
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(tmp.path()),
        "--config",
        p(&config),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.starts_with("credgate: error: cannot read `"),
        "{}",
        run.describe()
    );
    // A file that cannot be read at all could not be verified (exit 2).
    let run = credgate(&[
        "audit",
        "verify",
        "--export",
        p(&tmp.path().join("no-such-export.jsonl")),
        "--config",
        p(&config),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
}

/// A reader that went away (`credgate audit verify | head -1`, a closed
/// standard output) ends a command with one error line and exit 2, never a
/// panic with a backtrace (an outside probe: `failed printing to stdout`).
#[test]
fn a_closed_standard_output_is_an_error_not_a_panic() {
    let (tmp, pki, config) = setup();
    fill_log(tmp.path(), &pki);
    for args in [
        &["audit", "key", "--config", p(&config)][..],
        &["audit", "verify", "--config", p(&config)][..],
        &["policy", "check", "--config", p(&config)][..],
        &["audit", "query", "--config", p(&config)][..],
    ] {
        // The pipe's reader is gone before the command starts (the shell
        // waits first): its first line meets a broken pipe.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("sleep 0.3; exec \"$@\"")
            .arg("sh")
            .arg(BIN)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .env("CREDGATE_TRUSTED_KEYS", shared_pins())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run sh");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("credgate: error: "),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn proof_commands_write_and_check_bundles_offline() {
    let (tmp, pki, config) = setup();
    fill_log(tmp.path(), &pki);

    // `audit key`: the verifier key, as witnesses and verifiers take it.
    let run = credgate(&["audit", "key", "--config", p(&config)]);
    assert_ok(&run);
    let vkey = run.stdout.trim().to_string();
    assert!(vkey.starts_with("credgate-audit+"), "{}", run.describe());
    assert!(audit::note::Verifier::parse(&vkey).is_ok(), "{vkey}");

    // subject-report --proofs: one bundle per inquiry about the subject.
    let dir = tmp.path().join("proofs");
    let run = credgate(&[
        "audit",
        "subject-report",
        "--config",
        p(&config),
        "--subject",
        LEGAL,
        "--proofs",
        p(&dir),
    ]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("3 inclusion proofs"),
        "{}",
        run.describe()
    );
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bundles.sort();
    assert_eq!(bundles.len(), 3);
    for b in &bundles {
        let raw = hex::encode(audit::note::Verifier::parse(&vkey).unwrap().public_key);
        for key in [vkey.as_str(), raw.as_str()] {
            let run = credgate(&["audit", "verify-proof", p(b), "--public-key", key]);
            assert_ok(&run);
            assert!(run.stdout.starts_with("valid:"), "{}", run.describe());
        }
        let run = credgate(&["audit", "verify-proof", p(b), "--config", p(&config)]);
        assert_ok(&run);
    }
    // audit prove writes the same bundle for one inquiry.
    let one: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundles[0]).unwrap()).unwrap();
    let inquiry = one["entry"]["entry"]["inquiry_id"].as_str().unwrap();
    let out = tmp.path().join("one.json");
    let run = credgate(&[
        "audit",
        "prove",
        "--config",
        p(&config),
        "--inquiry",
        inquiry,
        "--out",
        p(&out),
    ]);
    assert_ok(&run);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(again["entry"], one["entry"]);

    // Altered: exit 1, one line saying what failed.
    let text = std::fs::read_to_string(&bundles[0]).unwrap();
    let altered = tmp.path().join("altered.json");
    std::fs::write(
        &altered,
        text.replacen("\"leaf_index\": ", "\"leaf_index\": 1", 1),
    )
    .unwrap();
    let run = credgate(&["audit", "verify-proof", p(&altered), "--public-key", &vkey]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stdout.starts_with("invalid:"), "{}", run.describe());
    // Another key: exit 1.
    let other = "11".repeat(32);
    let run = credgate(&[
        "audit",
        "verify-proof",
        p(&bundles[0]),
        "--public-key",
        &other,
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    // The log's own key given as a witness key would "verify" the
    // checkpoint's own signature as a cosignature: refused, exit 2.
    let run = credgate(&[
        "audit",
        "verify-proof",
        p(&bundles[0]),
        "--public-key",
        &vkey,
        "--witness-key",
        &vkey,
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("not a witness key"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("cosigned by"), "{}", run.describe());
    // Could not run: exit 2, no backtrace.
    let missing = tmp.path().join("nope.json");
    let run = credgate(&["audit", "verify-proof", p(&missing), "--public-key", &vkey]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_clean_failure(&run);
    let run = credgate(&[
        "audit",
        "verify-proof",
        p(&bundles[0]),
        "--public-key",
        "zz",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    // An unknown inquiry: a clear error.
    let run = credgate(&[
        "audit",
        "prove",
        "--config",
        p(&config),
        "--inquiry",
        "none",
        "--out",
        p(&out),
    ]);
    assert_error_line(&run, 1);
    assert!(run.stderr.contains("no inquiry"), "{}", run.describe());
}

#[test]
fn audit_verify_finds_tampering_in_a_copy_of_the_store() {
    let (tmp, pki, _config) = setup();
    fill_log(tmp.path(), &pki);

    // copy the store (and any WAL) into a second folder with its own config
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = tmp.path().join(format!("audit.db{suffix}"));
        if from.exists() {
            std::fs::copy(&from, copy.join(format!("audit.db{suffix}"))).unwrap();
        }
    }
    let copy_config = write_config(&copy, &pki, POLICY);
    let run = credgate(&["audit", "verify", "--config", p(&copy_config)]);
    assert_ok(&run);

    // change the purpose of entry 3 behind the log's back
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", p(&copy.join("audit.db")));
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let done = sqlx::query("UPDATE entries SET purpose = 'recruitment' WHERE seq = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        conn.close().await.unwrap();
    });
    let subject: String = rt.block_on(async {
        use sqlx::{Connection, Row};
        let url = format!("sqlite://{}", p(&copy.join("audit.db")));
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let row = sqlx::query("SELECT subject_id FROM entries WHERE seq = 3")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.get(0)
    });

    // The subject's report with proofs: no report printed when a line of
    // it cannot be proved, and the error says tampering.
    let proofs = copy.join("proofs");
    let run = credgate(&[
        "audit",
        "subject-report",
        "--config",
        p(&copy_config),
        "--subject",
        &subject,
        "--proofs",
        p(&proofs),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stdout.is_empty(), "{}", run.describe());
    assert!(
        run.stderr.contains("tampering found, no report printed"),
        "{}",
        run.describe()
    );

    let run = credgate(&["audit", "verify", "--config", p(&copy_config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stdout.contains("tampering found"), "{}", run.describe());
    assert!(
        run.stdout.contains("first bad sequence number 3"),
        "{}",
        run.describe()
    );

    // the original is untouched
    let run = credgate(&[
        "audit",
        "verify",
        "--config",
        p(&tmp.path().join("gateway.toml")),
    ]);
    assert_ok(&run);
}

#[test]
fn audit_verify_cannot_run_without_a_store_or_key() {
    let (tmp, pki, config) = setup();
    assert!(!tmp.path().join("audit.db").exists());
    let run = credgate(&["audit", "verify", "--config", p(&config)]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_clean_failure(&run);

    // a store, but the signing key is not an Ed25519 key any more
    fill_log(tmp.path(), &pki);
    std::fs::write(pki.join("audit-signing.pk8"), b"not a key").unwrap();
    let run = credgate(&["audit", "verify", "--config", p(&config)]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_clean_failure(&run);
    assert!(
        run.stderr.contains("audit-signing.pk8") || run.stderr.contains("gateway.toml"),
        "{}",
        run.describe()
    );
}

// ------------------------------------------------------- crl refresh (15)

/// Revoked serials, `next_update` and CRL number of the PKI's `ca.crl`.
fn crl_facts(pki: &Path) -> (Vec<Vec<u8>>, time::OffsetDateTime, String) {
    let pem = std::fs::read(pki.join("ca.crl")).unwrap();
    let der = rustls_pemfile::crls(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(der.as_ref()).unwrap();
    let serials = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().to_vec())
        .collect();
    let next = crl.next_update().unwrap().to_datetime();
    let number = crl.crl_number().unwrap().to_string();
    (serials, next, number)
}

/// `certs issue` of one officer into `dir/NAME`; the certificate path.
fn issue(pki: &Path, dir: &Path, id: &str, name: &str) -> PathBuf {
    let out = dir.join(name);
    let run = credgate(&[
        "certs",
        "issue",
        "--dir",
        p(pki),
        "--officer-id",
        id,
        "--name",
        name,
        "--unit",
        "Hunan AMR",
        "--days",
        "30",
        "--out",
        p(&out),
    ]);
    assert_ok(&run);
    dir.join(format!("{name}.pem"))
}

#[test]
fn certs_crl_refresh_resigns_the_same_serials_with_a_later_next_update() {
    let (tmp, pki, _config) = setup();
    for (id, name) in [("HN-AMR-0001", "li-na"), ("HN-AMR-0002", "zhao-lei")] {
        let cert = issue(&pki, tmp.path(), id, name);
        assert_ok(&credgate(&[
            "certs",
            "revoke",
            "--dir",
            p(&pki),
            "--cert",
            p(&cert),
        ]));
    }
    let (serials, next, number) = crl_facts(&pki);
    assert_eq!(serials.len(), 2);
    assert_eq!(number, "3", "init wrote 1, each revocation added 1");

    let run = credgate(&["certs", "crl", "refresh", "--dir", p(&pki), "--days", "90"]);
    assert_ok(&run);
    assert!(run.stdout.contains("ca.crl"), "{}", run.describe());
    assert!(
        run.stdout.contains("2 revoked serials"),
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("CRL number 4"), "{}", run.describe());
    assert!(run.stdout.contains("next_update"), "{}", run.describe());
    let (after, later, number) = crl_facts(&pki);
    assert_eq!(after, serials, "revoked serials unchanged");
    assert_eq!(number, "4");
    assert!(later > next, "{later} vs {next}");
    let days = (later - time::OffsetDateTime::now_utc()).whole_days();
    assert!((89..=90).contains(&days), "{days}");
    // openssl agrees it is the CA's CRL.
    let check = Command::new("openssl")
        .args([
            "crl",
            "-in",
            p(&pki.join("ca.crl")),
            "-CAfile",
            p(&pki.join("ca.pem")),
            "-noout",
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // The default is 30 days.
    assert_ok(&credgate(&["certs", "crl", "refresh", "--dir", p(&pki)]));
    let (_, next, number) = crl_facts(&pki);
    assert_eq!(number, "5");
    let days = (next - time::OffsetDateTime::now_utc()).whole_days();
    assert!((29..=30).contains(&days), "{days}");

    // Bad input: one line, exit 1; no PKI: one line, exit 2.
    for days in ["0", "3651"] {
        let run = credgate(&["certs", "crl", "refresh", "--dir", p(&pki), "--days", days]);
        assert_eq!(run.code, Some(1), "{}", run.describe());
        assert_clean_failure(&run);
        assert!(
            run.stderr.starts_with("credgate: error: `--days`"),
            "{}",
            run.describe()
        );
    }
    let missing = tmp.path().join("missing");
    let run = credgate(&["certs", "crl", "refresh", "--dir", p(&missing)]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_clean_failure(&run);
    assert!(
        run.stderr.starts_with("credgate: error: "),
        "{}",
        run.describe()
    );
    // A CRL another CA signed is refused (the PKI folder given is wrong:
    // exit 1), and left alone.
    let other = tmp.path().join("other");
    assert_ok(&credgate(&["certs", "init", "--dir", p(&other)]));
    std::fs::copy(other.join("ca.crl"), pki.join("ca.crl")).unwrap();
    let before = std::fs::read(pki.join("ca.crl")).unwrap();
    let run = credgate(&["certs", "crl", "refresh", "--dir", p(&pki)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_clean_failure(&run);
    assert!(run.stderr.contains("ca.crl"), "{}", run.describe());
    assert_eq!(std::fs::read(pki.join("ca.crl")).unwrap(), before);
}

/// The admin plane's `credgate_crl_next_update_seconds`.
async fn crl_gauge(client: &tests::client::Client, admin: std::net::SocketAddr) -> i64 {
    let metrics = client.get(admin, "/metrics", &[]).await.unwrap();
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("credgate_crl_next_update_seconds "))
        .unwrap_or_else(|| panic!("no CRL gauge in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_gateway_takes_a_refreshed_crl_on_reload_and_warns_as_it_nears() {
    use tests::client::Proto;
    let env = tests::env::Env::new().await;
    let (revoked, _) = env.officer("HN-AMR-0002");
    certs::pki::revoke(&env.pki, &revoked).unwrap();
    let (serials, _, _) = crl_facts(&env.pki);
    let mut gw = tests::process::Proc::serve(BIN, &env.config_path).await;
    let admin = gw.admin.unwrap();
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let day = 86_400;
    let left = crl_gauge(&auditor, admin).await;
    assert!((29 * day..=30 * day).contains(&left), "{left}");
    assert!(!gw.stderr().contains("next_update is less than 7 days away"));

    // Re-signed for 3 days only: taken on SIGHUP, shown, warned about.
    let run = credgate(&[
        "certs",
        "crl",
        "refresh",
        "--dir",
        p(&env.pki),
        "--days",
        "3",
    ]);
    assert_ok(&run);
    assert_eq!(crl_facts(&env.pki).0, serials);
    gw.signal("HUP");
    let taken =
        tests::env::eventually(10, || async { crl_gauge(&auditor, admin).await <= 3 * day }).await;
    assert!(taken, "the refreshed CRL was not loaded");
    let left = crl_gauge(&auditor, admin).await;
    assert!((2 * day..=3 * day).contains(&left), "{left}");
    let warned = tests::env::eventually(5, || async {
        gw.stderr().contains("next_update is less than 7 days away")
    })
    .await;
    assert!(warned, "no warning: {}", gw.stderr());

    // The refreshed CRL works as the old one did: the revoked officer is
    // refused at the handshake, the others get in.
    let refused = env
        .client(Some("HN-AMR-0002"), Proto::Http1)
        .get(gw.data, "/healthz", &[])
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let admitted = env
        .client(Some("HN-AMR-0001"), Proto::Http1)
        .get(admin, "/healthz", &[])
        .await
        .unwrap();
    assert_eq!(admitted.status, 200);

    // Refreshed again for 30 days: the gauge goes back up.
    assert_ok(&credgate(&[
        "certs",
        "crl",
        "refresh",
        "--dir",
        p(&env.pki),
    ]));
    gw.signal("HUP");
    let back =
        tests::env::eventually(10, || async { crl_gauge(&auditor, admin).await > 29 * day }).await;
    assert!(back);
    gw.signal("TERM");
    assert_eq!(gw.wait().await, Some(0), "{}", gw.stderr());
}

// ---------------------------------------------------- danger_fixed_clock

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_danger_fixed_clock_without_its_flag() {
    let (tmp, _pki, config) = setup();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen(
            "[admin]",
            "danger_fixed_clock = \"2026-11-22T00:00:00Z\"\n\n[admin]",
            1,
        ),
    )
    .unwrap();
    let run = credgate(&["serve", "--config", p(&config)]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_clean_failure(&run);
    assert!(
        run.stderr.starts_with("credgate: error: "),
        "{}",
        run.describe()
    );
    for named in ["danger_fixed_clock", "--danger-fixed-clock", "gateway.toml"] {
        assert!(run.stderr.contains(named), "{named}: {}", run.describe());
    }
    assert!(
        !tmp.path().join("audit.db").exists(),
        "refused before it ran"
    );

    // With the flag it serves, after a loud warning.
    let mut gw =
        tests::process::Proc::serve_args(BIN, &[], &["--danger-fixed-clock"], &config).await;
    let stderr = gw.stderr();
    assert!(
        stderr.starts_with("credgate: DANGER: --danger-fixed-clock"),
        "{stderr}"
    );
    assert!(stderr.contains("2026-11-22T00:00:00Z"), "{stderr}");
    gw.signal("TERM");
    assert_eq!(gw.wait().await, Some(0), "{}", gw.stderr());

    // Without the key, the flag changes nothing (and says so).
    std::fs::write(&config, text).unwrap();
    let mut gw =
        tests::process::Proc::serve_args(BIN, &[], &["--danger-fixed-clock"], &config).await;
    assert!(!gw.stderr().contains("DANGER"), "{}", gw.stderr());
    gw.signal("TERM");
    assert_eq!(gw.wait().await, Some(0), "{}", gw.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_downloaded_from_a_running_gateway_verifies_with_the_key_serve_pinned() {
    use tests::client::Proto;
    let env = tests::env::Env::new().await;
    let gw = tests::process::Proc::serve(BIN, &env.config_path).await;
    let pins = env.config_path.with_file_name("trusted-audit-keys");
    let officer = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    // An inquiry (refused or served, it is logged), then the export.
    let _ = officer
        .get(gw.data, "/v1/subjects/110101199003074477", &[])
        .await
        .unwrap();
    // The export is bracketed by signed checkpoints: wait for one to
    // cover the inquiry (at least every second while entries arrive).
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let resp = auditor
        .get(gw.admin.unwrap(), "/audit/export", &[])
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let file = env.config_path.with_file_name("downloaded.jsonl");
    std::fs::write(&file, &resp.body).unwrap();
    let verify = |pins: &Path| credgate_pins(&["audit", "verify", "--export", p(&file)], pins);
    let pinned = std::fs::read_to_string(&pins).unwrap_or_default();
    assert_eq!(pinned.lines().count(), 1, "serve pins its key: {pinned}");
    let run = verify(&pins);
    assert_ok(&run);
    assert!(run.stdout.starts_with("intact: "), "{}", run.describe());
    // Where serve never ran, nothing vouches for it.
    let elsewhere = env
        .config_path
        .with_file_name("elsewhere/trusted-audit-keys");
    assert_eq!(verify(&elsewhere).code, Some(2));
}

/// A config with several errors: every command that reads it prints each
/// as a `credgate: error:` line of its own, then the count, as `policy
/// check` does (the audit commands once folded them into one line).
#[test]
fn every_command_prints_each_config_error_and_the_count() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("gateway.toml");
    // A policy file given as the gateway's config: 4 missing sections and
    // 5 unknown top-level keys.
    std::fs::copy(tests::conformance("policy.toml"), &config).unwrap();
    let c = p(&config);
    for args in [
        vec!["policy", "check", "--config", c],
        vec!["audit", "verify", "--config", c],
        vec!["audit", "query", "--config", c],
        vec!["audit", "export", "--config", c, "--out", "x.jsonl"],
        vec![
            "audit",
            "subject-report",
            "--config",
            c,
            "--subject",
            "91430100MA4L0XXX1N",
        ],
    ] {
        let run = credgate(&args);
        assert_ne!(run.code, Some(0), "{args:?}: {}", run.describe());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines.last().copied(),
            Some("credgate: 9 error(s)"),
            "{args:?}: {}",
            run.describe()
        );
        assert_eq!(lines.len(), 10, "{args:?}: {}", run.describe());
        assert!(
            lines[..9]
                .iter()
                .all(|l| l.starts_with("credgate: error: ") && !l.contains("; ")),
            "{args:?}: {}",
            run.describe()
        );
    }
}

/// An outside probe: `audit archive` created its `--out` folder before it
/// found it could not read the store, and left it behind.
#[test]
fn an_archive_that_cannot_read_the_store_leaves_no_folder() {
    let (tmp, _pki, config) = setup();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("sqlite://audit.db", "postgres://postgres@127.0.0.1:1/none");
    let unreachable = tmp.path().join("unreachable.toml");
    std::fs::write(&unreachable, text).unwrap();
    let out = tmp.path().join("archive-out");
    let run = credgate(&[
        "audit",
        "archive",
        "--config",
        p(&unreachable),
        "--before",
        "2026-01",
        "--out",
        p(&out),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(!out.exists(), "{}", run.describe());
}
