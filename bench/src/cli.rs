//! Command line of `credgate-load` and its conversion into a checked plan.
//!
//! This module owns the flags (clap), reading the paths file and the
//! `--header` values, and refusing bad input with one clear message before
//! any socket is opened. It does no I/O besides reading the paths and route
//! files named on the command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http::header::{HeaderName, HeaderValue};
use http::Uri;
use thiserror::Error;

/// `credgate-load`: HTTP/1.1 load against a proxy (mTLS or plain), with
/// latency percentiles and the CPU time of the process under test.
///
/// Closed loop (as fast as the connections allow) unless `--rate` is given;
/// every run stops after `--warmup` + `--duration` seconds plus at most
/// `--timeout-ms` for requests still in flight.
#[derive(Debug, Parser)]
#[command(name = "credgate-load", version)]
pub struct Args {
    /// Target base URL: `https://127.0.0.1:PORT` (mTLS) or `http://HOST:PORT`.
    #[arg(long, required_unless_present = "serve")]
    pub url: Option<String>,
    /// CA certificate(s) (PEM) that sign the server's certificate.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Client certificate chain (PEM) presented to the server.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8 / SEC1 / PKCS#1) of `--cert`.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// TLS server name to verify; default: the URL's host.
    #[arg(long)]
    pub server_name: Option<String>,
    /// Number of concurrent connections (each kept alive unless
    /// `--handshake-per-request`).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Open a new TCP (+ TLS) connection for every request.
    #[arg(long)]
    pub handshake_per_request: bool,
    /// Let the client resume TLS sessions in `--handshake-per-request` mode
    /// (default: every handshake is a full one).
    #[arg(long)]
    pub tls_resumption: bool,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring (not counted).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Open-loop target rate in requests per second; latency is measured from
    /// each request's scheduled start, so queueing behind a slow server counts.
    #[arg(long)]
    pub rate: Option<f64>,
    /// File with one request path per line (blank lines and `#` comments
    /// ignored), sent round-robin; default: the URL's own path.
    #[arg(long)]
    pub paths: Option<PathBuf>,
    /// Extra request header `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Process under test whose CPU seconds (with its descendants) are
    /// reported (repeatable).
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Per-request timeout in milliseconds (connect + handshake + response).
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Runtime worker threads of the load generator.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Label for this run in the report.
    #[arg(long)]
    pub label: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write `STATUS INQUIRY-ID` for every response received (warm-up and
    /// stragglers included; `-` when it carried no `Inquiry-Id`) to FILE,
    /// so a soak can check every answer against the inquiry log.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Instead of sending load, serve fixed bodies on this address (plain
    /// HTTP/1.1): a fast stand-in upstream. Needs `--route`.
    #[arg(long, value_name = "ADDR", conflicts_with = "url")]
    pub serve: Option<String>,
    /// With `--serve`: `PATH=FILE` answers requests for PATH (query string
    /// ignored unless PATH has one) with FILE's bytes as `application/json`
    /// (repeatable). Other paths get 404.
    #[arg(long = "route", value_name = "PATH=FILE", requires = "serve")]
    pub routes: Vec<String>,
    /// With `--serve`: exit after this many seconds at most.
    #[arg(long, default_value_t = 3600, requires = "serve")]
    pub serve_seconds: u64,
}

/// Why the command line was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CliError {
    /// `--url` is not an absolute http/https URL.
    #[error("bad url `{0}`: expected http://HOST:PORT or https://HOST:PORT")]
    Url(String),
    /// A file named on the command line could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the paths file is not a request path.
    #[error("`{file}` line {line}: `{text}` is not a request path (must start with `/`)")]
    PathLine {
        /// The paths file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// The paths file holds no path.
    #[error("`{0}` holds no request path")]
    NoPaths(PathBuf),
    /// A `--header` value is not `Name: value`.
    #[error("bad header `{0}`: expected `Name: value`")]
    Header(String),
    /// A `--route` value is not `PATH=FILE`.
    #[error("bad route `{0}`: expected `/path=FILE`")]
    Route(String),
    /// A number is out of range.
    #[error("`--{flag}` must be {expected}")]
    Range {
        /// The flag.
        flag: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// TLS material was given for a plain-http URL, or is missing for https.
    #[error("{0}")]
    Tls(&'static str),
}

/// The scheme of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
}

/// A checked load run, built from [`Args`].
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Plain or TLS.
    pub scheme: Scheme,
    /// `host:port` to connect to.
    pub authority: String,
    /// The URL's host, for `Host` and (by default) TLS server name.
    pub host: String,
    /// Name the server certificate must carry.
    pub server_name: String,
    /// Request paths, sent round-robin; never empty.
    pub paths: Vec<String>,
    /// Extra headers on every request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Concurrent connections (≥ 1).
    pub connections: usize,
    /// New connection per request.
    pub handshake_per_request: bool,
    /// Allow TLS session resumption.
    pub tls_resumption: bool,
    /// Measured window.
    pub duration: Duration,
    /// Unmeasured load before the window.
    pub warmup: Duration,
    /// Open-loop rate, if any.
    pub rate: Option<f64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Processes whose CPU time is reported.
    pub pids: Vec<u32>,
    /// CA file (https only).
    pub ca: Option<PathBuf>,
    /// Client cert and key files (https only, optional).
    pub client_auth: Option<(PathBuf, PathBuf)>,
    /// Run label.
    pub label: String,
    /// `--record` file.
    pub record: Option<PathBuf>,
}

/// A checked `--serve` run.
#[derive(Debug, Clone)]
pub struct ServePlan {
    /// Address to bind.
    pub listen: String,
    /// `(path, body)` pairs.
    pub routes: Vec<(String, Bytes)>,
    /// Hard stop.
    pub max_time: Duration,
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Send load.
    Load(Box<LoadPlan>),
    /// Serve fixed bodies.
    Serve(ServePlan),
}

/// Turn parsed flags into a plan, reading the paths / route files.
pub fn plan(args: &Args) -> Result<Plan, CliError> {
    if let Some(listen) = &args.serve {
        return serve_plan(args, listen).map(Plan::Serve);
    }
    load_plan(args).map(|p| Plan::Load(Box::new(p)))
}

fn serve_plan(args: &Args, listen: &str) -> Result<ServePlan, CliError> {
    let mut routes = Vec::new();
    for spec in &args.routes {
        let (path, file) = parse_route(spec)?;
        let body = std::fs::read(&file).map_err(|source| CliError::Read { path: file, source })?;
        routes.push((path, Bytes::from(body)));
    }
    if routes.is_empty() {
        return Err(CliError::Route(String::new()));
    }
    if args.serve_seconds == 0 {
        return Err(CliError::Range {
            flag: "serve-seconds",
            expected: "at least 1",
        });
    }
    Ok(ServePlan {
        listen: listen.to_string(),
        routes,
        max_time: Duration::from_secs(args.serve_seconds),
    })
}

fn load_plan(args: &Args) -> Result<LoadPlan, CliError> {
    let url = args.url.as_deref().unwrap_or_default();
    let (scheme, authority, host, url_path) = parse_url(url)?;
    let paths = match &args.paths {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|source| CliError::Read {
                path: file.clone(),
                source,
            })?;
            parse_paths(&text, file)?
        }
        None => vec![url_path],
    };
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    if args.connections == 0 || args.connections > 10_000 {
        return Err(CliError::Range {
            flag: "connections",
            expected: "between 1 and 10000",
        });
    }
    let seconds = |flag, v: f64, min: f64| {
        if v.is_finite() && v >= min && v <= 3600.0 {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(CliError::Range {
                flag,
                expected: "a number of seconds between 0 and 3600 (duration > 0)",
            })
        }
    };
    let duration = seconds("duration", args.duration, 0.001)?;
    let warmup = seconds("warmup", args.warmup, 0.0)?;
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0) {
            return Err(CliError::Range {
                flag: "rate",
                expected: "a positive number of requests per second",
            });
        }
    }
    if args.timeout_ms == 0 || args.timeout_ms > 600_000 {
        return Err(CliError::Range {
            flag: "timeout-ms",
            expected: "between 1 and 600000",
        });
    }
    if args.threads == 0 || args.threads > 256 {
        return Err(CliError::Range {
            flag: "threads",
            expected: "between 1 and 256",
        });
    }
    let client_auth = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => None,
    };
    if scheme == Scheme::Http && (args.ca.is_some() || client_auth.is_some()) {
        return Err(CliError::Tls(
            "`--ca`, `--cert` and `--key` need an https:// url",
        ));
    }
    if scheme == Scheme::Https && args.ca.is_none() {
        return Err(CliError::Tls("an https:// url needs `--ca`"));
    }
    let server_name = args.server_name.clone().unwrap_or_else(|| host.clone());
    Ok(LoadPlan {
        scheme,
        authority,
        host,
        server_name,
        paths,
        headers,
        connections: args.connections,
        handshake_per_request: args.handshake_per_request,
        tls_resumption: args.tls_resumption,
        duration,
        warmup,
        rate: args.rate,
        timeout: Duration::from_millis(args.timeout_ms),
        pids: args.pids.clone(),
        ca: args.ca.clone(),
        client_auth,
        label: args.label.clone().unwrap_or_else(|| url.to_string()),
        record: args.record.clone(),
    })
}

/// Split a target URL into scheme, `host:port`, host, and path (`/` if none).
pub fn parse_url(url: &str) -> Result<(Scheme, String, String, String), CliError> {
    let bad = || CliError::Url(url.to_string());
    let uri: Uri = url.parse().map_err(|_| bad())?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        _ => return Err(bad()),
    };
    let auth = uri.authority().ok_or_else(bad)?;
    if auth.as_str().contains('@') {
        return Err(bad());
    }
    let host = auth.host().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    let port = auth.port_u16().unwrap_or(match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    });
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_string());
    Ok((scheme, authority, host.to_string(), path))
}

/// Parse a paths file: one path per line, blank lines and `#` comments
/// skipped, surrounding whitespace trimmed. Every path must start with `/`
/// and be a valid request target.
pub fn parse_paths(text: &str, file: &Path) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.starts_with('/')
            && line
                .parse::<http::uri::PathAndQuery>()
                .is_ok_and(|p| p.as_str() == line);
        if !valid {
            return Err(CliError::PathLine {
                file: file.to_path_buf(),
                line: i + 1,
                text: line.to_string(),
            });
        }
        out.push(line.to_string());
    }
    if out.is_empty() {
        return Err(CliError::NoPaths(file.to_path_buf()));
    }
    Ok(out)
}

/// Parse `Name: value` into a header pair (value trimmed).
pub fn parse_header(spec: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    let bad = || CliError::Header(spec.to_string());
    let (name, value) = spec.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    Ok((name, value))
}

/// Parse `PATH=FILE` of `--route`.
pub fn parse_route(spec: &str) -> Result<(String, PathBuf), CliError> {
    let bad = || CliError::Route(spec.to_string());
    let (path, file) = spec.split_once('=').ok_or_else(bad)?;
    if !path.starts_with('/') || file.is_empty() {
        return Err(bad());
    }
    Ok((path.to_string(), PathBuf::from(file)))
}

#[cfg(test)]
mod tests;
