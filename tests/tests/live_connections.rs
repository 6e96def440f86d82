//! Live connections after the handshake: a client certificate revoked by a
//! CRL reload, or past its notAfter, stops working on HTTP/1.1 keep-alive
//! and HTTP/2 connections opened before; each refused request is logged.

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tests::client::Client;
use tests::client::Proto;
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};

fn subject_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

/// What one answer on a live connection looked like.
struct Answer {
    status: u16,
    code: Option<String>,
    connection: Option<String>,
    inquiry_id: String,
}

async fn answer(resp: http::Response<hyper::body::Incoming>) -> Answer {
    let status = resp.status().as_u16();
    let connection = resp
        .headers()
        .get("connection")
        .map(|v| v.to_str().unwrap().to_string());
    let inquiry_id = resp.headers()["inquiry-id"].to_str().unwrap().to_string();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or(json!(null));
    let code = v["error"]["code"].as_str().map(str::to_string);
    Answer {
        status,
        code,
        connection,
        inquiry_id,
    }
}

fn request(uri: String) -> Request<Empty<Bytes>> {
    let mut b = Request::builder().method("GET").uri(uri);
    for (k, v) in INSPECTOR_HEADERS {
        b = b.header(k, v);
    }
    b.body(Empty::new()).unwrap()
}

/// An HTTP/1.1 keep-alive connection.
struct H1 {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    addr: std::net::SocketAddr,
}

impl H1 {
    async fn open(client: &Client, addr: std::net::SocketAddr) -> H1 {
        let io = TokioIo::new(client.connect(addr).await.unwrap());
        let (sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        H1 { sender, addr }
    }

    async fn get(&mut self) -> Answer {
        let mut req = request(subject_path());
        req.headers_mut().insert(
            "host",
            format!("localhost:{}", self.addr.port()).parse().unwrap(),
        );
        self.sender.ready().await.unwrap();
        answer(self.sender.send_request(req).await.unwrap()).await
    }
}

/// An HTTP/2 connection.
struct H2 {
    sender: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    addr: std::net::SocketAddr,
}

impl H2 {
    async fn open(client: &Client, addr: std::net::SocketAddr) -> H2 {
        let io = TokioIo::new(client.connect(addr).await.unwrap());
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        H2 { sender, addr }
    }

    async fn get(&mut self) -> Answer {
        let uri = format!("https://localhost:{}{}", self.addr.port(), subject_path());
        self.sender.ready().await.unwrap();
        answer(self.sender.send_request(request(uri)).await.unwrap()).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_on_open_http1_and_http2_connections() {
    let env = Env::new().await;
    env.upstream.json(
        &subject_path(),
        200,
        &json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw = env.start().await;
    let h1_client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let h2_client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let mut h1 = H1::open(&h1_client, gw.data_addr()).await;
    let mut h2 = H2::open(&h2_client, gw.data_addr()).await;
    assert_eq!(h1.get().await.status, 200);
    assert_eq!(h2.get().await.status, 200);

    let (cert, _) = env.officer("HN-AMR-0001");
    certs::pki::revoke(&env.pki, &cert).unwrap();
    gw.reload().unwrap();

    let upstream_before = env.upstream.seen().len();
    let a1 = h1.get().await;
    assert_eq!(a1.status, 403);
    assert_eq!(a1.code.as_deref(), Some("certificate_revoked"));
    assert_eq!(a1.connection.as_deref(), Some("close"));
    let a2 = h2.get().await;
    assert_eq!(a2.status, 403);
    assert_eq!(a2.code.as_deref(), Some("certificate_revoked"));
    assert_eq!(
        env.upstream.seen().len(),
        upstream_before,
        "upstream was asked"
    );

    for id in [&a1.inquiry_id, &a2.inquiry_id] {
        let e = env.entry(id).await;
        assert_eq!(e.decision.as_str(), "deny");
        assert_eq!(e.reason, "certificate_revoked");
        assert_eq!(e.status, 403);
        assert_eq!(e.officer_id, "HN-AMR-0001");
        assert_eq!(e.path, subject_path());
    }

    // Both connections are closed by the gateway afterwards.
    let closed = tests::env::eventually(5, || {
        let done = h1.sender.is_closed() && h2.sender.is_closed();
        async move { done }
    })
    .await;
    assert!(closed, "a refused connection stayed open");
    // Another officer's connection is unaffected.
    let other = env.client(Some("HN-AMR-0002"), Proto::Http1);
    let r = other
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_ne!(r.code().as_deref(), Some("certificate_revoked"));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_past_its_not_after_is_refused_on_an_open_connection() {
    let env = Env::new().await;
    env.upstream.json(
        &subject_path(),
        200,
        &json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let clock = gateway::server::Clock::manual(time::OffsetDateTime::now_utc());
    let gw = env.start_with_clock(clock.clone()).await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let mut h2 = H2::open(&client, gw.data_addr()).await;
    assert_eq!(h2.get().await.status, 200);
    // Officer certificates in `Env` are valid for 30 days.
    clock.set(time::OffsetDateTime::now_utc() + time::Duration::days(31));
    let a = h2.get().await;
    assert_eq!(a.status, 403);
    assert_eq!(a.code.as_deref(), Some("certificate_expired"));
    let e = env.entry(&a.inquiry_id).await;
    assert_eq!(e.reason, "certificate_expired");
    assert_eq!(e.decision.as_str(), "deny");
    gw.shutdown().await.unwrap();
}

/// The real binary's process log names the inquiry id of a refusal on a
/// live connection (the SPEC: process logs carry the inquiry id); the
/// refusal's line once named only the officer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_on_a_live_connection_is_in_the_process_log_with_its_inquiry_id() {
    let env = Env::new().await;
    env.upstream.json(
        &subject_path(),
        200,
        &json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw =
        tests::process::Proc::serve(env!("CARGO_BIN_EXE_credgate-under-test"), &env.config_path)
            .await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut h1 = H1::open(&client, gw.data).await;
    assert_eq!(h1.get().await.status, 200);
    let (cert, _) = env.officer("HN-AMR-0001");
    certs::pki::revoke(&env.pki, &cert).unwrap();
    gw.signal("HUP");
    // The reload is off the runtime: ask until the revocation is in force.
    let mut answer = h1.get().await;
    for _ in 0..50 {
        if answer.status == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        answer = h1.get().await;
    }
    assert_eq!(answer.code.as_deref(), Some("certificate_revoked"));
    let logged = tests::env::eventually(5, || {
        let found = gw.stderr().contains(&answer.inquiry_id);
        async move { found }
    })
    .await;
    assert!(
        logged,
        "no process-log line names {}: {}",
        answer.inquiry_id,
        gw.stderr()
    );
}
