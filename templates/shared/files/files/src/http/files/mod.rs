//! `/api/v1/app/files`: the caller's files. Uploads stream through the API or go straight
//! to the store with a signed URL; downloads are short-lived signed URLs. Another user's
//! file is a 404.

pub mod model;
mod repo;
mod upload;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ErrorBody, FieldError};
use crate::http::extract::{AppPath, ValidatedJson, ValidatedQuery};
use crate::http::pagination::{Page, Pagination};
use crate::storage::object_key;
use crate::{AppError, AppState, Result};
use model::{
    CreateDirectUpload, DirectUpload, DownloadLink, DownloadQuery, File, FileState,
    sanitize_filename,
};
use repo::NewFile;

/// The streamed upload route, which enforces its own size limit and idle timeout.
pub const UPLOAD_ROUTE: &str = "/api/v1/app/files/upload";

/// File routes, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_files))
        .routes(routes!(upload::upload_file))
        .routes(routes!(create_direct_upload))
        .routes(routes!(complete_upload))
        .routes(routes!(get_file, delete_file))
        .routes(routes!(download_file))
}

/// List the caller's files, newest first.
#[utoipa::path(get, path = "/files", tag = "files", security(("bearer" = [])),
    params(Pagination),
    responses(
        (status = 200, description = "A page of files", body = Page<File>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Invalid query parameters", body = ErrorBody),
    ))]
async fn list_files(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedQuery(page): ValidatedQuery<Pagination>,
) -> Result<Json<Page<File>>> {
    let (data, count) = tokio::try_join!(
        repo::list_files_by_owner(&state.db, user.id, page.limit, page.offset),
        repo::count_files_by_owner(&state.db, user.id),
    )?;
    Ok(Json(Page { data, count }))
}

/// Start a direct upload: a signed request that sends the content straight to the store.
///
/// The file stays `pending` until `POST /files/{id}/complete`, which checks the stored
/// object against the declared size and type.
#[utoipa::path(post, path = "/files/direct-uploads", tag = "files", security(("bearer" = [])),
    request_body = CreateDirectUpload,
    responses(
        (status = 201, description = "Upload it with `upload`, then complete it", body = DirectUpload),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Larger than STORAGE_MAX_FILE_BYTES", body = ErrorBody),
        (status = 415, description = "Type not in STORAGE_ALLOWED_TYPES", body = ErrorBody),
        (status = 422, description = "Invalid fields, or over the storage quota", body = ErrorBody),
    ))]
async fn create_direct_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<CreateDirectUpload>,
) -> Result<(StatusCode, Json<DirectUpload>)> {
    let limits = &state.config.storage;
    let content_type = body.content_type.trim().to_ascii_lowercase();
    if !limits.allows(&content_type) {
        return Err(AppError::UnsupportedMediaType);
    }
    let size = u64::try_from(body.size).unwrap_or_default();
    if size > limits.max_file_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    check_quota(&state, user.id, size).await?;
    let id = Uuid::now_v7();
    let key = object_key(user.id, id);
    let target = state
        .storage
        .upload_target(&key, &content_type, size, limits.url_ttl)
        .await?;
    let file = repo::insert_file(
        &state.db,
        NewFile {
            id,
            owner_id: user.id,
            object_key: &key,
            filename: &sanitize_filename(&body.filename),
            content_type: &content_type,
            size_bytes: body.size,
            sha256: None,
            state: FileState::Pending,
        },
    )
    .await?;
    let expires_at = OffsetDateTime::now_utc() + limits.url_ttl;
    let upload = DirectUpload {
        file,
        upload: target,
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Complete a direct upload: the stored object must have the declared size and type.
///
/// An object that differs is deleted with its file and refused with 422.
#[utoipa::path(post, path = "/files/{id}/complete", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, now ready", body = File),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such file of the caller", body = ErrorBody),
        (status = 409, description = "Nothing was uploaded yet", body = ErrorBody),
        (status = 422, description = "The uploaded object differs from the declared one", body = ErrorBody),
    ))]
async fn complete_upload(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<File>> {
    let file = repo::find_file_by_id(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if file.state == FileState::Ready {
        return Ok(Json(file));
    }
    let Some(object) = state.storage.head(&file.object_key).await? else {
        return Err(AppError::Conflict("the file has not been uploaded yet"));
    };
    let size_matches = i64::try_from(object.size).is_ok_and(|size| size == file.size_bytes);
    let type_matches = object
        .content_type
        .as_deref()
        .is_none_or(|stored| essence(stored) == file.content_type);
    if !size_matches || !type_matches {
        state.storage.delete(&file.object_key).await?;
        repo::soft_delete_file(&state.db, user.id, id).await?;
        let (field, msg) = if size_matches {
            ("content_type", "the uploaded object has another type")
        } else {
            ("size", "the uploaded object has another size")
        };
        return Err(AppError::Validation(vec![FieldError::new(
            &["upload", field],
            msg,
            "upload_mismatch",
        )]));
    }
    repo::mark_file_ready(&state.db, user.id, id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

/// Get one of the caller's files.
#[utoipa::path(get, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, description = "The file", body = File),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such file of the caller", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn get_file(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<File>> {
    repo::find_file_by_id(&state.db, user.id, id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

/// Download one of the caller's files through a short-lived signed URL.
#[utoipa::path(get, path = "/files/{id}/download", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id"), DownloadQuery),
    responses(
        (status = 200, description = "The signed URL (`redirect=false`)", body = DownloadLink),
        (status = 307, description = "Redirect to the signed URL"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such file of the caller, or not uploaded yet", body = ErrorBody),
        (status = 422, description = "Malformed id or query", body = ErrorBody),
    ))]
async fn download_file(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
    ValidatedQuery(query): ValidatedQuery<DownloadQuery>,
) -> Result<Response> {
    let file = repo::find_file_by_id(&state.db, user.id, id)
        .await?
        .filter(|file| file.state == FileState::Ready)
        .ok_or(AppError::NotFound)?;
    let ttl = state.config.storage.url_ttl;
    let url = state
        .storage
        .download_url(&file.object_key, &file.filename, ttl)
        .await?;
    if query.redirect {
        // 307 keeps the method; the URL is private to the caller, so it must not be cached.
        return Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".into())],
        )
            .into_response());
    }
    let expires_at = OffsetDateTime::now_utc() + ttl;
    Ok(Json(DownloadLink { url, expires_at }).into_response())
}

/// Delete one of the caller's files and its stored content.
#[utoipa::path(delete, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such file of the caller", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn delete_file(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode> {
    let key = repo::soft_delete_file(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The row is gone from the API either way; a store that fails now leaves an orphan
    // object behind, logged with its key so it can be removed later.
    if let Err(error) = state.storage.delete(&key).await {
        tracing::warn!(key, error = format!("{error:#}"), "stored object not deleted");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses an upload of `size` bytes that would take the user past the quota (422).
async fn check_quota(state: &AppState, owner_id: Uuid, size: u64) -> Result<()> {
    let used = repo::used_bytes_by_owner(&state.db, owner_id).await?;
    let used = u64::try_from(used).unwrap_or_default();
    if used.saturating_add(size) > state.config.storage.user_quota_bytes {
        return Err(quota_exceeded());
    }
    Ok(())
}

fn quota_exceeded() -> AppError {
    AppError::Validation(vec![FieldError::new(
        &["body", "file"],
        "over your storage quota",
        "quota_exceeded",
    )])
}

/// `image/png` of `image/png; charset=binary`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}
