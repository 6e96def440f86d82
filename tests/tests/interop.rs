//! Proofs checked by an independent implementation: every conformance
//! inquiry gets an inclusion proof bundle from the admin plane, which both
//! the gateway's own offline verifier and `tests/interop/credgate_verify.py`
//! — written from RFC 9162 and the C2SP texts alone, with Debian's
//! python3-cryptography — accept; a flipped bit in any proof hash, the leaf
//! index, the tree size, the checkpoint signature or an entry field makes
//! both refuse it. The Python verifier's own unit tests (published signed-
//! note vector, naive RFC 9162 proofs up to size 20) run here too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tests::client::Proto;
use tests::env::{admin, data, Env};

const PYTHON: &str = "/usr/bin/python3";

fn interop_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/interop")).to_path_buf()
}

/// Runs the Python verifier on a bundle; its exit code.
fn python_verify(bundle: &Path, log_key: &str) -> i32 {
    let out = std::process::Command::new(PYTHON)
        .arg(interop_dir().join("credgate_verify.py"))
        .arg("bundle")
        .arg(bundle)
        .arg("--log-key")
        .arg(log_key)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} (install python3-cryptography): {e}"));
    out.status.code().unwrap_or(-1)
}

#[test]
fn the_independent_verifier_passes_its_own_tests() {
    let out = std::process::Command::new(PYTHON)
        .args(["-m", "unittest", "-q", "test_credgate_verify"])
        .current_dir(interop_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every way of breaking a bundle that must be refused.
fn tampered(bundle: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let proof = bundle["inclusion_proof"].as_array().unwrap();
    for i in 0..proof.len() {
        let mut b = bundle.clone();
        let h = proof[i].as_str().unwrap();
        // Flip one bit of the hash (decode, flip, encode).
        use base64::Engine as _;
        let mut raw = base64::engine::general_purpose::STANDARD.decode(h).unwrap();
        raw[i % 32] ^= 0x01;
        b["inclusion_proof"][i] =
            Value::String(base64::engine::general_purpose::STANDARD.encode(raw));
        out.push((format!("proof hash {i}"), b));
    }
    let mut b = bundle.clone();
    b["leaf_index"] = Value::from(bundle["leaf_index"].as_u64().unwrap() ^ 1);
    out.push(("leaf index".into(), b));
    let mut b = bundle.clone();
    b["tree_size"] = Value::from(bundle["tree_size"].as_u64().unwrap() + 1);
    out.push(("tree size".into(), b));
    // The signature line: change one base64 character of the signature.
    let cp = bundle["checkpoint"].as_str().unwrap();
    let sig_at = cp.find("— credgate-audit ").unwrap() + "— credgate-audit ".len() + 10;
    let mut chars: Vec<char> = cp.chars().collect();
    let byte_to_char = cp[..sig_at].chars().count();
    chars[byte_to_char] = if chars[byte_to_char] == 'A' { 'B' } else { 'A' };
    let mut b = bundle.clone();
    b["checkpoint"] = Value::String(chars.into_iter().collect());
    out.push(("checkpoint signature".into(), b));
    let mut b = bundle.clone();
    b["entry"]["entry"]["officer_id"] = Value::String("SOMEONE-ELSE".into());
    out.push(("entry field".into(), b));
    let mut b = bundle.clone();
    b["entry"]["entry"]["status"] =
        Value::from(bundle["entry"]["entry"]["status"].as_u64().unwrap() + 1);
    out.push(("entry status".into(), b));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conformance_inquiry_has_a_proof_both_verifiers_accept() {
    let cases = tests::conformance_cases();
    let env = Env::new().await;
    let now = cases[0]["now"].as_str().unwrap();
    env.write_config(&format!("danger_fixed_clock = \"{now}\""));
    let running = env.start().await;
    let mut answered = Vec::new();
    for case in &cases {
        let r = env.send_case(data(&running), case).await;
        answered.push(r.header("inquiry-id").unwrap().to_string());
    }
    let pk8 = std::fs::read(env.pki.join("audit-signing.pk8")).unwrap();
    let signer = audit::tree_head::CheckpointSigner::new("credgate-audit", &pk8).unwrap();
    let vkey = signer.verifier().to_vkey();
    let key = audit::tree_head::LogKey::raw(&signer.verifier().public_key).unwrap();
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let dir = env.tmp.path().join("bundles");
    std::fs::create_dir_all(&dir).unwrap();
    let mut sizes = std::collections::BTreeSet::new();
    for (n, id) in answered.iter().enumerate() {
        let path = format!("/audit/proof?inquiry={id}");
        let mut r = auditor.get(admin(&running), &path, &[]).await.unwrap();
        for _ in 0..5 {
            if r.status != 409 {
                break;
            }
            assert_eq!(r.header("retry-after"), Some("1"));
            assert_eq!(r.code().as_deref(), Some("proof_pending"));
            tokio::time::sleep(Duration::from_millis(600)).await;
            r = auditor.get(admin(&running), &path, &[]).await.unwrap();
        }
        assert_eq!(
            r.status,
            200,
            "proof of {id}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let text = String::from_utf8(r.body.to_vec()).unwrap();
        audit::reader::verify_bundle(&text, &key, &[]).unwrap_or_else(|e| panic!("{id}: {e}"));
        let file = dir.join(format!("{id}.json"));
        std::fs::write(&file, &text).unwrap();
        assert_eq!(
            python_verify(&file, &vkey),
            0,
            "python refused the bundle of {id}"
        );
        let bundle: Value = serde_json::from_str(&text).unwrap();
        sizes.insert(bundle["tree_size"].as_u64().unwrap());
        for (what, bad) in tampered(&bundle) {
            let bad_text = serde_json::to_string(&bad).unwrap();
            assert!(
                audit::reader::verify_bundle(&bad_text, &key, &[]).is_err(),
                "{id}: {what} altered, still accepted"
            );
            // The Python side for the first few bundles (a process each).
            if n < 3 {
                let bad_file = dir.join("bad.json");
                std::fs::write(&bad_file, &bad_text).unwrap();
                assert_eq!(
                    python_verify(&bad_file, &vkey),
                    1,
                    "{id}: python accepted an altered {what}"
                );
            }
        }
    }
    assert!(!sizes.is_empty());
    // An unknown inquiry is 404; a request without one 400.
    let r = auditor
        .get(admin(&running), "/audit/proof?inquiry=nope", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let r = auditor
        .get(admin(&running), "/audit/proof", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // A consistency proof between the smallest and largest proved sizes
    // verifies against the two checkpoints' roots.
    let chain = env.entries().await[0].chain_id.clone();
    let (from, to) = (*sizes.first().unwrap(), *sizes.last().unwrap());
    let r = auditor
        .get(
            admin(&running),
            &format!("/audit/proof/consistency?chain={chain}&from={from}&to={to}"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["from"], from);
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_inquiry_is_proof_pending_until_a_checkpoint_covers_it() {
    let env = Env::new().await;
    env.upstream.json(
        &format!("/v1/subjects/{}", tests::env::LEGAL_PERSON),
        200,
        &serde_json::json!({"subject": {"id": tests::env::LEGAL_PERSON, "type": "legal_person"}}),
    );
    env.write_config("");
    // No checkpoint by count or by the clock for the test's duration.
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "checkpoint_every = 10",
        "checkpoint_every = 1000000\ncheckpoint_interval_ms = 3600000",
    );
    std::fs::write(&env.config_path, text).unwrap();
    let running = env.start().await;
    let officer = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = officer
        .get(
            data(&running),
            &format!("/v1/subjects/{}", tests::env::LEGAL_PERSON),
            &tests::env::INSPECTOR_HEADERS,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let id = r.header("inquiry-id").unwrap().to_string();
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let path = format!("/audit/proof?inquiry={id}");
    let pending = auditor.get(admin(&running), &path, &[]).await.unwrap();
    assert_eq!(
        pending.status,
        409,
        "{}",
        String::from_utf8_lossy(&pending.body)
    );
    assert_eq!(pending.code().as_deref(), Some("proof_pending"));
    assert_eq!(pending.header("retry-after"), Some("1"));
    // A live export brackets everything committed so far with a checkpoint.
    let export = auditor
        .get(admin(&running), "/audit/export", &[])
        .await
        .unwrap();
    assert_eq!(export.status, 200);
    assert!(String::from_utf8_lossy(&export.body).contains(&id));
    let proof = auditor.get(admin(&running), &path, &[]).await.unwrap();
    assert_eq!(
        proof.status,
        200,
        "{}",
        String::from_utf8_lossy(&proof.body)
    );
    running.shutdown().await.unwrap();
}
