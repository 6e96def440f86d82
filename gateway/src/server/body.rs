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
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_end_stream(),
            Body::Export(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => b.size_hint(),
            Body::Export(_) => SizeHint::default(),
        }
    }
}
