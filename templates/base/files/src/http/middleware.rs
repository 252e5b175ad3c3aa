//! Cross-cutting request handling: error bodies, body limits and timeouts, security headers,
//! metrics, tracing, panics.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Span;

use crate::AppError;
use crate::error::{ErrorBody, ErrorDetail, ErrorInfo};

/// The request id header, set or propagated on every request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Drops a client-sent request id that is long or not printable ASCII, so it cannot bloat
/// or forge log lines; `SetRequestIdLayer` then generates a fresh one.
pub async fn drop_invalid_request_id(mut request: Request) -> Request {
    let valid = request
        .headers()
        .get(&REQUEST_ID)
        .is_none_or(|id| id.len() <= 128 && id.as_bytes().iter().all(u8::is_ascii_graphic));
    if !valid {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Body size and time limits of a request (`BODY_LIMIT_BYTES`, `REQUEST_TIMEOUT_SECS`).
#[derive(Clone, Copy)]
pub struct RequestLimits {
    /// Largest body of an ordinary request.
    pub body_bytes: usize,
    /// Time an ordinary request gets before it is answered with 503.
    pub timeout: Duration,
    /// Matched routes that stream their body and enforce both limits themselves: a file
    /// upload may be far larger than any JSON body and take longer than any query.
    pub streamed: &'static [&'static str],
}

/// Applies [`RequestLimits`]: a declared `Content-Length` over the limit is refused at
/// once, a body that turns out longer fails when read (the extractors answer 413), and a
/// request still running after the timeout is answered with 503.
pub async fn request_limits(
    State(limits): State<RequestLimits>,
    request: Request,
    next: Next,
) -> Response {
    let streamed = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| limits.streamed.contains(&route.as_str()));
    if streamed {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.body_bytes as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request =
        request.map(|body| Body::new(http_body_util::Limited::new(body, limits.body_bytes)));
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Renders every error response as `{"code", "detail", "request_id"}`.
///
/// Handlers and extractors return [`AppError`], which leaves an [`ErrorInfo`] on the
/// response; errors produced by axum and tower-http (unknown route, 405, 413, timeout)
/// have none and get a generic body for their status. Health reports, which are JSON
/// already, pass through untouched.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let info = match response.extensions_mut().remove::<ErrorInfo>() {
        Some(info) => info,
        None if is_json(&response) => return response,
        None => generic_error(status),
    };
    let body = ErrorBody {
        code: info.code,
        detail: info.detail,
        request_id,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, Body::from(json))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
}

fn generic_error(status: StatusCode) -> ErrorInfo {
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no route for this path"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "method not allowed for this path")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
        StatusCode::SERVICE_UNAVAILABLE => ("timeout", "the request took too long"),
        status if status.is_server_error() => ("internal_error", "internal error"),
        _ => (
            "bad_request",
            status.canonical_reason().unwrap_or("bad request"),
        ),
    };
    ErrorInfo {
        code,
        detail: ErrorDetail::Message(detail.to_owned()),
    }
}

/// Whether to send `Strict-Transport-Security` (production only: it would pin a
/// developer's `localhost` to HTTPS).
#[derive(Clone, Copy)]
pub struct Hsts(pub bool);

/// Adds security headers; a route that sets its own `Content-Security-Policy` keeps it.
pub async fn security_headers(
    State(Hsts(hsts)): State<Hsts>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

/// Counts requests and records latency, labelled by the matched route (never the raw
/// path, which would create one series per id).
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The span of one request: method, matched route, request id; `user_id` is filled in
/// by `AuthUser`, status and latency by the response event.
pub fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
        user_id = tracing::field::Empty,
    )
}

/// Turns a handler panic into an opaque 500 (rendered by [`json_errors`]).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
