//! `credgate witness init | serve` as an operator runs them: the real
//! binary, its files, its last line (the verifier key), its refusals and
//! exit codes, and a served witness that cosigns and stops on SIGTERM.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use audit::note::{NoteSigner, TreeHead, Verifier, COSIGNATURE_V1, ED25519};
use gateway::witness::{AddOutcome, WitnessClient};
use tokio::io::{AsyncBufReadExt as _, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_credgate");

fn credgate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn init(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "witness",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--name",
        "witness.test/w1",
    ];
    args.extend_from_slice(extra);
    credgate(&args)
}

#[test]
fn init_writes_the_files_and_prints_the_verifier_key_last() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("witness");
    let log = NoteSigner::from_pkcs8(
        "credgate-audit",
        ED25519,
        &audit::generate_signing_key().unwrap(),
    )
    .unwrap()
    .verifier()
    .to_vkey();
    let (code, out, err) = init(&dir, &["--log-key", &log]);
    assert_eq!(code, Some(0), "{err}");
    let vkey = Verifier::parse(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        (vkey.name.as_str(), vkey.kind),
        ("witness.test/w1", COSIGNATURE_V1)
    );
    for f in [
        "witness.toml",
        "witness.pk8",
        "witness.pem",
        "witness-tls.key",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    #[cfg(unix)]
    for f in ["witness.pk8", "witness-tls.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{f} is private");
    }
    let toml = std::fs::read_to_string(dir.join("witness.toml")).unwrap();
    assert!(
        toml.contains(&log) && toml.contains("origin_prefix = \"credgate.local/\""),
        "{toml}"
    );
    let config = gateway::witness::Config::load(&dir.join("witness.toml")).unwrap();
    assert_eq!(config.logs.len(), 1);

    // A second init in the same folder is refused and changes nothing.
    let key_before = std::fs::read(dir.join("witness.pk8")).unwrap();
    let (code, out, err) = init(&dir, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.starts_with("credgate: error: ") && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("witness.pk8")).unwrap(), key_before);
}

#[test]
fn init_refuses_invalid_input_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    for (flags, want) in [
        (vec!["--name", "has space"], "--name"),
        (vec!["--listen", "nowhere"], "--listen"),
        (vec!["--log-key", "not-a-key"], "--log-key"),
    ] {
        let dir = tmp.path().join("w");
        let mut args = vec!["witness", "init", "--dir", dir.to_str().unwrap()];
        if !flags.contains(&"--name") {
            args.extend(["--name", "witness.test/w1"]);
        }
        if !flags.contains(&"--listen") {
            args.extend(["--listen", "127.0.0.1:7443"]);
        }
        args.extend(flags.iter().copied());
        let (code, _, err) = credgate(&args);
        assert_eq!(code, Some(1), "{flags:?}: {err}");
        assert!(
            err.starts_with("credgate: error: ") && err.contains(want),
            "{err}"
        );
        assert!(!dir.join("witness.toml").exists());
    }
    // A log key of the wrong type (a witness key) is refused too.
    let other = tmp.path().join("other");
    let (_, out, _) = init(&other, &[]);
    let witness_vkey = out.lines().last().unwrap().to_owned();
    let (code, _, err) = init(&tmp.path().join("w2"), &["--log-key", &witness_vkey]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("type 0x04"), "{err}");
    // serve with a broken config: exit 1 before binding.
    std::fs::write(other.join("witness.toml"), "name = \"x\"\nbogus = 1\n").unwrap();
    let (code, _, err) = credgate(&[
        "witness",
        "serve",
        "--config",
        other.join("witness.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("credgate: error: "), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_cosigns_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("witness");
    let log_pk8 = audit::generate_signing_key().unwrap();
    let log = NoteSigner::from_pkcs8("credgate-audit", ED25519, &log_pk8).unwrap();
    let (code, out, err) = init(&dir, &["--log-key", &log.verifier().to_vkey()]);
    assert_eq!(code, Some(0), "{err}");
    let vkey = out.lines().last().unwrap().to_owned();

    let mut child = tokio::process::Command::new(BIN)
        .args(["witness", "serve", "--config"])
        .arg(dir.join("witness.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("credgate: witness listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();

    let pem = std::fs::read(dir.join("witness.pem")).unwrap();
    let client = WitnessClient::new("w1", &url, &vkey, &pem).unwrap();
    let leaf = audit::merkle::leaf_hash(b"entry 1");
    let text = TreeHead {
        origin: "credgate.local/chain-1".into(),
        size: 1,
        root: leaf,
        extensions: vec![],
    }
    .to_text();
    let note = format!("{text}\n{}", log.sign_note(&text).unwrap());
    let got = client.add_checkpoint(0, &[], &note).await.unwrap();
    assert!(matches!(got, AddOutcome::Cosigned { .. }), "{got:?}");
    assert_eq!(
        client.origins().await.unwrap(),
        vec!["credgate.local/chain-1"]
    );

    let pid = i32::try_from(child.id().unwrap()).unwrap();
    assert_eq!(sigterm(pid), 0);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(dir.join("witness.db").is_file());
}

/// SIGTERM with the `kill` utility (the workspace forbids `unsafe`).
fn sigterm(pid: i32) -> i32 {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map(|s| s.code().unwrap_or(1))
        .unwrap_or(1)
}
