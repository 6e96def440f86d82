//! Foundation: mTLS in front of the upstream. Officer certs (ours and the
//! openssl CLI's) are proxied; missing, foreign, expired and revoked certs
//! are refused at the handshake; identity headers from clients never reach
//! the upstream; HTTP/2 works; SIGTERM drains; config errors are one line.

use std::time::Duration;

use serde_json::json;
use tests::client::{ClientError, Proto};
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::process::{run, Proc};

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

fn subject_body() -> serde_json::Value {
    json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司"}})
}

fn subject_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_cert_is_proxied_with_inquiry_id_and_spoofed_identity_headers_are_dropped() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut headers = INSPECTOR_HEADERS.to_vec();
    headers.extend([
        ("Inquiry-Officer", "SOMEONE-ELSE"),
        ("Officer-Id", "SOMEONE-ELSE"),
        ("X-Forwarded-For", "10.9.9.9"),
        ("Inquiry-Id", "client-chosen"),
    ]);
    let resp = client
        .get(gw.data_addr(), &subject_path(), &headers)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.json(), subject_body());
    let id = resp.header("inquiry-id").unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_ne!(id, "client-chosen");
    assert_eq!(resp.header("cache-control"), Some("no-store"));

    let seen = env.upstream.seen();
    assert_eq!(seen.len(), 1);
    let h = &seen[0].headers;
    assert_eq!(h["inquiry-officer"], "HN-AMR-0001");
    assert_eq!(h["inquiry-id"], id.as_str());
    assert_eq!(h["inquiry-purpose"], "administrative_inspection");
    assert_eq!(h["inquiry-case"], "HN-2026-00123");
    assert!(h.get("officer-id").is_none());
    assert!(h.get("x-forwarded-for").is_none());
    assert_eq!(h.get_all("inquiry-officer").iter().count(), 1);

    let entry = env.entry(&id).await;
    assert_eq!(entry.officer_id, "HN-AMR-0001");
    assert_eq!(entry.decision, audit::Decision::Allow);
    assert_eq!(entry.status, 200);
    assert_eq!(entry.upstream_status, Some(200));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_query_sent_upstream_is_rebuilt_from_the_grant() {
    let env = Env::new().await;
    let records = format!("/v1/subjects/{LEGAL_PERSON}/records");
    env.upstream.json(
        &records,
        200,
        &json!({"subject": {"id": LEGAL_PERSON}, "records": []}),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = client
        .get(
            gw.data_addr(),
            &format!("{records}?items=basic"),
            &INSPECTOR_HEADERS,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = client
        .get(gw.data_addr(), &records, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let targets: Vec<String> = env.upstream.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        vec![
            format!("{records}?items=basic"),
            format!("{records}?items=administrative_penalty,basic,court_enforcement"),
        ]
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_works() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let resp = client
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(resp.version, http::Version::HTTP_2);
    assert_eq!(resp.status, 200);
    assert!(resp.header("inquiry-id").is_some());
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_cli_cert_under_the_same_ca_works() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let dir = env.tmp.path();
    let key = dir.join("ossl.key");
    let csr = dir.join("ossl.csr");
    let cert = dir.join("ossl.pem");
    let ext = dir.join("ossl.ext");
    std::fs::write(
        &ext,
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ok = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        key.to_str().unwrap(),
    ]);
    ok(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        "/serialNumber=HN-AMR-0001/CN=Li Na/O=Hunan Administration for Market Regulation",
    ]);
    ok(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        env.pki.join("ca.pem").to_str().unwrap(),
        "-CAkey",
        env.pki.join("ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "5",
        "-sha256",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    let gw = env.start().await;
    let client = env.client_with(&cert, &key, Proto::Http1);
    let resp = client
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let entry = env.entry(resp.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.officer_id, "HN-AMR-0001");
    assert_eq!(entry.officer_name, "Li Na");

    // Same CA, but no serialNumber: the handshake succeeds, the officer is
    // unknown, and the refusal is logged with the certificate fingerprint.
    let bare_csr = dir.join("bare.csr");
    let bare = dir.join("bare.pem");
    ok(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-out",
        bare_csr.to_str().unwrap(),
        "-subj",
        "/CN=No Serial/O=Nowhere",
    ]);
    ok(&[
        "x509",
        "-req",
        "-in",
        bare_csr.to_str().unwrap(),
        "-CA",
        env.pki.join("ca.pem").to_str().unwrap(),
        "-CAkey",
        env.pki.join("ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "5",
        "-sha256",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        bare.to_str().unwrap(),
    ]);
    let client = env.client_with(&bare, &key, Proto::Http1);
    let resp = client
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(resp.status, 403);
    assert_eq!(resp.code().as_deref(), Some("unknown_officer"));
    let entry = env.entry(resp.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.officer_id, "");
    assert_eq!(entry.cert_fingerprint.len(), 64);
    assert_eq!(
        env.upstream.seen().len(),
        1,
        "the unknown officer reached the upstream"
    );
    gw.shutdown().await.unwrap();
}

/// The request must get no HTTP response at all.
fn assert_refused(r: Result<tests::client::Resp, ClientError>, what: &str) {
    match r {
        Ok(resp) => panic!("{what}: got an HTTP response {}", resp.status),
        Err(ClientError::Handshake(_)) | Err(ClientError::Http(_)) => {}
        Err(e) => panic!("{what}: unexpected failure {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_foreign_and_expired_certs_are_refused_at_the_handshake() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let addr = gw.data_addr();
    let path = subject_path();

    let none = env.client(None, Proto::Http1);
    assert_refused(none.get(addr, &path, &INSPECTOR_HEADERS).await, "no cert");

    // Another CA issuing a cert with identical names.
    let other = env.tmp.path().join("other-pki");
    certs::pki::init(&other).unwrap();
    let now = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let spec = certs::pki::OfficerSpec::for_days(
        "HN-AMR-0001",
        "Li Na",
        "Hunan Administration for Market Regulation",
        30,
        now,
    );
    let forged = certs::pki::issue(&other, &spec, &other.join("forged")).unwrap();
    let c = env.client_with(&forged.cert, &forged.key, Proto::Http1);
    assert_refused(c.get(addr, &path, &INSPECTOR_HEADERS).await, "other CA");

    // Expired yesterday.
    let expired_spec = certs::pki::OfficerSpec {
        officer_id: "HN-AMR-0001".into(),
        name: "Li Na".into(),
        unit: "Hunan Administration for Market Regulation".into(),
        not_before: time::OffsetDateTime::now_utc() - time::Duration::days(10),
        not_after: time::OffsetDateTime::now_utc() - time::Duration::days(1),
    };
    let expired = certs::pki::issue(&env.pki, &expired_spec, &env.pki.join("expired")).unwrap();
    let c = env.client_with(&expired.cert, &expired.key, Proto::Http1);
    assert_refused(c.get(addr, &path, &INSPECTOR_HEADERS).await, "expired");

    assert!(
        env.upstream.seen().is_empty(),
        "a refused client reached the upstream"
    );
    assert!(
        env.entries().await.is_empty(),
        "a refused handshake was logged"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_cert_is_refused_after_sighup() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let mut p = Proc::serve(EXE, &env.config_path).await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let resp = client
        .get(p.data, &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(resp.status, 200);

    let (cert, _) = env.officer("HN-AMR-0001");
    let crl_path = env.pki.join(certs::pki::CRL);
    let before = std::fs::read(&crl_path).unwrap();
    certs::pki::revoke(&env.pki, &cert).unwrap();
    p.signal("HUP");
    let refused = tests::env::eventually(5, || async {
        client
            .get(p.data, &subject_path(), &INSPECTOR_HEADERS)
            .await
            .is_err()
    })
    .await;
    assert!(refused, "revoked cert still accepted after SIGHUP");
    // The older CRL copied back is refused on reload: it would un-revoke
    // the officer (an outside probe was served again). The loaded CRL
    // stays, and the error says why.
    std::fs::write(&crl_path, before).unwrap();
    p.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(
        client
            .get(p.data, &subject_path(), &INSPECTOR_HEADERS)
            .await
            .is_err(),
        "an older CRL un-revoked the officer"
    );
    let said = tests::env::eventually(5, || async { p.stderr().contains("older CRL") }).await;
    assert!(said, "stderr: {}", p.stderr());
    // Another officer's cert still works.
    let other = env.client(Some("CS-RATE-0007"), Proto::Http1);
    let resp = other.get(p.data, &subject_path(), &[]).await.unwrap();
    assert_eq!(resp.status, 400);

    p.signal("TERM");
    assert_eq!(p.wait().await, Some(0), "stderr: {}", p.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_in_flight_request_then_exits_zero() {
    let env = Env::new().await;
    env.upstream.raw(
        &subject_path(),
        200,
        serde_json::to_vec(&subject_body()).unwrap(),
        Duration::from_millis(1200),
    );
    let mut p = Proc::serve(EXE, &env.config_path).await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let addr = p.data;
    let inflight =
        tokio::spawn(async move { client.get(addr, &subject_path(), &INSPECTOR_HEADERS).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    p.signal("TERM");
    let resp = inflight.await.unwrap().unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), subject_body());
    assert_eq!(p.wait().await, Some(0), "stderr: {}", p.stderr());
    assert!(!p.stderr().contains("panicked"));
    // The drained request is in the log, and the log (with the checkpoint
    // written at shutdown) verifies.
    let id = resp.header("inquiry-id").unwrap().to_string();
    assert_eq!(env.entry(&id).await.status, 200);
    let cfg = env.config_path.to_str().unwrap();
    let (code, out, err) = run(EXE, &["audit", "verify", "--config", cfg]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let reader = audit::Reader::connect(&env.store_url()).await.unwrap();
    match reader.verify(&env.audit_public_key()).await.unwrap() {
        audit::VerifyReport::Intact {
            entries,
            checkpoints,
            ..
        } => {
            assert_eq!(entries, 1);
            assert!(checkpoints >= 1, "no checkpoint written at shutdown");
        }
        other => panic!("log does not verify: {other:?}"),
    }
}

fn assert_config_error(code: Option<i32>, stderr: &str, needle: &str) {
    assert_ne!(code, Some(0), "{stderr}");
    assert!(code.is_some(), "killed by a signal: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_are_one_line_and_exit_non_zero() {
    let env = Env::new().await;
    let cfg = env.config_path.to_str().unwrap().to_string();
    let original = std::fs::read_to_string(&env.config_path).unwrap();

    std::fs::remove_file(env.pki.join("server.pem")).unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_config_error(code, &err, "server.pem");
    certs::pki::init(&env.tmp.path().join("pki2")).unwrap();
    std::fs::copy(
        env.tmp.path().join("pki2/server.pem"),
        env.pki.join("server.pem"),
    )
    .unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_config_error(code, &err, "does not match the certificate");
    std::fs::copy(
        env.tmp.path().join("pki2/server.key"),
        env.pki.join("server.key"),
    )
    .unwrap();

    std::fs::write(
        &env.config_path,
        original.replace("[admin]", "[admin]\nlisten_twice = 1"),
    )
    .unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_config_error(code, &err, "listen_twice");
    assert!(err.contains("gateway.toml:"), "{err}");

    std::fs::write(
        &env.config_path,
        original.replacen(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:99999\"",
            1,
        ),
    )
    .unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_config_error(code, &err, "127.0.0.1:99999");

    // An address in use: bind error naming the address.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    std::fs::write(
        &env.config_path,
        original.replacen(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"{busy_addr}\""),
            1,
        ),
    )
    .unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_config_error(code, &err, &busy_addr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_with_mutual_tls() {
    let env = Env::new().await;
    let pki = &env.pki;
    let secure = tests::upstream::Upstream::start_tls(
        &pki.join("server.pem"),
        &pki.join("server.key"),
        Some(&pki.join("ca.pem")),
    )
    .await;
    secure.json(&subject_path(), 200, &subject_body());
    // The gateway presents an officer-style client certificate to the upstream.
    let gw_id = certs::pki::OfficerSpec::for_days(
        "GATEWAY-1",
        "credgate",
        "Platform",
        30,
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    );
    certs::pki::issue(pki, &gw_id, &pki.join("gateway-client")).unwrap();
    env.write_config_full(
        "",
        &secure.url(),
        "ca = \"pki/ca.pem\"\ncert = \"pki/gateway-client.pem\"\nkey = \"pki/gateway-client.key\"",
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    for _ in 0..3 {
        let r = client
            .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.json(), subject_body());
    }
    assert_eq!(secure.seen().len(), 3);
    assert_eq!(secure.seen()[0].headers["inquiry-officer"], "HN-AMR-0001");
    gw.shutdown().await.unwrap();

    // Without the gateway's client certificate the upstream refuses the
    // connection: 502 upstream_unavailable (SPEC "Messages that say what
    // is wrong"; with TLS 1.3 its alert comes with the first read).
    env.write_config_full("", &secure.url(), "ca = \"pki/ca.pem\"");
    let gw = env.start().await;
    for _ in 0..3 {
        let r = client
            .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
            .await
            .unwrap();
        assert_eq!(r.status, 502);
        assert_eq!(r.code().as_deref(), Some("upstream_unavailable"));
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_that_never_finishes_its_handshake_is_unavailable_within_the_connect_timeout(
) {
    // Accepts TCP, then says nothing: the TLS handshake never completes.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            open.push(sock);
        }
    });
    let env = Env::new().await;
    env.write_config_full(
        "",
        &format!("https://localhost:{}", addr.port()),
        "ca = \"pki/ca.pem\"\nconnect_timeout_ms = 300",
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let r = client
            .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
            .await
            .unwrap();
        let took = started.elapsed();
        // 502 (the connect timed out), not 504 after the 2 s exchange timeout.
        assert_eq!(r.status, 502, "{:?}", r.body);
        assert_eq!(r.code().as_deref(), Some("upstream_unavailable"));
        assert!(took < std::time::Duration::from_millis(1500), "{took:?}");
    }
    gw.shutdown().await.unwrap();
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_process_logs_carry_the_inquiry_id_and_no_redacted_value() {
    let env = Env::new().await;
    let records = format!("/v1/subjects/{LEGAL_PERSON}/records");
    env.upstream.json(
        &records,
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person",
                            "religion": "SECRET-FAITH-VALUE", "tax_paid": 987654321,
                            "contact": {"phone": "13812345678"}},
                "records": []}),
    );
    let mut p = Proc::serve_with(EXE, &["--log-format", "json"], &env.config_path).await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = client
        .get(p.data, &records, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        !body.contains("SECRET-FAITH-VALUE") && !body.contains("987654321"),
        "{body}"
    );
    let id = r.header("inquiry-id").unwrap().to_string();
    p.signal("TERM");
    assert_eq!(p.wait().await, Some(0));
    let stderr = p.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l.to_string().contains(&id)),
        "no log line carries inquiry id {id}: {stderr}"
    );
    for secret in ["SECRET-FAITH-VALUE", "987654321", "13812345678"] {
        assert!(
            !stderr.contains(secret),
            "`{secret}` leaked into the process log"
        );
    }
    let entry = env.entry(&id).await;
    let logged = serde_json::to_string(&entry).unwrap();
    for secret in ["SECRET-FAITH-VALUE", "987654321", "13812345678"] {
        assert!(
            !logged.contains(secret),
            "`{secret}` leaked into the inquiry log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_crl_is_picked_up_without_a_signal() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = client
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (cert, _) = env.officer("HN-AMR-0001");
    certs::pki::revoke(&env.pki, &cert).unwrap();
    let refused = tests::env::eventually(5, || async {
        client
            .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
            .await
            .is_err()
    })
    .await;
    assert!(refused, "revocation not applied after the CRL changed");
    gw.shutdown().await.unwrap();
}

/// SPEC "Messages that say what is wrong": one format for every command's
/// errors, exit 1 for invalid input and 2 when it could not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_one_format_and_exit_codes_tell_input_from_running() {
    let env = Env::new().await;
    let cfg = env.config_path.to_str().unwrap().to_string();
    let original = std::fs::read_to_string(&env.config_path).unwrap();
    let every_line_prefixed = |err: &str| {
        err.lines()
            .all(|l| l.starts_with("credgate: error: ") || l.starts_with("credgate: "))
    };

    // Mistakes in the config: reported with their position, exit 1.
    std::fs::write(
        &env.config_path,
        original
            .replace("[admin]", "[admin]\nlisten_twice = 1")
            .replace("checkpoint_every = 10", "checkpoint_every = 0"),
    )
    .unwrap();
    for args in [
        vec!["serve", "--config", &cfg],
        vec!["policy", "check", "--config", &cfg],
    ] {
        let (code, _, err) = run(EXE, &args).await;
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(every_line_prefixed(&err), "{args:?}: {err}");
        assert!(err.contains("credgate: error: "), "{err}");
        assert!(err.contains("gateway.toml:"), "no position: {err}");
    }
    let (_, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert!(err.contains("listen_twice"), "{err}");

    // A command line clap refuses: invalid input, same prefix.
    let (code, _, err) = run(EXE, &["serve", "--no-such-flag"]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("credgate: error: "), "{err}");

    // Could not run: the config file missing, the port taken.
    let (code, _, err) = run(EXE, &["serve", "--config", "/nonexistent/gateway.toml"]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("credgate: error: "), "{err}");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    std::fs::write(
        &env.config_path,
        original.replacen(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"{busy_addr}\""),
            1,
        ),
    )
    .unwrap();
    let (code, _, err) = run(EXE, &["serve", "--config", &cfg]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&busy_addr), "{err}");
    assert!(every_line_prefixed(&err), "{err}");
}
