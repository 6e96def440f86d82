//! The socket-free request harness (`gateway::server::harness`): every
//! conformance case through the gateway's request path without a listener
//! or a TLS connection — the same assertions as the end-to-end run over
//! real TLS (`wiring.rs`) — plus what a connection would add per request:
//! the identity from the certificate and its revocation re-check.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gateway::server::harness::Harness;
use gateway::server::Clock;
use http_body_util::Empty;
use tests::env::Env;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The DER of `officer`'s certificate, as the TLS handshake would hand it on.
fn cert_der(env: &Env, officer: &str) -> Vec<u8> {
    let pem = std::fs::read(env.officer(officer).0).unwrap();
    let mut reader = std::io::BufReader::new(pem.as_slice());
    let der = rustls_pemfile::certs(&mut reader)
        .next()
        .unwrap()
        .unwrap()
        .as_ref()
        .to_vec();
    der
}

fn request(case: &serde_json::Value) -> http::Request<Empty<Bytes>> {
    let req = &case["request"];
    // An HTTP/1.1 request as a client sends it: with its Host.
    let mut b = http::Request::builder()
        .method(req["method"].as_str().unwrap())
        .uri(req["path"].as_str().unwrap())
        .header("host", "credgate.test");
    for (k, v) in req["headers"].as_object().unwrap() {
        b = b.header(k.as_str(), v.as_str().unwrap());
    }
    b.body(Empty::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conformance_case_through_the_request_path_without_sockets() {
    let env = Env::new().await;
    let clock = Clock::manual(OffsetDateTime::UNIX_EPOCH);
    let gw = Harness::open(env.config(), clock.clone()).await.unwrap();
    let cases = tests::conformance_cases();
    let started = Instant::now();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        clock.set(OffsetDateTime::parse(case["now"].as_str().unwrap(), &Rfc3339).unwrap());
        let path = case["request"]["path"].as_str().unwrap();
        env.upstream.clear_seen();
        if let Some(up) = case["upstream"].as_object() {
            let body = match up.get("raw") {
                Some(raw) => raw.as_str().unwrap().as_bytes().to_vec(),
                None => serde_json::to_vec(&up["body"]).unwrap(),
            };
            let status = u16::try_from(up["status"].as_u64().unwrap()).unwrap();
            env.upstream.raw(
                path.split('?').next().unwrap(),
                status,
                body,
                Duration::ZERO,
            );
        }
        let cert = cert_der(&env, case["officer"].as_str().unwrap());
        let resp = gw.data(&cert, request(case)).await;
        if case["upstream"].is_null() {
            assert!(env.upstream.seen().is_empty(), "{name}: upstream was asked");
        }
        let id = resp.headers()["inquiry-id"].to_str().unwrap().to_owned();
        let entry = env.entry(&id).await;
        tests::assert_case_answer(case, resp.status().as_u16(), resp.body(), &entry);
    }
    eprintln!(
        "{} conformance cases through the harness in {:?}",
        cases.len(),
        started.elapsed()
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_checks_identity_and_revocation_as_a_connection_does() {
    let env = Env::new().await;
    let gw = Harness::open(env.config(), Clock::system()).await.unwrap();
    let get = |path: &str| {
        http::Request::builder()
            .uri(path)
            .header("host", "credgate.test")
            .header("Inquiry-Purpose", "administrative_inspection")
            .header("Inquiry-Case", "HN-2026-00123")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    // A compliance identity on the data plane, a data identity on the
    // admin plane: refused by the plane's role check.
    let r = gw
        .data(
            &cert_der(&env, "CMP-0001"),
            get("/v1/subjects/91430100MA4L0XXX1N"),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = gw
        .admin(&cert_der(&env, "HN-AMR-0001"), get("/audit/entries"))
        .await;
    assert_eq!(r.status(), 403);
    let r = gw
        .admin(&cert_der(&env, "CMP-0001"), get("/audit/entries"))
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body());

    // Revoked after the handshake: the per-request re-check refuses it.
    certs::pki::revoke(&env.pki, &env.officer("HN-AMR-0001").0).unwrap();
    gw.reload().unwrap();
    let r = gw
        .data(
            &cert_der(&env, "HN-AMR-0001"),
            get("/v1/subjects/91430100MA4L0XXX1N"),
        )
        .await;
    let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(r.status(), 403, "{body}");
    assert_eq!(body["error"]["code"], "certificate_revoked");
    // Every answer above has its entry.
    let logged = env.entries().await;
    assert!(logged.len() >= 4, "{}", logged.len());
    gw.shutdown().await.unwrap();
}
