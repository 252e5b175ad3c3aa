//! `/api/v1/public/storage`: the local store's signed URLs. `GET` downloads (with range
//! requests and `Content-Disposition`), `PUT` uploads exactly what the token allows.
//! The token is the credential, so the route needs no bearer token.

use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::http::extract::{Checks, Validate, ValidatedQuery};
/// The signed route (full path): exempt from `BODY_LIMIT_BYTES` and the request timeout,
/// since the token carries the upload's size and uploads stream.
pub use crate::storage::SIGNED_ROUTE;
use crate::storage::{Grant, LocalStore, ObjectWriter, SignatureError, StoreError, is_safe_key};
use crate::{AppError, AppState, Result};

/// Signed-URL routes, relative to `/api/v1/public`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_object, upload_object))
}

/// The query of a signed URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Signed {
    /// The signature and what it grants, as handed out by the files API.
    token: String,
}

impl Validate for Signed {
    fn validate(&self) -> std::result::Result<(), Vec<crate::error::FieldError>> {
        Checks::default()
            .length(&self.token, &["query", "token"], 1, 4096)
            .finish()
    }
}

fn store(state: &AppState) -> LocalStore {
    LocalStore::new(&state.config.local_storage)
}

fn refused(error: SignatureError) -> AppError {
    tracing::debug!(?error, "signed storage URL refused");
    AppError::Forbidden
}

/// Download through a signed URL; supports one `Range` per request.
#[utoipa::path(get, path = "/storage", tag = "files", params(Signed),
    responses(
        (status = 200, description = "The whole file", content_type = "application/octet-stream"),
        (status = 206, description = "The requested range", content_type = "application/octet-stream"),
        (status = 403, description = "Invalid or expired signature", body = ErrorBody),
        (status = 404, description = "No such object", body = ErrorBody),
        (status = 416, description = "Range not satisfiable"),
        (status = 422, description = "Missing token", body = ErrorBody),
        (status = 503, description = "The storage directory cannot be read", body = ErrorBody),
    ))]
async fn download_object(
    State(state): State<AppState>,
    ValidatedQuery(signed): ValidatedQuery<Signed>,
    headers: HeaderMap,
) -> Result<Response> {
    let store = store(&state);
    let Grant::Download { key, filename } = store.verify(&signed.token).map_err(refused)? else {
        return Err(refused(SignatureError::Invalid));
    };
    let path = store.path_of(&key).ok_or(AppError::NotFound)?;
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::NotFound);
        }
        Err(error) => return Err(StoreError::from(error).into()),
    };
    let size = file.metadata().await.map_err(StoreError::from)?.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map(|value| parse_range(value, size));
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&filename)) {
        response_headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    let (status, start, length) = match range {
        None | Some(Range::Ignored) => (StatusCode::OK, 0, size),
        Some(Range::Unsatisfiable) => {
            let value =
                HeaderValue::from_str(&format!("bytes */{size}")).map_err(anyhow::Error::from)?;
            response_headers.insert(header::CONTENT_RANGE, value);
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, response_headers).into_response());
        }
        Some(Range::Bytes(start, end)) => {
            let value = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
                .map_err(anyhow::Error::from)?;
            response_headers.insert(header::CONTENT_RANGE, value);
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
    };
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(StoreError::from)?;
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let body = Body::from_stream(ReaderStream::new(file.take(length)));
    Ok((status, response_headers, body).into_response())
}

/// Upload through a signed URL: the body is the file, with the signed `Content-Type`
/// and at most the signed size.
#[utoipa::path(put, path = "/storage", tag = "files", params(Signed),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 403, description = "Invalid or expired signature", body = ErrorBody),
        (status = 413, description = "More bytes than the signed size", body = ErrorBody),
        (status = 415, description = "Another `Content-Type` than the signed one", body = ErrorBody),
        (status = 422, description = "Missing token", body = ErrorBody),
        (status = 503, description = "The client stopped sending, or the storage directory cannot be written", body = ErrorBody),
    ))]
async fn upload_object(
    State(state): State<AppState>,
    ValidatedQuery(signed): ValidatedQuery<Signed>,
    request: Request,
) -> Result<StatusCode> {
    let store = store(&state);
    let Grant::Upload {
        key,
        content_type,
        size,
    } = store.verify(&signed.token).map_err(refused)?
    else {
        return Err(refused(SignatureError::Invalid));
    };
    if !is_safe_key(&key) {
        return Err(refused(SignatureError::Invalid));
    }
    let sent_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !sent_type.eq_ignore_ascii_case(&content_type) {
        return Err(AppError::UnsupportedMediaType);
    }
    let idle = state.config.request_timeout;
    let mut writer = Box::new(store.open_writer(&key).await?);
    let mut body = request.into_body();
    let mut written: u64 = 0;
    let streamed: Result<()> = async {
        loop {
            let frame = match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => {
                    return Err(AppError::ServiceUnavailable(
                        "the upload stopped sending data",
                    ));
                }
                Ok(None) => return Ok(()),
                Ok(Some(frame)) => {
                    frame.map_err(|_| AppError::BadRequest("the body could not be read".into()))?
                }
            };
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            written += chunk.len() as u64;
            if written > size {
                return Err(AppError::PayloadTooLarge);
            }
            writer.write(chunk).await?;
        }
    }
    .await;
    match streamed {
        Ok(()) => writer.finish().await?,
        Err(error) => {
            writer.abort().await?;
            return Err(error);
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A parsed `Range` header.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    /// A range outside the file: 416.
    Unsatisfiable,
    /// Several ranges or another unit: served whole, as RFC 9110 allows.
    Ignored,
}

fn parse_range(value: &str, size: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Ignored;
    };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        // `bytes=-N`: the last N bytes.
        match last.parse::<u64>() {
            Ok(0) | Err(_) => return Range::Unsatisfiable,
            Ok(suffix) => (size.saturating_sub(suffix), size.saturating_sub(1)),
        }
    } else {
        let Ok(start) = first.parse::<u64>() else {
            return Range::Ignored;
        };
        let end = if last.is_empty() {
            size.saturating_sub(1)
        } else {
            match last.parse::<u64>() {
                Ok(end) => end.min(size.saturating_sub(1)),
                Err(_) => return Range::Ignored,
            }
        };
        (start, end)
    };
    if size == 0 || range.0 >= size || range.0 > range.1 {
        return Range::Unsatisfiable;
    }
    Range::Bytes(range.0, range.1)
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266).
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| !matches!(c, '"' | '\\'))
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), Range::Bytes(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Range::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Range::Bytes(90, 99));
        assert_eq!(parse_range("bytes=95-200", 100), Range::Bytes(95, 99));
        assert_eq!(parse_range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Range::Ignored);
        assert_eq!(parse_range("items=0-1", 100), Range::Ignored);
    }

    #[test]
    fn content_disposition_keeps_unicode_names_exact_and_safe() {
        assert_eq!(
            content_disposition("résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }
}
