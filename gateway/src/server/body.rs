//! The response body both planes answer with: a whole body in memory
//! (every answer but one), or a streamed admin-plane export
//! ([`crate::audit_api::ExportStream`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// The whole body (its length is known, so it gets a `Content-Length`).
    Full(Full<Bytes>),
    /// A streamed export (chunked on HTTP/1).
    Export(crate::audit_api::ExportStream),
    /// A whole body in memory holding an admin-plane permit until its last
    /// byte is taken ([`Held`]).
    Held(Held),
}

/// A body built in memory, handed to the connection [`HELD_CHUNK`] bytes at
/// a time (as flow control lets it go), holding a permit until its last
/// chunk is taken or it is dropped: a large log search counts against its
/// pool for as long as it waits for its client. (Handed over whole, HTTP/2
/// would have taken it into its send buffer at once, and the permit would
/// have gone with none of it sent.)
#[derive(Debug)]
pub struct Held {
    rest: Bytes,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// The size of a held body's chunks.
const HELD_CHUNK: usize = 64 * 1024;

impl Held {
    /// `body`, holding `permit` until sent.
    pub fn new(body: Bytes, permit: tokio::sync::OwnedSemaphorePermit) -> Held {
        Held {
            rest: body,
            permit: Some(permit),
        }
    }

    fn next(&mut self) -> Option<Bytes> {
        if self.rest.is_empty() {
            self.permit = None;
            return None;
        }
        let chunk = self.rest.split_to(self.rest.len().min(HELD_CHUNK));
        if self.rest.is_empty() {
            self.permit = None;
        }
        Some(chunk)
    }
}

impl From<Full<Bytes>> for Body {
    fn from(b: Full<Bytes>) -> Body {
        Body::Full(b)
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = crate::audit_api::ExportCut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|never| match never {}))),
            Body::Export(s) => Pin::new(s).poll_frame(cx),
            Body::Held(h) => Poll::Ready(h.next().map(|chunk| Ok(Frame::data(chunk)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_end_stream(),
            Body::Held(h) => h.rest.is_empty(),
            Body::Export(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => b.size_hint(),
            Body::Held(h) => SizeHint::with_exact(h.rest.len() as u64),
            Body::Export(_) => SizeHint::default(),
        }
    }
}
