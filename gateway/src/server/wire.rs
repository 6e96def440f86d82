//! What happens on a connection below hyper, for the rejections hyper (and
//! h2) make without ever calling a handler, so that they too get an entry.
//!
//! [`Watched`] wraps a connection's TLS stream. It counts the bytes read
//! (so a header-read timeout can tell a client that sent part of a request
//! from an idle keep-alive connection), recognises the HTTP/2 preface, and
//! on an HTTP/2 connection follows the frames the server writes: a
//! `RST_STREAM` the server sends with an error code (a malformed request,
//! a stream refused past `max_concurrent_streams`, …) or a `GOAWAY` with an
//! error code (a connection error) becomes a [`WireEvent`] for the
//! connection task to log. A stream the server answered (it wrote its
//! `HEADERS`) is not reported again: its handler logged it.
//!
//! On HTTP/1 it replaces hyper's own answer to a request head hyper could
//! not parse (a bare `400`/`414`/`431` with `content-length: 0`: no JSON
//! body, no `Inquiry-Id`) with the gateway's JSON error and a fresh
//! inquiry id, which the connection task's entry for that request then
//! carries ([`WireLog::take_unparsed_id`]). hyper offers no hook for that
//! answer; the bytes it writes are recognised by their status line and a
//! complete head without an `inquiry-id` field, which every answer the
//! gateway writes itself has.
//!
//! It never looks at payloads other than those two frames' error codes and
//! the heads of hyper's own refusals, and never holds request bytes.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The client connection preface of HTTP/2 (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame types the observer reads.
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const GOAWAY: u8 = 0x7;
/// Error codes that are not rejections: `NO_ERROR` (a normal end) and
/// `CANCEL` (a stream nobody wants any more).
const NO_ERROR: u32 = 0x0;
const CANCEL: u32 = 0x8;
/// Streams remembered as answered (enough for any number of streams in
/// flight at once, which `max_concurrent_streams` bounds).
const ANSWERED_MEMORY: usize = 1024;
/// Events kept until the connection task logs them; beyond it, further
/// events are counted only (h2 closes a connection after 256 error resets).
const MAX_PENDING_EVENTS: usize = 512;

/// A rejection seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WireEvent {
    /// The server reset an HTTP/2 stream it never answered.
    StreamReset {
        /// The stream.
        stream: u32,
        /// The HTTP/2 error code.
        code: u32,
    },
    /// The server ended the HTTP/2 connection for an error.
    GoAway {
        /// The HTTP/2 error code.
        code: u32,
    },
}

impl WireEvent {
    /// The rule text of its log entry.
    pub(super) fn rule(&self) -> String {
        match self {
            WireEvent::StreamReset { stream, code } => format!(
                "HTTP/2 stream {stream} refused by the gateway before any handler: {}",
                error_name(*code)
            ),
            WireEvent::GoAway { code } => format!(
                "HTTP/2 connection closed by the gateway for an error: {}",
                error_name(*code)
            ),
        }
    }
}

/// The RFC 9113 §7 name of an HTTP/2 error code.
fn error_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        other => return format!("error code {other:#x}"),
    };
    name.to_owned()
}

/// What a [`Watched`] stream saw, shared with the connection task.
#[derive(Debug, Default)]
pub(super) struct WireLog {
    read: AtomicU64,
    events: Mutex<Pending>,
    /// Woken when an event is added.
    pub notify: Notify,
    /// The inquiry id sent in place of hyper's refusal of an unparsable
    /// request, for its entry.
    unparsed_id: Mutex<Option<String>>,
    /// HTTP/2: streams the client opened (a `HEADERS` frame on a new,
    /// client-initiated stream id).
    client_streams: AtomicU64,
    /// HTTP/2: streams the server refused before any handler (each logged
    /// as a [`WireEvent::StreamReset`], or counted as dropped).
    server_resets: AtomicU64,
    /// Requests hyper handed to the gateway's service on this connection.
    dispatched: AtomicU64,
}

#[derive(Debug, Default)]
struct Pending {
    events: Vec<WireEvent>,
    dropped: u64,
}

impl WireLog {
    /// Bytes read from the client so far (after TLS).
    pub(super) fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Takes the events not yet logged, and how many were dropped past
    /// [`MAX_PENDING_EVENTS`].
    pub(super) fn take(&self) -> (Vec<WireEvent>, u64) {
        let mut p = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let dropped = std::mem::take(&mut p.dropped);
        (std::mem::take(&mut p.events), dropped)
    }

    /// The inquiry id the client was sent for its unparsable request, if
    /// this stream answered one.
    pub(super) fn take_unparsed_id(&self) -> Option<String> {
        self.unparsed_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// One request handed to the service ([`WireLog::abandoned_streams`]).
    pub(super) fn dispatched(&self) {
        self.dispatched.fetch_add(1, Ordering::Relaxed);
    }

    /// HTTP/2 streams the client opened that neither reached the service
    /// nor were refused by the server (each refusal has its entry): a
    /// request sent, then abandoned — the connection closed or the stream
    /// reset before hyper took it up, which h2 drops unseen (an outside
    /// probe: ten requests sent with END_STREAM and the connection closed
    /// left no entry). Read when the connection has ended.
    pub(super) fn abandoned_streams(&self) -> u64 {
        self.client_streams
            .load(Ordering::Relaxed)
            .saturating_sub(self.dispatched.load(Ordering::Relaxed))
            .saturating_sub(self.server_resets.load(Ordering::Relaxed))
    }

    fn push(&self, e: WireEvent) {
        {
            let mut p = self.events.lock().unwrap_or_else(|p| p.into_inner());
            if p.events.len() < MAX_PENDING_EVENTS {
                p.events.push(e);
            } else {
                p.dropped = p.dropped.saturating_add(1);
            }
        }
        self.notify.notify_one();
    }
}

/// An HTTP/2 frame head (9 bytes) gathered across reads or writes.
#[derive(Debug, Default)]
struct FrameHead {
    bytes: [u8; 9],
    len: usize,
}

impl FrameHead {
    /// Takes head bytes from the front of `bytes`; once the nine are there,
    /// the frame's (payload length, type, stream id), and a fresh head.
    fn take(&mut self, bytes: &mut &[u8]) -> Option<(usize, u8, u32)> {
        let take = (9 - self.len).min(bytes.len());
        if let (Some(dst), Some(src)) = (
            self.bytes.get_mut(self.len..self.len + take),
            bytes.get(..take),
        ) {
            dst.copy_from_slice(src);
        }
        self.len += take;
        *bytes = bytes.get(take..).unwrap_or_default();
        if self.len < 9 {
            return None;
        }
        self.len = 0;
        let [l0, l1, l2, kind, _flags, s0, s1, s2, s3] = self.bytes;
        let payload = (usize::from(l0) << 16) | (usize::from(l1) << 8) | usize::from(l2);
        Some((payload, kind, u32::from_be_bytes([s0 & 0x7f, s1, s2, s3])))
    }
}

/// Follows the frames the server writes on an HTTP/2 connection.
#[derive(Debug, Default)]
struct FrameReader {
    head: FrameHead,
    /// Within a frame's payload (its head read).
    in_payload: bool,
    /// Payload bytes of the current frame still to come.
    remaining: usize,
    kind: u8,
    stream: u32,
    /// The first payload bytes of a `RST_STREAM` (4) or `GOAWAY` (8).
    capture: [u8; 8],
    captured: usize,
    answered: VecDeque<u32>,
}

impl FrameReader {
    fn feed(&mut self, mut bytes: &[u8], log: &WireLog) {
        while !bytes.is_empty() {
            if !self.in_payload {
                if let Some((payload, kind, stream)) = self.head.take(&mut bytes) {
                    self.start_frame(payload, kind, stream, log);
                }
                continue;
            }
            let take = self.remaining.min(bytes.len());
            let want = match self.kind {
                RST_STREAM => 4,
                GOAWAY => 8,
                _ => 0,
            };
            if self.captured < want {
                let n = (want - self.captured).min(take);
                if let (Some(dst), Some(src)) = (
                    self.capture.get_mut(self.captured..self.captured + n),
                    bytes.get(..n),
                ) {
                    dst.copy_from_slice(src);
                }
                self.captured += n;
            }
            self.remaining -= take;
            bytes = bytes.get(take..).unwrap_or_default();
            if self.remaining == 0 {
                self.end_frame(log);
            }
        }
    }

    fn start_frame(&mut self, payload: usize, kind: u8, stream: u32, log: &WireLog) {
        self.remaining = payload;
        self.kind = kind;
        self.stream = stream;
        self.captured = 0;
        self.in_payload = true;
        if kind == HEADERS {
            if self.answered.len() == ANSWERED_MEMORY {
                self.answered.pop_front();
            }
            self.answered.push_back(self.stream);
        }
        if self.remaining == 0 {
            self.end_frame(log);
        }
    }

    fn end_frame(&mut self, log: &WireLog) {
        let [c0, c1, c2, c3, c4, c5, c6, c7] = self.capture;
        match self.kind {
            RST_STREAM if self.captured == 4 => {
                let code = u32::from_be_bytes([c0, c1, c2, c3]);
                if code != NO_ERROR && code != CANCEL && !self.answered.contains(&self.stream) {
                    log.server_resets.fetch_add(1, Ordering::Relaxed);
                    log.push(WireEvent::StreamReset {
                        stream: self.stream,
                        code,
                    });
                }
            }
            GOAWAY if self.captured == 8 => {
                let code = u32::from_be_bytes([c4, c5, c6, c7]);
                if code != NO_ERROR {
                    log.push(WireEvent::GoAway { code });
                }
            }
            _ => {}
        }
        self.in_payload = false;
        self.remaining = 0;
    }
}

/// Follows the frames the client writes on an HTTP/2 connection (after
/// the preface), only their 9-byte heads: counts the streams it opens.
#[derive(Debug, Default)]
struct ClientFrames {
    head: FrameHead,
    /// Payload bytes of the current frame still to skip.
    remaining: usize,
    /// The highest client stream id opened so far.
    max_stream: u32,
}

impl ClientFrames {
    fn feed(&mut self, mut bytes: &[u8], log: &WireLog) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(bytes.len());
                self.remaining -= skip;
                bytes = bytes.get(skip..).unwrap_or_default();
                continue;
            }
            if let Some((payload, kind, stream)) = self.head.take(&mut bytes) {
                self.remaining = payload;
                // A new client-initiated stream (odd id above those seen):
                // trailers on an open stream are not a request.
                if kind == HEADERS && stream % 2 == 1 && stream > self.max_stream {
                    self.max_stream = stream;
                    log.client_streams.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// A connection's stream, watched (see the module docs).
#[derive(Debug)]
pub(super) struct Watched<S> {
    inner: S,
    log: Arc<WireLog>,
    /// The first bytes read, until they tell HTTP/2 from HTTP/1.
    start: Vec<u8>,
    /// `Some` once the client spoke HTTP/2.
    frames: Option<FrameReader>,
    /// The client's frames, once it spoke HTTP/2.
    client: Option<ClientFrames>,
    decided: bool,
    /// The gateway's answer in place of hyper's refusal, and how much of
    /// it is written; drained before anything else is written or flushed.
    replacement: Vec<u8>,
    replaced: usize,
}

/// The status of hyper's own refusal of an unparsable HTTP/1 request, if
/// `buf` starts with one: a `400`, `414` or `431` status line and a complete
/// head (within `buf`) without an `inquiry-id` field; with the head's
/// length.
fn hypers_refusal(buf: &[u8]) -> Option<(u16, usize)> {
    let status = match buf.get(..13)? {
        b"HTTP/1.1 400 " | b"HTTP/1.0 400 " => 400,
        b"HTTP/1.1 414 " | b"HTTP/1.0 414 " => 414,
        b"HTTP/1.1 431 " | b"HTTP/1.0 431 " => 431,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = buf.get(..end)?.to_ascii_lowercase();
    let has = |field: &[u8]| head.windows(field.len()).any(|w| w == field);
    (!has(b"\ninquiry-id:") && has(b"\ncontent-length: 0\r\n")).then_some((status, end))
}

/// The gateway's JSON answer for an unparsable request of `status`.
fn json_refusal(status: u16, inquiry_id: &str) -> Vec<u8> {
    let failure = match status {
        414 => super::error::Failure::UriTooLong,
        431 => super::error::Failure::HeadersTooLarge,
        _ => super::error::Failure::Malformed("request could not be parsed"),
    };
    let body = super::error::error_body(&failure, inquiry_id);
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Bad Request");
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncache-control: no-store\r\ninquiry-id: {inquiry_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<S> Watched<S> {
    /// Watches `inner`, reporting to `log`.
    pub(super) fn new(inner: S, log: Arc<WireLog>) -> Watched<S> {
        Watched {
            inner,
            log,
            start: Vec::new(),
            frames: None,
            client: None,
            decided: false,
            replacement: Vec::new(),
            replaced: 0,
        }
    }

    /// If `buf` starts with hyper's refusal of an unparsable request (on
    /// HTTP/1), queues the gateway's answer instead and returns how many
    /// of `buf`'s bytes it stands for.
    fn replace_refusal(&mut self, buf: &[u8]) -> Option<usize> {
        if self.frames.is_some() || !self.replacement.is_empty() {
            return None;
        }
        let (status, len) = hypers_refusal(buf)?;
        let id = super::journal::new_inquiry_id(&ring::rand::SystemRandom::new());
        self.replacement = json_refusal(status, &id);
        self.replaced = 0;
        *self
            .log
            .unparsed_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(id);
        Some(len)
    }
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes what is left of a queued replacement.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(rest) = self
            .replacement
            .get(self.replaced..)
            .filter(|r| !r.is_empty())
        {
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.replaced += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S> Watched<S> {
    fn saw_read(&mut self, bytes: &[u8]) {
        self.log
            .read
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if self.decided {
            if let Some(client) = self.client.as_mut() {
                client.feed(bytes, &self.log);
            }
            return;
        }
        let take = (H2_PREFACE.len() - self.start.len()).min(bytes.len());
        self.start
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
        if !H2_PREFACE.starts_with(&self.start) {
            self.decided = true;
        } else if self.start.len() == H2_PREFACE.len() {
            self.decided = true;
            self.frames = Some(FrameReader::default());
            let mut client = ClientFrames::default();
            client.feed(bytes.get(take..).unwrap_or_default(), &self.log);
            self.client = Some(client);
        }
        if self.decided {
            self.start = Vec::new();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let read = buf.filled().get(before..).unwrap_or_default();
            if !read.is_empty() {
                self.saw_read(read);
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(e)) = self.drain(cx) {
            return Poll::Ready(Err(e));
        }
        if let Some(n) = self.replace_refusal(buf) {
            return match self.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(n)),
            };
        }
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            let this = &mut *self;
            if let Some(frames) = this.frames.as_mut() {
                frames.feed(buf.get(..n).unwrap_or_default(), &this.log);
            }
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(e)) = self.drain(cx) {
            return Poll::Ready(Err(e));
        }
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            if let Some(n) = self.replace_refusal(first) {
                return match self.drain(cx) {
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Ok(n)),
                };
            }
        }
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            let this = &mut *self;
            if let Some(frames) = this.frames.as_mut() {
                let mut left = n;
                for b in bufs {
                    if left == 0 {
                        break;
                    }
                    let take = left.min(b.len());
                    frames.feed(b.get(..take).unwrap_or_default(), &this.log);
                    left -= take;
                }
            }
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
