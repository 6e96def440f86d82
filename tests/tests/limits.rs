//! Connection limits: idle keep-alive connections are closed after
//! `idle_timeout_ms`, slow request heads after `header_read_timeout_ms`, and
//! oversized request heads are refused.

use std::time::Duration;

use tests::client::Proto;
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn request(extra: &str) -> String {
    let mut r = format!("GET /v1/subjects/{LEGAL_PERSON} HTTP/1.1\r\nhost: localhost\r\n");
    for (k, v) in INSPECTOR_HEADERS {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(extra);
    r.push_str("\r\n");
    r
}

/// Read until EOF or `secs`; (bytes read, whether EOF came).
async fn read_until_eof<S: AsyncReadExt + Unpin>(s: &mut S, secs: u64) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (out, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connection_is_closed() {
    let env = Env::new().await;
    env.write_config("idle_timeout_ms = 700");
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(request("").as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let (bytes, eof) = read_until_eof(&mut tls, 6).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(eof, "idle connection was never closed");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "closed too early"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_head_is_cut_off() {
    let env = Env::new().await;
    env.write_config("header_read_timeout_ms = 500");
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(b"GET /v1/subjects/ HTTP/1.1\r\nhost: loc")
        .await
        .unwrap();
    let (_, eof) = read_until_eof(&mut tls, 5).await;
    assert!(eof, "a stalled request head kept the connection open");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_head_is_refused_without_reaching_the_upstream() {
    let env = Env::new().await;
    env.write_config("max_header_bytes = 8192");
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    let huge = format!("x-padding: {}\r\n", "a".repeat(64 * 1024));
    let _ = tls.write_all(request(&huge).as_bytes()).await;
    let (bytes, _) = read_until_eof(&mut tls, 5).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(env.upstream.seen().is_empty());
    gw.shutdown().await.unwrap();
}
