use super::*;
use std::sync::Mutex;

fn head(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, http::HeaderValue::from_static(v));
    }
    h
}

#[test]
fn json_media_types_are_accepted_with_parameters() {
    for ok in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/problem+json",
        "application/vnd.credit.v1+json ; q=1",
    ] {
        assert!(is_json_media_type(ok), "{ok}");
    }
}

#[test]
fn other_media_types_are_refused() {
    for bad in [
        "text/html",
        "text/json",
        "application/jsonp",
        "application/+json",
        "application/x-json-stream",
        "json",
        "",
    ] {
        assert!(!is_json_media_type(bad), "{bad}");
    }
}

#[test]
fn a_success_needs_json_and_no_encoding() {
    assert_eq!(
        acceptable_success(&head(&[("content-type", "application/json")])),
        Ok(())
    );
    assert_eq!(
        acceptable_success(&head(&[
            ("content-type", "application/json"),
            ("content-encoding", "identity"),
            ("transfer-encoding", "chunked"),
        ])),
        Ok(())
    );
    // No label at all: the body must then parse as JSON (checked later).
    assert_eq!(acceptable_success(&head(&[])), Ok(()));
    assert!(acceptable_success(&head(&[("content-type", "")])).is_err());
    assert!(acceptable_success(&head(&[("content-type", "text/plain")])).is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-type", "text/html"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[("content-type", "text/html")])).is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-encoding", "identity"),
        ("content-encoding", "br"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("transfer-encoding", "gzip, chunked"),
    ]))
    .is_err());
}

#[test]
fn only_a_refused_answer_carries_the_upstream_status() {
    assert_eq!(
        UpstreamError::Refused {
            status: 200,
            why: "x"
        }
        .upstream_status(),
        Some(200)
    );
    assert_eq!(UpstreamError::Timeout.upstream_status(), None);
    assert_eq!(UpstreamError::Invalid("x").upstream_status(), None);
}

/// A plain-HTTP upstream on loopback that answers every request with a
/// small JSON body (closing after it when `close_after` says so for that
/// request number) and counts the connections it accepted and the
/// request lines it read, with the target of the last one.
struct Counting {
    addr: std::net::SocketAddr,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    last_target: Arc<Mutex<String>>,
}

impl Counting {
    async fn start(close_after: fn(usize) -> bool) -> Counting {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let last_target = Arc::new(Mutex::new(String::new()));
        let (acc, last) = (accepted.clone(), last_target.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                acc.fetch_add(1, Ordering::SeqCst);
                let (requests, last) = (requests.clone(), last.clone());
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let target = line.split(' ').nth(1).unwrap_or_default().to_string();
                        *last.lock().unwrap() = target;
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if h == "\r\n" {
                                break;
                            }
                        }
                        let n = requests.fetch_add(1, Ordering::SeqCst);
                        let close = close_after(n);
                        let body = format!("{{\"n\":{n}}}");
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                            body.len(),
                            if close { "Connection: close\r\n" } else { "" }
                        );
                        if w.write_all(format!("{head}{body}").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                        if close {
                            return;
                        }
                    }
                });
            }
        });
        Counting {
            addr,
            accepted,
            last_target,
        }
    }

    fn upstream(&self, prefix: &str) -> Upstream {
        let cfg = UpstreamConfig {
            url: format!("http://{}{prefix}", self.addr).parse().unwrap(),
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            max_body_bytes: 1 << 20,
            tls: None,
        };
        Upstream::new(&cfg, Duration::from_secs(5)).unwrap()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn one_connection_serves_sequential_requests_with_the_prefix_in_origin_form() {
    let up = Counting::start(|_| false).await;
    let client = up.upstream("/v1/");
    for i in 0..20 {
        let r = client
            .get("/subjects/X?items=a", HeaderMap::new())
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, format!("{{\"n\":{i}}}"));
    }
    assert_eq!(up.accepted(), 1, "keep-alive: one connection for all");
    assert_eq!(*up.last_target.lock().unwrap(), "/v1/subjects/X?items=a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_open_at_most_one_connection_each_and_reuse_them() {
    let up = Counting::start(|_| false).await;
    let client = Arc::new(up.upstream(""));
    for _ in 0..5 {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.get("/s", HeaderMap::new()).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().status, 200);
        }
    }
    let n = up.accepted();
    assert!((1..=8).contains(&n), "{n} connections for 8 at a time");
}

#[tokio::test]
async fn an_answer_that_closes_its_connection_is_not_reused() {
    // Every other answer says `Connection: close`; each next request must
    // still be answered, on a new connection.
    let up = Counting::start(|n| n % 2 == 1).await;
    let client = up.upstream("");
    for i in 0..10 {
        let r = client.get("/s", HeaderMap::new()).await;
        assert_eq!(r.map(|r| r.status), Ok(200), "request {i}");
    }
    assert_eq!(up.accepted(), 5);
}
