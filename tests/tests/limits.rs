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
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(env.upstream.seen().is_empty());
    // Refused by the HTTP layer, and still in the inquiry log.
    let logged = tests::env::eventually(5, || async { env.entries().await.len() == 1 }).await;
    assert!(logged, "the refused request head was not logged");
    let e = &env.entries().await[0].entry;
    assert_eq!((e.status, e.reason.as_str()), (431, "invalid_request"));
    assert_eq!(e.officer_id, "HN-AMR-0001");
    gw.shutdown().await.unwrap();
}

/// A head over `max_header_bytes` (or with more than `max_headers` fields)
/// but within what hyper buffers reaches the gateway's own checks: its
/// 431 goes out only once its entry is committed, like any refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_over_the_limit_is_logged_before_its_431() {
    let env = Env::new().await;
    env.write_config("max_header_bytes = 8192\nmax_headers = 20");
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let too_large = format!("x-padding: {}\r\n", "a".repeat(12 * 1024));
    let too_many: String = (0..30).map(|i| format!("x-h{i}: v\r\n")).collect();
    for (i, extra) in [too_large, too_many].iter().enumerate() {
        let mut tls = client.connect(gw.data_addr()).await.unwrap();
        tls.write_all(request(extra).as_bytes()).await.unwrap();
        let (bytes, _) = read_until_eof(&mut tls, 5).await;
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(text.starts_with("http/1.1 431"), "{text}");
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("inquiry-id:"))
            .map(|v| v.trim().to_owned())
            .expect("a 431 from the gateway names its inquiry");
        // Read at once, not eventually: the entry was there before the 431.
        let entries = env.entries().await;
        assert_eq!(entries.len(), i + 1, "entry not committed before the 431");
        let e = entries
            .iter()
            .find(|e| e.entry.inquiry_id.to_lowercase() == id)
            .expect("the inquiry id the client got is in the log");
        assert_eq!(
            (e.entry.status, e.entry.reason.as_str()),
            (431, "invalid_request")
        );
    }
    assert!(env.upstream.seen().is_empty());
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_max_wait_until_one_closes() {
    let env = Env::new().await;
    env.write_config("max_connections = 1");
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let held = client.connect(gw.data_addr()).await.unwrap();
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let waiting = tokio::time::timeout(
        Duration::from_millis(800),
        client.get(gw.data_addr(), &path, &INSPECTOR_HEADERS),
    )
    .await;
    assert!(
        waiting.is_err(),
        "a second connection was served past max_connections"
    );
    drop(held);
    let r = client
        .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_live_connections_serving() {
    let env = Env::new().await;
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(request("").as_bytes()).await.unwrap();
    assert!(read_response(&mut tls).await.starts_with("HTTP/1.1 200"));
    gw.reload().unwrap();
    tls.write_all(request("").as_bytes()).await.unwrap();
    let second = read_response(&mut tls).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_exactly_one_entry() {
    let env = Env::new().await;
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON}}),
    );
    let gw = env.start().await;
    let addr = gw.data_addr();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let proto = if i % 2 == 0 {
            Proto::Http1
        } else {
            Proto::Http2
        };
        let client = env.client(Some("HN-AMR-0001"), proto);
        tasks.push(tokio::spawn(async move {
            let path = format!("/v1/subjects/{LEGAL_PERSON}");
            // Every third request is refused (no purpose) and still logged.
            let headers: &[(&str, &str)] = if i % 3 == 0 { &[] } else { &INSPECTOR_HEADERS };
            let r = client.get(addr, &path, headers).await.unwrap();
            (r.header("inquiry-id").unwrap().to_string(), r.status)
        }));
    }
    let mut answered = Vec::new();
    for t in tasks {
        answered.push(t.await.unwrap());
    }
    assert_eq!(answered.iter().filter(|(_, s)| *s == 400).count(), 20);
    let entries = env.entries().await;
    assert_eq!(entries.len(), 60);
    for (id, status) in answered {
        let e = entries
            .iter()
            .find(|e| e.entry.inquiry_id == id)
            .unwrap_or_else(|| panic!("{id} not logged"));
        assert_eq!(e.entry.status, status);
    }
    gw.shutdown().await.unwrap();
}

/// Read one complete response (head + `content-length` body) as text.
async fn read_response(tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed mid-response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_request_is_still_logged() {
    let env = Env::new().await;
    env.upstream.raw(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        br#"{"subject":{"id":"91430100MA4L0XXX1N"}}"#.to_vec(),
        Duration::from_millis(800),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(request("").as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(tls);
    let logged = tests::env::eventually(5, || async { env.entries().await.len() == 1 }).await;
    assert!(logged, "the abandoned inquiry was not logged");
    let e = &env.entries().await[0].entry;
    assert_eq!(e.status, 200);
    assert_eq!(e.upstream_status, Some(200));
    gw.shutdown().await.unwrap();
}

/// A client that sends a whole request and closes at once (or shuts its
/// write side down) before anything was read: hyper's default dropped such
/// a request unseen, with no entry (an outside probe, 20 of 20 closes
/// within 10 ms). Each is taken up and logged now; the half-closed one is
/// answered too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_and_closed_at_once_is_logged() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    for _ in 0..5 {
        let mut tls = client.connect(gw.data_addr()).await.unwrap();
        tls.write_all(request("").as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        drop(tls);
    }
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(request("").as_bytes()).await.unwrap();
    tls.shutdown().await.unwrap();
    let (bytes, _) = read_until_eof(&mut tls, 5).await;
    let text = String::from_utf8_lossy(&bytes);
    // (The test upstream knows no such subject: its 404 is passed on.)
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    assert!(text.contains("inquiry-id: "), "{text}");
    let logged = tests::env::eventually(5, || async { env.entries().await.len() == 6 }).await;
    assert!(logged, "{} of 6 logged", env.entries().await.len());
    gw.shutdown().await.unwrap();
}

/// HTTP/2: requests sent whole (HEADERS with END_STREAM) on a connection
/// the client closes at once are dropped by h2 before the gateway sees
/// them; the connection's frames are counted, and each request that never
/// reached a handler (nor was refused with its own entry) is logged as
/// abandoned (an outside probe: ten such requests left no entry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_requests_sent_and_abandoned_are_logged() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    // HPACK literal header fields, not indexed, new names, no Huffman.
    let field = |name: &str, value: &str| {
        let mut f = vec![0u8, name.len() as u8];
        f.extend_from_slice(name.as_bytes());
        f.push(value.len() as u8);
        f.extend_from_slice(value.as_bytes());
        f
    };
    let frame = |kind: u8, flags: u8, stream: u32, payload: &[u8]| {
        let len = payload.len() as u32;
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    };
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(4, 0, 0, &[]));
    for stream in [1u32, 3, 5, 7] {
        let mut block = Vec::new();
        for (n, v) in [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "localhost"),
            (":path", path.as_str()),
        ] {
            block.extend(field(n, v));
        }
        // END_STREAM | END_HEADERS
        out.extend(frame(1, 0x5, stream, &block));
    }
    tls.write_all(&out).await.unwrap();
    tls.flush().await.unwrap();
    drop(tls);
    let logged = tests::env::eventually(5, || async { env.entries().await.len() >= 4 }).await;
    let entries = env.entries().await;
    assert!(logged, "{} of 4 logged: {entries:?}", entries.len());
    assert_eq!(entries.len(), 4, "{entries:?}");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_is_refused_and_logged() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut tls = client.connect(gw.data_addr()).await.unwrap();
    tls.write_all(b"THIS IS NOT HTTP\r\n\r\n").await.unwrap();
    let (bytes, _) = read_until_eof(&mut tls, 5).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let logged = tests::env::eventually(5, || async { env.entries().await.len() == 1 }).await;
    assert!(logged, "the malformed request was not logged");
    let e = &env.entries().await[0].entry;
    assert_eq!((e.status, e.decision), (400, audit::Decision::Deny));
    gw.shutdown().await.unwrap();
}
