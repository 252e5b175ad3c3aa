//! `POST /files/upload`: a multipart upload streamed into the store chunk by chunk, never
//! held whole in memory. The size limit and quota apply while streaming, the type is
//! recognised from the first bytes; a refused upload leaves nothing behind.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{File, FileState, UploadForm, sanitize_filename};
use super::quota_exceeded;
use super::repo::{self, NewFile};
use crate::auth::AuthUser;
use crate::error::{ErrorBody, FieldError};
use crate::storage::{ObjectWriter, SNIFF_LEN, object_key, sniff_content_type};
use crate::{AppError, AppState, Result};

/// Room for the multipart framing around the file in a declared `Content-Length`.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// Upload a file through the API, as the `file` part of a `multipart/form-data` body.
///
/// The type is recognised from the content (the part's `Content-Type` is ignored) and must
/// be one of `STORAGE_ALLOWED_TYPES`. The route is exempt from `BODY_LIMIT_BYTES` and
/// `REQUEST_TIMEOUT_SECS`: it stops at `STORAGE_MAX_FILE_BYTES`, and when the client sends
/// nothing for `REQUEST_TIMEOUT_SECS`.
#[utoipa::path(post, path = "/files/upload", tag = "files", security(("bearer" = [])),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = File),
        (status = 400, description = "Malformed multipart body, or no `file` part", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Larger than STORAGE_MAX_FILE_BYTES", body = ErrorBody),
        (status = 415, description = "Not multipart, or a type not in STORAGE_ALLOWED_TYPES", body = ErrorBody),
        (status = 422, description = "Over the storage quota", body = ErrorBody),
        (status = 502, description = "The file store failed the request", body = ErrorBody),
        (status = 503, description = "The client stopped sending for REQUEST_TIMEOUT_SECS, or the file store is unreachable", body = ErrorBody),
    ))]
pub(super) async fn upload_file(
    State(state): State<AppState>,
    user: AuthUser,
    request: Request,
) -> Result<(StatusCode, Json<File>)> {
    let limits = &state.config.storage;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_file_bytes + FORM_OVERHEAD) {
        return Err(AppError::PayloadTooLarge);
    }
    let mut multipart = Multipart::from_request(request, &state).await.map_err(
        |rejection: MultipartRejection| match rejection.status() {
            StatusCode::BAD_REQUEST => AppError::UnsupportedMediaType,
            _ => AppError::BadRequest(rejection.body_text()),
        },
    )?;
    let used = repo::used_bytes_by_owner(&state.db, user.id).await?;
    let remaining = limits
        .user_quota_bytes
        .saturating_sub(u64::try_from(used).unwrap_or_default());
    let idle = state.config.request_timeout;
    let mut stored = None;
    while let Some(mut field) = next_part(&mut multipart, idle).await? {
        if field.name() == Some("file") {
            stored = Some(store_part(&state, user.id, remaining, &mut field).await?);
            break;
        }
    }
    let Some(file) = stored else {
        return Err(AppError::Validation(vec![FieldError::new(
            &["body", "file"],
            "a `file` part is required",
            "missing",
        )]));
    };
    match repo::insert_file(&state.db, file.row(user.id)).await {
        Ok(file) => Ok((StatusCode::CREATED, Json(file))),
        Err(error) => {
            // Without its row the object would be an orphan nobody can see or delete.
            if let Err(delete) = state.storage.delete(&file.key).await {
                tracing::warn!(
                    key = file.key,
                    error = format!("{:#}", delete.cause()),
                    "orphan object left"
                );
            }
            Err(error.into())
        }
    }
}

/// A part streamed into the store.
struct Stored {
    id: Uuid,
    key: String,
    filename: String,
    content_type: &'static str,
    size: u64,
    sha256: String,
}

impl Stored {
    fn row(&self, owner_id: Uuid) -> NewFile<'_> {
        NewFile {
            id: self.id,
            owner_id,
            object_key: &self.key,
            filename: &self.filename,
            content_type: self.content_type,
            size_bytes: i64::try_from(self.size).unwrap_or(i64::MAX),
            sha256: Some(&self.sha256),
            state: FileState::Ready,
        }
    }
}

/// Streams the `file` part into a new object; on any refusal, nothing is left behind.
async fn store_part(
    state: &AppState,
    owner_id: Uuid,
    remaining: u64,
    field: &mut Field<'_>,
) -> Result<Stored> {
    let limits = &state.config.storage;
    let idle = state.config.request_timeout;
    let filename = sanitize_filename(field.file_name().unwrap_or_default());
    let filename = if filename.is_empty() {
        "file".to_owned()
    } else {
        filename
    };
    let id = Uuid::now_v7();
    let key = object_key(owner_id, id);
    let mut upload = Upload {
        max: limits.max_file_bytes,
        remaining,
        size: 0,
        hasher: Sha256::new(),
        head: Vec::new(),
        content_type: None,
        writer: None,
    };
    let streamed = async {
        while let Some(chunk) = next_chunk(field, idle).await? {
            upload
                .push(state, &key, &limits.allowed_types, chunk)
                .await?;
        }
        upload.flush_head(state, &key, &limits.allowed_types).await
    }
    .await;
    if let Err(error) = streamed {
        if let Some(writer) = upload.writer.take()
            && let Err(abort) = writer.abort().await
        {
            tracing::warn!(
                key,
                error = format!("{:#}", abort.cause()),
                "partial upload not removed"
            );
        }
        return Err(error);
    }
    let (Some(writer), Some(content_type)) = (upload.writer.take(), upload.content_type) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "upload finished unopened"
        )));
    };
    writer.finish().await?;
    Ok(Stored {
        id,
        key,
        filename,
        content_type,
        size: upload.size,
        sha256: hex(&upload.hasher.finalize()),
    })
}

/// The state of one streamed upload.
struct Upload {
    max: u64,
    remaining: u64,
    size: u64,
    hasher: Sha256,
    /// The first bytes, held until the type is known; nothing is written before that.
    head: Vec<u8>,
    content_type: Option<&'static str>,
    writer: Option<Box<dyn ObjectWriter>>,
}

impl Upload {
    async fn push(
        &mut self,
        state: &AppState,
        key: &str,
        allowed: &[String],
        chunk: Bytes,
    ) -> Result<()> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(AppError::PayloadTooLarge);
        }
        if self.size > self.remaining {
            return Err(quota_exceeded());
        }
        self.hasher.update(&chunk);
        match self.writer.as_mut() {
            Some(writer) => writer.write(chunk).await?,
            None => {
                self.head.extend_from_slice(&chunk);
                if self.head.len() >= SNIFF_LEN {
                    self.flush_head(state, key, allowed).await?;
                }
            }
        }
        Ok(())
    }

    /// Recognises the type from the bytes held so far and starts writing them.
    async fn flush_head(&mut self, state: &AppState, key: &str, allowed: &[String]) -> Result<()> {
        if self.writer.is_some() {
            return Ok(());
        }
        if self.head.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new(
                &["body", "file"],
                "the file is empty",
                "too_short",
            )]));
        }
        let content_type = sniff_content_type(&self.head)
            .filter(|sniffed| allowed.iter().any(|t| t == sniffed))
            .ok_or(AppError::UnsupportedMediaType)?;
        let mut writer = state.storage.writer(key, content_type).await?;
        self.content_type = Some(content_type);
        let head = Bytes::from(std::mem::take(&mut self.head));
        let written = writer.write(head).await;
        self.writer = Some(writer);
        written.map_err(AppError::from)
    }
}

async fn next_part(multipart: &mut Multipart, idle: Duration) -> Result<Option<Field<'_>>> {
    match tokio::time::timeout(idle, multipart.next_field()).await {
        Ok(part) => part.map_err(|error| AppError::BadRequest(error.body_text())),
        Err(_) => Err(stalled()),
    }
}

async fn next_chunk(field: &mut Field<'_>, idle: Duration) -> Result<Option<Bytes>> {
    match tokio::time::timeout(idle, field.chunk()).await {
        Ok(chunk) => chunk.map_err(|error| AppError::BadRequest(error.body_text())),
        Err(_) => Err(stalled()),
    }
}

fn stalled() -> AppError {
    AppError::ServiceUnavailable("the upload stopped sending data")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
