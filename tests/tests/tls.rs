//! TLS posture of the data plane against a live gateway: TLS 1.0/1.1 and
//! suites without forward secrecy are refused (hand-built ClientHellos and
//! `openssl s_client`), exactly the forward-secret AEAD suites negotiate,
//! and client certificates without the clientAuth usage or chained through
//! a CA:FALSE intermediate are refused without an HTTP response or log entry.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tests::client::{ClientError, Proto};
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::raw::{self, alert, version, HelloAnswer};
use time::OffsetDateTime;

fn canned(env: &Env) {
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    );
}

fn pem_certs(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_pemfile::certs(&mut std::fs::read(path).unwrap().as_slice())
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A client config offering exactly `suite`, presenting officer HN-AMR-0001.
fn client_for_suite(env: &Env, suite: rustls::SupportedCipherSuite) -> rustls::ClientConfig {
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![suite],
        ..rustls::crypto::ring::default_provider()
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in pem_certs(&env.pki.join(certs::pki::CA_CERT)) {
        roots.add(c).unwrap();
    }
    let (cert, key) = env.officer("HN-AMR-0001");
    let key = rustls_pemfile::private_key(&mut std::fs::read(key).unwrap().as_slice())
        .unwrap()
        .unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[suite.version()])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(pem_certs(&cert), key)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_and_tls11_client_hellos_get_a_protocol_version_alert() {
    let env = Env::new().await;
    let gw = env.start().await;
    // Suites every TLS 1.0/1.1 client offers.
    let legacy = [0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035];
    for v in [version::TLS10, version::TLS11] {
        let answer = raw::probe_hello(gw.data_addr(), &raw::client_hello(v, &legacy)).await;
        assert_eq!(
            answer,
            HelloAnswer::Alert(alert::PROTOCOL_VERSION),
            "version {v:#06x}"
        );
    }
    // The same probe with TLS 1.2 and a strong suite gets a ServerHello, so
    // the alerts above are about the version, not a broken probe.
    let ok = raw::probe_hello(
        gw.data_addr(),
        &raw::client_hello(version::TLS12, &[0xc02b]),
    )
    .await;
    assert_eq!(ok, HelloAnswer::ServerHello);
    assert!(env.entries().await.is_empty());
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hello_without_forward_secret_aead_suites_gets_a_handshake_failure() {
    let env = Env::new().await;
    let gw = env.start().await;
    // RSA key exchange (GCM and CBC), CBC with ECDHE, 3DES: none offered.
    let weak = [
        0x009c, 0x009d, 0x002f, 0x0035, 0x003c, 0xc009, 0xc013, 0xc027, 0x000a,
    ];
    let answer = raw::probe_hello(gw.data_addr(), &raw::client_hello(version::TLS12, &weak)).await;
    assert_eq!(answer, HelloAnswer::Alert(alert::HANDSHAKE_FAILURE));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_forward_secret_aead_suites_negotiate() {
    let env = Env::new().await;
    canned(&env);
    let gw = env.start().await;
    let mut negotiated = Vec::new();
    for suite in rustls::crypto::ring::ALL_CIPHER_SUITES {
        let config = Arc::new(client_for_suite(&env, *suite));
        let tcp = tokio::net::TcpStream::connect(gw.data_addr())
            .await
            .unwrap();
        let connector = tokio_rustls::TlsConnector::from(config);
        let name = ServerName::try_from("localhost").unwrap();
        let attempt =
            tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp)).await;
        if let Ok(Ok(stream)) = attempt {
            let got = stream.get_ref().1.negotiated_cipher_suite().unwrap();
            assert_eq!(got.suite(), suite.suite());
            negotiated.push(format!("{:?}", suite.suite()));
        }
    }
    // The dev server certificate is ECDSA P-256, so of the configured
    // TLS 1.2 suites only the ECDHE_ECDSA ones can be used with it.
    let mut expected: Vec<String> = gateway::tls::CIPHER_SUITES
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .filter(|n| !n.starts_with("TLS_ECDHE_RSA"))
        .collect();
    expected.sort();
    negotiated.sort();
    assert_eq!(negotiated, expected);
    // And the configured list is the provider's TLS 1.3 + ECDHE AEAD set.
    let configured: Vec<_> = gateway::tls::CIPHER_SUITES
        .iter()
        .map(|s| s.suite())
        .collect();
    let strong: Vec<_> = rustls::crypto::ring::DEFAULT_CIPHER_SUITES
        .iter()
        .map(|s| s.suite())
        .collect();
    assert_eq!(configured.len(), strong.len());
    assert!(strong.iter().all(|s| configured.contains(s)));
    gw.shutdown().await.unwrap();
}

/// `openssl s_client` against the data plane with the officer's cert;
/// (exit code, stdout + stderr).
async fn s_client(env: &Env, addr: std::net::SocketAddr, args: &[&str]) -> (Option<i32>, String) {
    let (cert, key) = env.officer("HN-AMR-0001");
    let mut cmd = tokio::process::Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .arg("-servername")
        .arg("localhost")
        .arg("-CAfile")
        .arg(env.pki.join(certs::pki::CA_CERT))
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(15), cmd.output())
        .await
        .expect("openssl s_client did not finish in 15 s")
        .expect("openssl must be installed for this test");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_without_forward_secrecy_or_with_tls11_cannot_connect() {
    let env = Env::new().await;
    let gw = env.start().await;
    let addr = gw.data_addr();
    // Control: the same invocation with a strong suite works.
    let (code, out) = s_client(
        &env,
        addr,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
    )
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ECDHE-ECDSA-AES128-GCM-SHA256"), "{out}");

    let (code, out) = s_client(&env, addr, &["-tls1_2", "-cipher", "AES128-SHA"]).await;
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("alert handshake failure"), "{out}");
    assert!(out.contains("Cipher is (NONE)"), "{out}");

    let (code, out) = s_client(&env, addr, &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]).await;
    // openssl's TLS 1.1 hello offers only CBC suites; rustls answers it
    // with `handshake_failure` or `protocol_version` — either way a fatal
    // alert and no session.
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("alert protocol version") || out.contains("alert handshake failure"),
        "{out}"
    );
    assert!(out.contains("Cipher is (NONE)"), "{out}");
    gw.shutdown().await.unwrap();
}

/// A request with `cert`/`key` fails at the TLS layer, nothing is logged,
/// and a good officer is still served.
async fn refused_without_a_trace(env: &Env, cert: &Path, key: &Path) {
    let gw = env.start().await;
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    for proto in [Proto::Http1, Proto::Http2] {
        let bad = env.client_with(cert, key, proto);
        match bad.get(gw.data_addr(), &path, &INSPECTOR_HEADERS).await {
            Err(ClientError::Handshake(_) | ClientError::Http(_)) => {}
            other => panic!("refused certificate got {other:?}"),
        }
    }
    let good = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = good
        .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let entries = env.entries().await;
    assert_eq!(
        entries.len(),
        1,
        "only the good officer's request is logged"
    );
    assert_eq!(entries[0].entry.officer_id, "HN-AMR-0001");
    assert_eq!(env.upstream.seen().len(), 1);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_without_client_auth_usage_is_refused() {
    let env = Env::new().await;
    canned(&env);
    let now = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let spec = certs::pki::OfficerSpec::for_days(
        "HN-AMR-0001",
        "Li Na",
        "Hunan Administration for Market Regulation",
        30,
        now,
    );
    let prefix = env.pki.join("server-auth-only");
    certs::testing::issue_without_client_auth(&env.pki, &spec, &prefix).unwrap();
    refused_without_a_trace(
        &env,
        &prefix.with_extension("pem"),
        &prefix.with_extension("key"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_through_a_ca_false_intermediate_is_refused() {
    let env = Env::new().await;
    canned(&env);
    let now = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let spec = certs::pki::OfficerSpec::for_days(
        "HN-AMR-0001",
        "Li Na",
        "Hunan Administration for Market Regulation",
        30,
        now,
    );
    let prefix = env.pki.join("via-rogue-intermediate");
    certs::testing::issue_via_intermediate(&env.pki, &spec, &prefix).unwrap();
    let chain = pem_certs(&prefix.with_extension("pem"));
    assert_eq!(chain.len(), 2, "leaf and CA:FALSE intermediate are sent");
    refused_without_a_trace(
        &env,
        &prefix.with_extension("pem"),
        &prefix.with_extension("key"),
    )
    .await;
}
