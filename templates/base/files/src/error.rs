//! The one error type of the service and its JSON shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Result type of handlers, repositories and services.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Every error a request can end in.
///
/// Client-facing variants carry a message meant for the caller; `Database` and
/// `Internal` are opaque: they are logged in full and answered with a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be read (e.g. malformed JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing, invalid or expired credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: authenticated, but not allowed.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// 404: no such resource, or not visible to the caller.
    #[error("not found")]
    NotFound,
    /// 409: the request conflicts with existing data.
    #[error("{0}")]
    Conflict(&'static str),
    /// 413: the body is over the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("expected a request with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 429: too many attempts; retry after the given time.
    #[error("too many attempts, retry in {} seconds", .0.as_secs().max(1))]
    RateLimited(std::time::Duration),
    /// 422: the request was well-formed but its values are invalid.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 502: a service the request depends on answered with an error.
    #[error("{0}")]
    BadGateway(&'static str),
    /// 503: a dependency is unavailable for now; retry later.
    #[error("{0}")]
    ServiceUnavailable(&'static str),
    /// 500: a database error, never shown to the client.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// 500: any other server-side failure, never shown to the client.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// One invalid value in a 422 response, in the shape FastAPI users know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the value is, e.g. `["body", "name"]` or `["query", "limit"]`.
    pub loc: Vec<String>,
    /// What is wrong, for humans.
    pub msg: String,
    /// What is wrong, for programs (e.g. `too_short`, `json_invalid`).
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A field error at `loc`.
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc: loc.iter().map(|part| (*part).to_owned()).collect(),
            msg: msg.into(),
            kind: kind.to_owned(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`.
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// A message, or the list of invalid fields for `validation_error`.
    pub detail: ErrorDetail,
    /// The `x-request-id` of the request, to find it in the logs.
    pub request_id: Option<String>,
}

/// `detail` of an error body.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ErrorDetail {
    /// A human-readable message.
    Message(String),
    /// The invalid fields of a 422.
    Fields(Vec<FieldError>),
}

/// Code and detail of an error, stored on the response until the error-body middleware
/// (which knows the request id) renders it; see `http::middleware::json_errors`.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// See [`ErrorBody::code`].
    pub code: &'static str,
    /// See [`ErrorBody::detail`].
    pub detail: ErrorDetail,
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_error",
            Self::RateLimited(_) => "rate_limited",
            Self::BadGateway(_) => "bad_gateway",
            Self::ServiceUnavailable(_) => "service_unavailable",
            Self::Database(_) | Self::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        if status.is_server_error() {
            // Logged once, here, inside the request span: the client only sees the opaque text.
            let source: &dyn std::error::Error = match &self {
                Self::Database(error) => error,
                Self::Internal(error) => error.as_ref(),
                _ => &self,
            };
            tracing::error!(error = %ErrorChain(source), "request failed");
        }
        let retry_after = match &self {
            Self::RateLimited(wait) => Some(wait.as_secs().max(1)),
            _ => None,
        };
        let detail = match self {
            Self::Validation(fields) => ErrorDetail::Fields(fields),
            ref other => ErrorDetail::Message(other.to_string()),
        };
        let mut response = status.into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorInfo { code, detail });
        response
    }
}

/// Formats an error with all its sources: `outer: inner: root cause`.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
