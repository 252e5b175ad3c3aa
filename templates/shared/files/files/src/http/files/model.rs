//! File DTOs, their validation and row mapping.

use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::{DbRow, decode_enum};
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};
use crate::storage::UploadTarget;

/// Longest filename kept, in characters (file systems allow 255 bytes).
pub const FILENAME_MAX: usize = 200;

/// Where a file is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// A direct upload was handed out and not completed yet.
    Pending,
    /// The object is stored and checked.
    Ready,
}

impl FileState {
    /// The value stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
        }
    }
}

impl std::str::FromStr for FileState {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value {
            "pending" => Ok(Self::Pending),
            "ready" => Ok(Self::Ready),
            _ => Err(()),
        }
    }
}

/// A file as returned by the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct File {
    /// File id.
    pub id: Uuid,
    /// Owning user.
    pub owner_id: Uuid,
    /// The uploaded name, sanitised.
    pub filename: String,
    /// Content type, as recognised from the content (streamed uploads) or declared and
    /// checked against the stored object (direct uploads).
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content in hex, for uploads that passed through the API.
    pub sha256: Option<String>,
    /// `pending` until a direct upload is completed.
    pub state: FileState,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Where the object lives in the store (not part of the API).
    #[serde(skip)]
    pub object_key: String,
}

impl<'r> FromRow<'r, DbRow> for File {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            filename: row.try_get("filename")?,
            content_type: row.try_get("content_type")?,
            size_bytes: row.try_get("size_bytes")?,
            sha256: row.try_get("sha256")?,
            state: decode_enum(row, "state")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            object_key: row.try_get("object_key")?,
        })
    }
}

/// Body of `POST /files/direct-uploads`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateDirectUpload {
    /// The file's name; it is sanitised, never used in the object's key.
    #[schema(min_length = 1, max_length = 200, example = "report.pdf")]
    pub filename: String,
    /// The type the upload will have; one of `STORAGE_ALLOWED_TYPES`.
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// Exact size in bytes.
    #[schema(minimum = 1, example = 48213)]
    pub size: i64,
}

impl Validate for CreateDirectUpload {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .check(
                !sanitize_filename(&self.filename).is_empty(),
                &["body", "filename"],
                "must contain a usable name",
                "too_short",
            )
            .length(&self.filename, &["body", "filename"], 1, 1000)
            .check(
                self.size >= 1,
                &["body", "size"],
                "must be at least 1",
                "out_of_range",
            )
            .finish()
    }
}

/// Answer of `POST /files/direct-uploads`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectUpload {
    /// The file, `pending` until completed.
    pub file: File,
    /// The request that uploads the content.
    pub upload: UploadTarget,
    /// When the upload URL stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Query of `GET /files/{id}/download`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// `true` (default): answer with a redirect to the signed URL; `false`: answer JSON.
    #[serde(default = "default_redirect")]
    #[param(default = true)]
    pub redirect: bool,
}

fn default_redirect() -> bool {
    true
}

impl Validate for DownloadQuery {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}

/// A signed download URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadLink {
    /// Short-lived signed URL of the content.
    pub url: String,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The multipart form of `POST /files/upload` (for the OpenAPI document).
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file; its type is recognised from its content.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A filename safe to store and to put in a `Content-Disposition` header: the last path
/// component, without control characters or quotes, at most [`FILENAME_MAX`] characters.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(FILENAME_MAX)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    cleaned.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn filenames_lose_paths_controls_and_leading_dots() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename(r"C:\Users\ada\cv.pdf"), "cv.pdf");
        assert_eq!(sanitize_filename("a\r\nb\";.png"), "ab.png");
        assert_eq!(sanitize_filename(".."), "");
        assert_eq!(sanitize_filename(".env"), "env");
        assert_eq!(sanitize_filename(&"x".repeat(300)).len(), 200);
    }
}
