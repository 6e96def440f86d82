//! End-to-end test of `credgate demo`: run the real binary on ephemeral ports
//! (`CREDGATE_DEMO_PORTS=auto`), paste its printed curl commands into `sh`,
//! check what an officer would see, then SIGTERM it and verify the log.
//!
//! Needs `curl` and `kill` on PATH (the commands under test are curl lines).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// Bound on the demo coming up (PKI generation + seeding, debug build).
const STARTUP: Duration = Duration::from_secs(90);
/// Bound on any single pasted command.
const COMMAND: Duration = Duration::from_secs(30);
/// Bound on the demo exiting after SIGTERM.
const EXIT: Duration = Duration::from_secs(30);

/// A running demo; killed on drop if the test fails midway.
struct Demo {
    child: Child,
    /// `tag` → the command printed under `# [tag] ...`.
    commands: HashMap<String, String>,
    /// Everything printed on stdout up to `Press Ctrl-C to stop.`.
    stdout: String,
    stderr_path: PathBuf,
}

impl Demo {
    async fn start(dir: &Path) -> Demo {
        let stderr_path = dir.with_extension("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new(EXE)
            .arg("demo")
            .arg("--dir")
            .arg(dir)
            .env("CREDGATE_DEMO_PORTS", "auto")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut text = String::new();
        let read = async {
            while let Ok(Some(line)) = lines.next_line().await {
                text.push_str(&line);
                text.push('\n');
                if line == "Press Ctrl-C to stop." {
                    return true;
                }
            }
            false
        };
        let ready = tokio::time::timeout(STARTUP, read).await.unwrap_or(false);
        if !ready {
            let _ = child.start_kill();
            panic!(
                "demo did not print its commands; stdout:\n{text}\nstderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut commands = HashMap::new();
        let mut tag = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# [") {
                tag = rest.split_once(']').map(|(t, _)| t.to_string());
            } else if let Some(t) = tag.take() {
                commands.insert(t, line.to_string());
            }
        }
        Demo {
            child,
            commands,
            stdout: text,
            stderr_path,
        }
    }

    fn command(&self, tag: &str) -> &str {
        self.commands
            .get(tag)
            .unwrap_or_else(|| panic!("no `# [{tag}]` command in:\n{}", self.stdout))
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then the exit code (bounded).
    async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().expect("demo already exited");
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
        match tokio::time::timeout(EXIT, self.child.wait()).await {
            Ok(status) => status.unwrap().code(),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "demo did not exit within {EXIT:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
        }
    }
}

/// Output of a pasted command: exit code, stdout.
async fn paste(command: &str) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        COMMAND,
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("command did not finish in {COMMAND:?}: {command}"))
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A `curl -i` answer: status, lowercase header map, JSON body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Value,
}

async fn curl(command: &str) -> Answer {
    let (code, out) = paste(command).await;
    assert_eq!(code, Some(0), "curl failed: {command}\n{out}");
    let (head, body) = out
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header/body split in:\n{out}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in:\n{out}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("body not JSON ({e}):\n{out}"));
    Answer {
        status,
        headers,
        body,
    }
}

fn contains_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) || contains_key(v, key)),
        Value::Array(a) => a.iter().any(|v| contains_key(v, key)),
        _ => false,
    }
}

#[tokio::test]
async fn printed_commands_work_and_sigterm_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let demo = Demo::start(&dir).await;
    let wk = sample::db::well_known();

    // Allowed: the company's records, transformed by the gateway.
    let allowed = curl(demo.command("allowed")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let inquiry_id = allowed
        .headers
        .get("inquiry-id")
        .cloned()
        .expect("no Inquiry-Id header");
    assert!(!inquiry_id.is_empty());
    assert_eq!(allowed.body["subject"]["id"], wk.legal_person);
    let records = allowed.body["records"].as_array().expect("records array");
    assert!(!records.is_empty());
    let ids: Vec<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.contains(&wk.extended_record), "{ids:?}");
    assert!(!ids.contains(&wk.expired_record), "expired record served");
    assert!(!ids.contains(&wk.restored_record), "restored record served");
    assert!(!contains_key(&allowed.body, "religion"));
    assert!(!contains_key(&allowed.body, "tax_paid"));
    // the catalogue's Chinese names are removed too
    for key in ["宗教信仰", "纳税", "病史"] {
        assert!(!contains_key(&allowed.body, key), "{key} served");
    }
    let rep_id = allowed.body["subject"]["legal_representative"]["id_number"]
        .as_str()
        .unwrap();
    assert_ne!(rep_id, wk.legal_representative, "id number not masked");
    assert!(rep_id.contains('*'));

    // Refused: the same officer, a natural person.
    let refused = curl(demo.command("refused")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "subject_type_not_granted");
    assert!(refused.headers.contains_key("inquiry-id"));

    // Expired record fetched directly.
    let expired = curl(demo.command("expired")).await;
    assert_eq!(expired.status, 451, "{}", expired.body);
    assert_eq!(expired.body["error"]["code"], "inquiry_period_expired");

    // Consent flow: the consented field stays, the others are removed.
    let consent = curl(demo.command("consent")).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    // The subject's own id, as asked, comes back as asked (conformance
    // case 11); any other resident id in the answer is masked.
    assert_eq!(consent.body["subject"]["id"], wk.natural_person);
    assert!(consent.body["subject"]["income"].is_number());
    assert!(!contains_key(&consent.body, "savings"));
    assert!(!contains_key(&consent.body, "blood_type"));
    let family = &consent.body["subject"]["家庭情况"];
    assert!(family["收入"].is_number(), "{family}");
    assert!(family["房产"].is_array(), "{family}");
    for key in ["宗教信仰", "血型", "指纹", "基因", "存款"] {
        assert!(!contains_key(&consent.body, key), "{key} served");
    }
    for key in ["身份证号", "手机号码"] {
        let masked = family[key].as_str().unwrap();
        assert!(masked.contains('*'), "{key} not masked");
    }

    // Compliance officer reads the log: the allowed inquiry is there.
    let log = curl(demo.command("compliance")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(
        log.body.to_string().contains(&inquiry_id),
        "inquiry {inquiry_id} not in the log answer: {}",
        log.body
    );

    let verify = demo.command("verify").to_string();
    let prove = demo.command("prove").to_string();
    let stderr_path = demo.stderr_path.clone();
    let code = demo.terminate().await;
    assert_eq!(
        code,
        Some(0),
        "demo exit status; stderr:\n{}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    // Its process log went to a file: plain text, no terminal colour codes.
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a redirected log:\n{log}"
    );

    // After the final checkpoint, the printed verify command finds the log intact.
    let (code, out) = paste(&verify).await;
    assert_eq!(code, Some(0), "{verify}\n{out}");
    assert!(out.contains("intact"), "{out}");
    // The printed proof command writes a bundle per inquiry about the
    // company, and each checks offline.
    let (code, out) = paste(&prove).await;
    assert_eq!(code, Some(0), "{prove}\n{out}");
    assert!(out.contains("inclusion proofs written"), "{out}");
    assert!(out.contains("valid: entry"), "{out}");
}

#[tokio::test]
async fn a_second_run_reuses_certs_and_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let first = Demo::start(&dir).await;
    assert_eq!(first.terminate().await, Some(0));
    let ca = std::fs::read(dir.join("certs/ca.pem")).unwrap();
    let officer = std::fs::read(dir.join("certs/HN-AMR-0001.pem")).unwrap();

    let second = Demo::start(&dir).await;
    assert_eq!(std::fs::read(dir.join("certs/ca.pem")).unwrap(), ca);
    assert_eq!(
        std::fs::read(dir.join("certs/HN-AMR-0001.pem")).unwrap(),
        officer
    );
    // The reused certificates still authenticate.
    let allowed = curl(second.command("allowed")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(
        !second.stderr().contains("seeding"),
        "the sample database was seeded again"
    );
    assert_eq!(second.terminate().await, Some(0));
}

#[tokio::test]
async fn an_unusable_folder_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let out = tokio::time::timeout(
        COMMAND,
        Command::new(EXE)
            .arg("demo")
            .arg("--dir")
            .arg(&file)
            .env("CREDGATE_DEMO_PORTS", "auto")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("demo did not fail fast")
    .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("not-a-folder"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
