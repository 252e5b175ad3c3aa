//! Extractors whose rejections use the service's JSON error shape, plus hand-written validation.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::AppError;
use crate::error::FieldError;

/// Checks the values of a deserialized request part.
pub trait Validate {
    /// Every invalid field, or `Ok` when all are valid.
    fn validate(&self) -> Result<(), Vec<FieldError>>;
}

/// Collects field errors for a [`Validate`] implementation.
#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Records `msg` at `loc` unless `ok`.
    pub fn check(&mut self, ok: bool, loc: &[&str], msg: &str, kind: &str) -> &mut Self {
        if !ok {
            self.0.push(FieldError::new(loc, msg, kind));
        }
        self
    }

    /// Checks that a text field has between `min` and `max` characters and no NUL
    /// character (which not every database can store and no client means to send).
    pub fn length(&mut self, value: &str, loc: &[&str], min: usize, max: usize) -> &mut Self {
        let len = value.chars().count();
        self.check(
            len >= min,
            loc,
            &format!("must have at least {min} characters"),
            "too_short",
        )
        .check(
            len <= max,
            loc,
            &format!("must have at most {max} characters"),
            "too_long",
        )
        .check(
            !value.contains('\0'),
            loc,
            "must not contain NUL characters",
            "invalid_character",
        )
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(&mut self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(std::mem::take(&mut self.0))
        }
    }
}

/// `axum::Json` with JSON error responses: 400 malformed, 415 wrong content type,
/// 413 too large, 422 wrong shape.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        parse(&bytes).map(Self)
    }
}

/// A JSON object body that is also [`Validate`]d (422 on invalid values, and on any other
/// JSON value: serde would otherwise read `[null, null]` as a struct's fields in order).
pub struct ValidatedJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidatedJson<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        let value: T = parse(&bytes)?;
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(AppError::Validation(vec![FieldError::new(
                &["body"],
                "must be a JSON object",
                "object_type",
            )]));
        }
        value.validate().map_err(AppError::Validation)?;
        Ok(Self(value))
    }
}

/// The body of a request that says it is JSON (`application/json` or `+json`).
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
    if !is_json {
        return Err(AppError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            _ => AppError::BadRequest(rejection.body_text()),
        })
}

/// Deserializes a JSON body: 400 when it is not JSON, 422 when it has the wrong shape.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(error)) => {
            Err(AppError::Validation(vec![FieldError::new(
                &["body"],
                source_text(&error),
                "json_invalid",
            )]))
        }
        Err(JsonRejection::JsonSyntaxError(error)) => Err(AppError::BadRequest(format!(
            "malformed JSON: {}",
            source_text(&error)
        ))),
        Err(rejection) => Err(AppError::BadRequest(rejection.body_text())),
    }
}

/// A query string that is deserialized and [`Validate`]d (422 on either failure).
pub struct ValidatedQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidatedQuery<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await.map_err(
            |error: QueryRejection| {
                AppError::Validation(vec![FieldError::new(
                    &["query"],
                    source_text(&error),
                    "query_invalid",
                )])
            },
        )?;
        value.validate().map_err(AppError::Validation)?;
        Ok(Self(value))
    }
}

/// Path parameters; an unparsable value (e.g. a malformed UUID) is a 422, not a 400 text body.
pub struct AppPath<T>(pub T);

impl<S, T> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                Err(AppError::Validation(vec![FieldError::new(
                    &["path"],
                    error.body_text(),
                    "path_invalid",
                )]))
            }
            Err(rejection) => Err(AppError::Internal(anyhow::anyhow!(
                "path extractor misused: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The underlying serde message of a rejection, without axum's generic prefix.
fn source_text(error: &dyn std::error::Error) -> String {
    error
        .source()
        .map_or_else(|| error.to_string(), ToString::to_string)
}
