//! `--serve`: a fast stand-in upstream answering fixed bodies over HTTP/1.1.
//!
//! This module owns serving captured sample-database answers (real bodies,
//! fetched once from `credgate sample-db`) from memory, so that in a
//! comparison the upstream costs as little as possible and the proxies are
//! what is measured. It serves `GET` of the configured paths with
//! `application/json`, 404 for anything else, keeps connections alive, and
//! stops on the shutdown future.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Body returned for unknown paths.
const NOT_FOUND: &[u8] = br#"{"error":{"code":"not_found","message":"no such path"}}"#;

/// Path (with or without query) → body.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    by_path: HashMap<String, Bytes>,
}

impl Routes {
    /// Build from `(path, body)` pairs; a later pair for the same path wins.
    pub fn new(pairs: impl IntoIterator<Item = (String, Bytes)>) -> Routes {
        Routes {
            by_path: pairs.into_iter().collect(),
        }
    }

    /// The body for a request target: the exact path and query first, then
    /// the path alone.
    pub fn lookup(&self, path: &str, query: Option<&str>) -> Option<&Bytes> {
        if let Some(q) = query {
            if let Some(body) = self.by_path.get(&format!("{path}?{q}")) {
                return Some(body);
            }
        }
        self.by_path.get(path)
    }

    /// The response to one request.
    pub fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let found = (req.method() == http::Method::GET)
            .then(|| self.lookup(req.uri().path(), req.uri().query()))
            .flatten();
        let (status, body) = match found {
            Some(body) => (StatusCode::OK, body.clone()),
            None => (StatusCode::NOT_FOUND, Bytes::from_static(NOT_FOUND)),
        };
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Serve one accepted connection (plain or already-TLS) until it closes.
pub async fn serve_connection<IO>(io: IO, routes: Arc<Routes>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let resp = routes.respond(&req);
        async move { Ok::<_, Infallible>(resp) }
    });
    // A client that resets mid-request is not the server's problem.
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Accept and serve connections on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, routes: Arc<Routes>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors or similar: back off a little.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, routes.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
