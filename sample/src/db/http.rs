//! The sample database's HTTP/1.1 service: routing, queries, response assembly.
//!
//! Responses are assembled from the stored JSON text without re-parsing it:
//! `{"subject":` + subject + `,"records":[` + records + `]}`. Nothing from the
//! request (headers, path, query) is echoed into a body, and nothing about the
//! request is recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::SampleDbError;

/// How long in-flight connections get to finish after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(5);

/// The queries, kept constant so sqlx caches one prepared statement per
/// connection for each.
const SUBJECT_SQL: &str = "SELECT json FROM subjects WHERE id = ?1";
/// The subject row (kind 0) then its records (kind 1) in one round trip.
const SUBJECT_RECORDS_SQL: &str = "SELECT 0, '', '', '', json FROM subjects WHERE id = ?1 \
     UNION ALL \
     SELECT 1, item, decided_on, id, json FROM records WHERE subject_id = ?1 \
     ORDER BY 1, 3, 4";
const RECORD_SQL: &str = "SELECT s.json, r.json FROM records r \
     JOIN subjects s ON s.id = r.subject_id WHERE r.id = ?1";

/// Serve the upstream API on `listener` from `pool` until `shutdown`
/// resolves; then stop accepting, let open connections finish their current
/// request (up to 5 s) and return.
pub async fn serve(
    listener: TcpListener,
    pool: SqlitePool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SampleDbError> {
    let pool = Arc::new(pool);
    let connect = move |stream: tokio::net::TcpStream, stop| {
        // Best effort: a socket option failure does not stop serving.
        let _ = stream.set_nodelay(true);
        Some(connection(stream, Arc::clone(&pool), stop))
    };
    gateway::conn::accept_until(listener, shutdown, DRAIN, "sample-db", connect).await;
    Ok(())
}

/// One HTTP/1.1 connection, closed gracefully when `stop` turns true.
async fn connection(
    stream: tokio::net::TcpStream,
    pool: Arc<SqlitePool>,
    stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    let serve = move |req: Request<Incoming>| {
        let pool = Arc::clone(&pool);
        async move { handle(&pool, &req).await }
    };
    gateway::conn::serve_until_stopped(&builder, stream, serve, stop, "sample-db").await;
}

/// A parsed route of the upstream API.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Subject(&'a str),
    SubjectRecords(&'a str),
    Record(&'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    let rest = path.strip_prefix("/v1/")?;
    let mut parts = rest.split('/');
    let route = match (parts.next(), parts.next(), parts.next()) {
        (Some("subjects"), Some(id), None) => Route::Subject(id),
        (Some("subjects"), Some(id), Some("records")) => Route::SubjectRecords(id),
        (Some("records"), Some(id), None) => Route::Record(id),
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    match route {
        Route::Subject(id) | Route::SubjectRecords(id) | Route::Record(id) if id.is_empty() => None,
        r => Some(r),
    }
}

/// The `items` filter of a query string: `Ok(None)` when absent, `Err`
/// when a value is badly percent-encoded.
fn items_filter(query: Option<&str>) -> Result<Option<Vec<String>>, ()> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "items" {
            let list: &mut Vec<String> = found.get_or_insert_with(Vec::new);
            list.extend(
                gateway::percent::decode(value)
                    .ok_or(())?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
    }
    Ok(found)
}

async fn handle(pool: &SqlitePool, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return error(StatusCode::NOT_FOUND, "not_found", "no such route");
    }
    let Some(route) = route(req.uri().path()) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such route");
    };
    let result = match route {
        Route::Subject(id) => subject(pool, id).await,
        Route::SubjectRecords(id) => match items_filter(req.uri().query()) {
            Ok(items) => subject_records(pool, id, items.as_deref()).await,
            Err(()) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "the items parameter is not percent-encoded correctly",
                )
            }
        },
        Route::Record(id) => record(pool, id).await,
    };
    match result {
        Ok(Some(body)) => json(StatusCode::OK, body),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such subject or record",
        ),
        Err(e) => {
            tracing::error!(error = %e, "sample-db: query failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "database error",
            )
        }
    }
}

/// The one row `sql` finds for `id`, if any.
async fn row_by_id(
    pool: &SqlitePool,
    sql: &str,
    id: &str,
) -> Result<Option<SqliteRow>, sqlx::Error> {
    sqlx::query(sql).bind(id).fetch_optional(pool).await
}

async fn subject(pool: &SqlitePool, id: &str) -> Result<Option<String>, sqlx::Error> {
    let Some(row) = row_by_id(pool, SUBJECT_SQL, id).await? else {
        return Ok(None);
    };
    let subject: &str = row.try_get(0)?;
    let mut body = String::with_capacity(subject.len() + 16);
    body.push_str("{\"subject\":");
    body.push_str(subject);
    body.push('}');
    Ok(Some(body))
}

async fn subject_records(
    pool: &SqlitePool,
    id: &str,
    items: Option<&[String]>,
) -> Result<Option<String>, sqlx::Error> {
    let rows = sqlx::query(SUBJECT_RECORDS_SQL)
        .bind(id)
        .fetch_all(pool)
        .await?;
    let mut rows = rows.iter();
    let Some(head) = rows.next() else {
        return Ok(None);
    };
    if head.try_get::<i64, _>(0)? != 0 {
        return Ok(None);
    }
    let subject: &str = head.try_get(4)?;
    let records = rows.as_slice();
    let mut body = String::with_capacity(subject.len() + 32 + records.len() * 512);
    body.push_str("{\"subject\":");
    body.push_str(subject);
    body.push_str(",\"records\":[");
    let mut first = true;
    for r in records {
        let item: &str = r.try_get(1)?;
        if items.is_some_and(|wanted| !wanted.iter().any(|w| w == item)) {
            continue;
        }
        let json: &str = r.try_get(4)?;
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(json);
    }
    body.push_str("]}");
    Ok(Some(body))
}

async fn record(pool: &SqlitePool, id: &str) -> Result<Option<String>, sqlx::Error> {
    let Some(row) = row_by_id(pool, RECORD_SQL, id).await? else {
        return Ok(None);
    };
    let subject: &str = row.try_get(0)?;
    let record: &str = row.try_get(1)?;
    let mut body = String::with_capacity(subject.len() + record.len() + 32);
    body.push_str("{\"subject\":");
    body.push_str(subject);
    body.push_str(",\"records\":[");
    body.push_str(record);
    body.push_str("]}");
    Ok(Some(body))
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON error; `message` is a constant, never request input.
fn error(status: StatusCode, code: &'static str, message: &'static str) -> Response<Full<Bytes>> {
    json(
        status,
        format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#),
    )
}

#[cfg(test)]
mod tests;
