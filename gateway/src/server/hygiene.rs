//! Request hygiene: the checks every request on either plane passes before
//! anything else looks at it, so that framing tricks, smuggling and path
//! games are refused in one place with a clear status (and, like any
//! request after a handshake, exactly one inquiry-log entry).
//!
//! What hyper already refuses while parsing HTTP/1 (answered by hyper and
//! logged by the connection loop in [`super`] after the answer went out):
//! malformed request lines, obsolete line folding, control characters in
//! header values, conflicting `Content-Length` values, a non-chunked
//! `Transfer-Encoding`, heads over four times `max_header_bytes` or with
//! more than twice `max_headers` fields (431), targets over 65 534 bytes
//! (414). The HTTP/2 layer answers 431 itself, without an inquiry-log
//! entry, for a header list over four times `max_header_bytes` (a bound on
//! what it buffers). Between the limit and those bounds, the request
//! reaches this module and gets its 431 after its entry commits, like any
//! other refusal. What reaches the handlers and is refused here:
//!
//! | request | status |
//! |---|---|
//! | target (path + query) over `max_uri_bytes` | 414 |
//! | more than `max_headers` fields, or fields over `max_header_bytes` | 431 |
//! | any `Transfer-Encoding` (with or without `Content-Length`) | 400 |
//! | more than one `Content-Length` field, or one that is not a number | 400 |
//! | `Content-Length` > 0, or an HTTP/2 request with DATA | 413 `payload_too_large` |
//! | a header value with a control character (defence in depth) | 400 |
//! | HTTP/1.1 without exactly one `Host` (HTTP/1.0 without `Host` is served: RFC 1945 has none) | 400 |
//! | absolute-form target or `:authority` naming another host than `Host`, or a scheme other than `https` | 400 |
//! | raw `.`/`..` segments, a backslash, or `%2e` `%2f` `%5c` `%00` (any case) in the path | 400 |
//!
//! Every refusal here closes an HTTP/1 connection (`Connection: close`), so
//! bytes a client sent after the refused head are never parsed as a request
//! and never reach the upstream.

use http::{header, Request, Version};
use hyper::body::Body;

use crate::config::Limits;

use super::error::Failure;

/// Why a request was refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Target longer than `max_uri_bytes`.
    UriTooLong,
    /// More header fields than `max_headers`.
    TooManyHeaders,
    /// Header fields (plus target) larger than `max_header_bytes`.
    HeadTooLarge,
    /// A `Transfer-Encoding` header (a GET-only plane never needs one; with
    /// `Content-Length` it is the classic smuggling shape).
    TransferEncoding,
    /// Repeated or unparsable `Content-Length`.
    BadContentLength,
    /// The request carries a body.
    Body,
    /// A header value holds a control character.
    ControlCharacter,
    /// HTTP/1.1 without exactly one `Host`.
    Host,
    /// The target or `:authority` names another host, or a non-https scheme.
    ForeignAuthority,
    /// Dot segments, backslashes or encoded separators in the path.
    PathTraversal,
}

impl Violation {
    /// The failure answered for it.
    pub fn failure(self) -> Failure {
        match self {
            Violation::UriTooLong => Failure::UriTooLong,
            Violation::TooManyHeaders | Violation::HeadTooLarge => Failure::HeadersTooLarge,
            Violation::Body => Failure::PayloadTooLarge,
            Violation::TransferEncoding
            | Violation::BadContentLength
            | Violation::ControlCharacter
            | Violation::Host
            | Violation::ForeignAuthority
            | Violation::PathTraversal => Failure::Malformed(self.rule()),
        }
    }

    /// The rule text recorded in the inquiry log.
    pub fn rule(self) -> &'static str {
        match self {
            Violation::UriTooLong => "request target longer than max_uri_bytes",
            Violation::TooManyHeaders => "more header fields than max_headers",
            Violation::HeadTooLarge => "request head larger than max_header_bytes",
            Violation::TransferEncoding => "transfer-encoding on a plane without request bodies",
            Violation::BadContentLength => "repeated or invalid content-length",
            Violation::Body => "request body on a plane without request bodies",
            Violation::ControlCharacter => "control character in a header value",
            Violation::Host => "HTTP/1.1 request without exactly one host",
            Violation::ForeignAuthority => "target names another host or scheme",
            Violation::PathTraversal => "dot segment or encoded separator in the path",
        }
    }
}

/// Check one request; `Ok` means routing may look at it.
pub fn check<B: Body>(req: &Request<B>, limits: &Limits) -> Result<(), Violation> {
    let target_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > limits.max_uri_bytes {
        return Err(Violation::UriTooLong);
    }
    let headers = req.headers();
    if headers.len() > limits.max_headers {
        return Err(Violation::TooManyHeaders);
    }
    // The head as HTTP/1 would carry it (`name: value\r\n` per field);
    // HTTP/2's own header-list cap is set above this so that the common
    // overflow is answered (and logged) here.
    let head_bytes = headers.iter().fold(target_len, |n, (k, v)| {
        n.saturating_add(k.as_str().len() + v.len() + 4)
    });
    if head_bytes > limits.max_header_bytes {
        return Err(Violation::HeadTooLarge);
    }
    if headers.values().any(|v| {
        v.as_bytes()
            .iter()
            .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    }) {
        return Err(Violation::ControlCharacter);
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(Violation::TransferEncoding);
    }
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    if let Some(first) = lengths.next() {
        if lengths.next().is_some() {
            return Err(Violation::BadContentLength);
        }
        let n = std::str::from_utf8(first.as_bytes())
            .ok()
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or(Violation::BadContentLength)?;
        if n > 0 {
            return Err(Violation::Body);
        }
    }
    if !req.body().is_end_stream() {
        return Err(Violation::Body);
    }
    check_authority(req)?;
    check_path(req.uri().path())
}

fn check_authority<B>(req: &Request<B>) -> Result<(), Violation> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Violation::Host);
    }
    let http1 = req.version() < Version::HTTP_2;
    if http1 && req.version() != Version::HTTP_10 && host.is_none() {
        return Err(Violation::Host);
    }
    if let Some(scheme) = req.uri().scheme_str() {
        if !scheme.eq_ignore_ascii_case("https") {
            return Err(Violation::ForeignAuthority);
        }
    }
    if let (Some(authority), Some(host)) = (req.uri().authority(), host) {
        let same = host
            .to_str()
            .is_ok_and(|h| h.eq_ignore_ascii_case(authority.as_str()));
        if !same {
            return Err(Violation::ForeignAuthority);
        }
    }
    if http1 && req.uri().authority().is_some() && host.is_none() {
        return Err(Violation::ForeignAuthority);
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), Violation> {
    if path.contains('\\') || path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(Violation::PathTraversal);
    }
    let bytes = path.as_bytes();
    let encoded_separator = bytes.windows(3).any(|w| match w {
        [b'%', hi, lo] => {
            let hex = [hi.to_ascii_lowercase(), lo.to_ascii_lowercase()];
            matches!(&hex, b"2e" | b"2f" | b"5c" | b"00")
        }
        _ => false,
    });
    if encoded_separator {
        return Err(Violation::PathTraversal);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
