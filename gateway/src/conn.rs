//! Accept loop and HTTP/1.1 connections with a graceful stop, one way for
//! the listeners that are not the gateway's own (the witness, the sample
//! database).

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Accepts connections on `listener` until `shutdown` resolves and runs
/// what `connect` makes of each with the stop signal it is to watch (`None`:
/// `connect` refused it and it is closed); then stops accepting, signals
/// stop, lets open connections finish for up to `drain` and aborts the
/// rest. A failed accept is logged as `<name>: accept failed` and retried
/// after 50 ms.
pub async fn accept_until<C, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    drain: Duration,
    name: &str,
    mut connect: C,
) where
    C: FnMut(TcpStream, watch::Receiver<bool>) -> Option<Fut> + Send,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if let Some(conn) = connect(stream, stop_rx.clone()) {
                        conns.spawn(conn);
                    }
                }
                Err(e) => {
                    // Usually out of file descriptors: back off, keep serving.
                    tracing::warn!(error = %e, "{name}: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(drain, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
    }
}

/// Serves `io` with `builder` and `handle` until the client is done or
/// `stop` holds `true` (or its sender is gone); then in-flight requests
/// finish and the connection closes. A connection ending in an error is
/// logged at debug level as `<name>: connection ended with an error`.
pub async fn serve_until_stopped<IO, H, Fut>(
    builder: &http1::Builder,
    io: IO,
    handle: H,
    mut stop: watch::Receiver<bool>,
    name: &str,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let svc = service_fn(move |req| {
        let answer = handle(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "{name}: connection ended with an error");
            }
        }
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves once `stop` holds `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
