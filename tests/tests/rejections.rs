//! Issue 15, part 3: every rejection after the TLS handshake leaves exactly
//! one entry, and a client cannot get more concurrent work out of the
//! gateway than `max_concurrent_streams` by resetting its HTTP/2 streams.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tests::client::Proto;
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};

fn subject() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_http2_streams_does_not_buy_concurrency() {
    let env = Env::new().await;
    env.write_config("max_concurrent_streams = 2");
    env.upstream.raw(
        &subject(),
        200,
        serde_json::to_vec(
            &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
        )
        .unwrap(),
        Duration::from_millis(400),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let io = TokioIo::new(client.connect(gw.data_addr()).await.unwrap());
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .unwrap();
    tokio::spawn(conn);
    let port = gw.data_addr().port();
    let request = move || {
        let mut b = http::Request::get(format!("https://localhost:{port}{}", subject()));
        for (k, v) in INSPECTOR_HEADERS {
            b = b.header(k, v);
        }
        b.body(Full::new(Bytes::new())).unwrap()
    };
    // Learn the server's SETTINGS first.
    let r = sender.clone().send_request(request()).await.unwrap();
    assert_eq!(r.status(), 200);
    // Forty requests, each given up (RST_STREAM CANCEL) after 20 ms, while
    // the upstream takes 400 ms: the handlers keep running to log them.
    for _ in 0..40 {
        let mut s = sender.clone();
        let _ = tokio::time::timeout(Duration::from_millis(20), s.send_request(request())).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let max = env.upstream.max_inflight();
    assert!(
        max <= 2,
        "{max} upstream requests at once from one connection limited to 2 streams"
    );
    gw.shutdown().await.unwrap();
    // Every request that reached the upstream was logged.
    let entries = env.entries().await.len();
    assert!(entries >= env.upstream.seen().len(), "{entries} entries");
}

/// The statuses and rules of every entry, in commit order.
async fn logged(env: &Env) -> Vec<(u16, String)> {
    env.entries()
        .await
        .into_iter()
        .map(|e| (e.entry.status, e.entry.rule))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_cut_off_by_the_header_timeout_is_logged_once_an_idle_connection_is_not() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = Env::new().await;
    env.write_config("header_read_timeout_ms = 300");
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);

    // Part of a request: its line and one header, then nothing.
    let mut s = client.connect(gw.data_addr()).await.unwrap();
    s.write_all(format!("GET {} HTTP/1.1\r\nHost: localhost\r\n", subject()).as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    // An idle connection: nothing sent at all.
    let mut idle = client.connect(gw.data_addr()).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
    // A served request, then the keep-alive connection left idle.
    let mut kept = client.connect(gw.data_addr()).await.unwrap();
    let head = "GET /nowhere HTTP/1.1\r\nHost: localhost\r\nInquiry-Purpose: administrative_inspection\r\n\r\n";
    kept.write_all(head.as_bytes()).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), kept.read_to_end(&mut buf)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.shutdown().await.unwrap();
    let entries = logged(&env).await;
    let timed_out: Vec<_> = entries.iter().filter(|(s, _)| *s == 408).collect();
    assert_eq!(timed_out.len(), 1, "{entries:?}");
    assert!(
        timed_out[0].1.contains("header_read_timeout_ms"),
        "{entries:?}"
    );
    // the partial head, and the served request: nothing for the idle ones
    assert_eq!(entries.len(), 2, "{entries:?}");
}

/// An HPACK literal header field without indexing, new name (RFC 7541
/// §6.2.2), with short plain strings.
fn literal(out: &mut Vec<u8>, name: &str, value: &str) {
    assert!(name.len() < 127 && value.len() < 127);
    out.push(0x00);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(value.len() as u8);
    out.extend_from_slice(value.as_bytes());
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A request's HEADERS block with `path` and `extra` headers.
fn headers_block(path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    literal(&mut block, ":method", "GET");
    literal(&mut block, ":scheme", "https");
    literal(&mut block, ":authority", "localhost");
    literal(&mut block, ":path", path);
    for (k, v) in INSPECTOR_HEADERS.iter().chain(extra) {
        literal(&mut block, &k.to_ascii_lowercase(), v);
    }
    block
}

/// Speaks raw HTTP/2 to the gateway: the preface, empty SETTINGS, then
/// `frames`; reads until the server closes or 3 s pass. Returns the frame
/// types the server sent.
async fn raw_h2(env: &Env, gw: &gateway::server::Running, frames: &[Vec<u8>]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let mut s = client.connect(gw.data_addr()).await.unwrap();
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    for f in frames {
        out.extend_from_slice(f);
    }
    s.write_all(&out).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut got)).await;
    let mut kinds = Vec::new();
    let mut rest = &got[..];
    while rest.len() >= 9 {
        let len = (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
        kinds.push(rest[3]);
        rest = rest.get(9 + len..).unwrap_or_default();
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http2_streams_are_logged_once_each() {
    let env = Env::new().await;
    let gw = env.start().await;
    // Stream 1: no :scheme (malformed, RFC 9113 §8.3.1).
    let mut no_scheme = Vec::new();
    literal(&mut no_scheme, ":method", "GET");
    literal(&mut no_scheme, ":authority", "localhost");
    literal(&mut no_scheme, ":path", &subject());
    // Stream 3: an empty :path.
    let empty_path = headers_block("", &[]);
    // Stream 5: a well-formed request, answered (404: no such route; what
    // matters is that its handler logs it, once).
    let fine = headers_block("/nowhere", &[]);
    let kinds = raw_h2(
        &env,
        &gw,
        &[
            frame(0x1, 0x5, 1, &no_scheme),
            frame(0x1, 0x5, 3, &empty_path),
            frame(0x1, 0x5, 5, &fine),
        ],
    )
    .await;
    assert!(
        kinds.contains(&0x3),
        "no RST_STREAM from the gateway: {kinds:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.shutdown().await.unwrap();
    let entries = logged(&env).await;
    let refused: Vec<_> = entries
        .iter()
        .filter(|(_, rule)| rule.contains("PROTOCOL_ERROR"))
        .collect();
    assert_eq!(refused.len(), 2, "{entries:?}");
    assert!(refused.iter().all(|(s, _)| *s == 400), "{entries:?}");
    assert_eq!(entries.len(), 3, "{entries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_error_is_logged_once() {
    let env = Env::new().await;
    let gw = env.start().await;
    // HEADERS on stream 0 is a connection error (RFC 9113 §6.2).
    let block = headers_block(&subject(), &[]);
    let kinds = raw_h2(&env, &gw, &[frame(0x1, 0x5, 0, &block)]).await;
    assert!(
        kinds.contains(&0x7),
        "no GOAWAY from the gateway: {kinds:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.shutdown().await.unwrap();
    let entries = logged(&env).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].0, 400);
    assert!(
        entries[0].1.contains("HTTP/2 connection closed"),
        "{entries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_over_http2_is_logged() {
    let env = Env::new().await;
    let gw = env.start().await;
    let mut block = Vec::new();
    literal(&mut block, ":method", "HEAD");
    literal(&mut block, ":scheme", "https");
    literal(&mut block, ":authority", "localhost");
    literal(&mut block, ":path", &subject());
    for (k, v) in INSPECTOR_HEADERS {
        literal(&mut block, &k.to_ascii_lowercase(), v);
    }
    let kinds = raw_h2(&env, &gw, &[frame(0x1, 0x5, 1, &block)]).await;
    assert!(kinds.contains(&0x1), "no HEADERS answer: {kinds:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.shutdown().await.unwrap();
    let entries = logged(&env).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
}

/// An inquiry header given twice is refused (400, naming it) before the
/// upstream is asked, over HTTP/1 and HTTP/2: the gateway once took the
/// first `Inquiry-Purpose` of two and dropped a second `Inquiry-Case`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inquiry_header_given_twice_is_refused_and_named() {
    let env = Env::new().await;
    env.upstream.json(
        &subject(),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    );
    let gw = env.start().await;
    for proto in [Proto::Http1, Proto::Http2] {
        let client = env.client(Some("HN-AMR-0001"), proto);
        for (name, headers) in [
            (
                "Inquiry-Purpose",
                vec![
                    ("Inquiry-Purpose", "administrative_inspection"),
                    ("Inquiry-Purpose", "recruitment"),
                    ("Inquiry-Case", "HN-1"),
                ],
            ),
            (
                "Inquiry-Case",
                vec![
                    ("Inquiry-Purpose", "administrative_inspection"),
                    ("Inquiry-Case", "A"),
                    ("Inquiry-Case", "B"),
                ],
            ),
        ] {
            let r = client
                .get(gw.data_addr(), &subject(), &headers)
                .await
                .unwrap();
            assert_eq!(r.status, 400, "{name} {proto:?}: {:?}", r.body);
            assert_eq!(r.code().as_deref(), Some("invalid_request"));
            let text = String::from_utf8_lossy(&r.body).to_string();
            assert!(
                text.contains(&format!("`{name}` is given more than once")),
                "{text}"
            );
        }
        // Once each: served.
        let ok = client
            .get(gw.data_addr(), &subject(), &INSPECTOR_HEADERS)
            .await
            .unwrap();
        assert_eq!(ok.status, 200, "{proto:?}");
    }
    assert_eq!(
        env.upstream.seen().len(),
        2,
        "only the well-formed requests were sent on"
    );
    gw.shutdown().await.unwrap();
}
