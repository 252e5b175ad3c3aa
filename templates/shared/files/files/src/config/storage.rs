//! Limits of the files API: file size, accepted types, per-user quota, signed-URL lifetime.

use std::time::Duration;

use super::reader::EnvReader;
use crate::storage::KNOWN_TYPES;

/// Default `STORAGE_ALLOWED_TYPES`: images and PDF documents.
const DEFAULT_ALLOWED_TYPES: &str = "image/png,image/jpeg,image/gif,image/webp,application/pdf";

/// Longest signed URL accepted: 7 days is the most S3 and GCS signatures allow.
const MAX_URL_TTL_SECS: u64 = 7 * 24 * 3600;

/// `STORAGE_MAX_FILE_BYTES`, `STORAGE_ALLOWED_TYPES`, `STORAGE_USER_QUOTA_BYTES`,
/// `STORAGE_URL_TTL_SECS`, `STORAGE_PENDING_MAX_AGE_SECS`.
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// Largest file accepted, in bytes (413 above it).
    pub max_file_bytes: u64,
    /// Content types accepted, as recognised from the file's first bytes (415 otherwise).
    pub allowed_types: Vec<String>,
    /// Bytes one user may store in all; an upload past it is refused with 422.
    pub user_quota_bytes: u64,
    /// How long signed upload and download URLs stay valid.
    pub url_ttl: Duration,
    /// A direct upload still pending this long after it started is deleted by the
    /// `sweep_pending_uploads` schedule; at least `url_ttl`.
    pub pending_max_age: Duration,
}

impl StorageConfig {
    pub(crate) fn load(env: &mut EnvReader<'_>) -> Self {
        let max_file_bytes: u64 = env.parse("STORAGE_MAX_FILE_BYTES", 25 * 1024 * 1024);
        if max_file_bytes == 0 {
            env.problem("STORAGE_MAX_FILE_BYTES must be greater than 0");
        }
        let user_quota_bytes: u64 = env.parse("STORAGE_USER_QUOTA_BYTES", 1024 * 1024 * 1024);
        let raw_types = env
            .get("STORAGE_ALLOWED_TYPES")
            .unwrap_or_else(|| DEFAULT_ALLOWED_TYPES.to_owned());
        let mut allowed_types = Vec::new();
        for content_type in raw_types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let content_type = content_type.to_ascii_lowercase();
            if KNOWN_TYPES.contains(&content_type.as_str()) {
                allowed_types.push(content_type);
            } else {
                env.problem(format!(
                    "STORAGE_ALLOWED_TYPES entry {content_type:?} is not a type uploads can be \
                     recognised as (known: {})",
                    KNOWN_TYPES.join(", ")
                ));
            }
        }
        if allowed_types.is_empty() {
            env.problem("STORAGE_ALLOWED_TYPES must name at least one type");
        }
        let url_ttl = env.seconds("STORAGE_URL_TTL_SECS", 300);
        if url_ttl.is_zero() || url_ttl.as_secs() > MAX_URL_TTL_SECS {
            env.problem(format!(
                "STORAGE_URL_TTL_SECS must be between 1 and {MAX_URL_TTL_SECS}"
            ));
        }
        let pending_max_age = env.seconds("STORAGE_PENDING_MAX_AGE_SECS", 24 * 3600);
        if pending_max_age < url_ttl {
            // A client may still be uploading through a URL that has not expired.
            env.problem("STORAGE_PENDING_MAX_AGE_SECS must be at least STORAGE_URL_TTL_SECS");
        }
        Self {
            max_file_bytes,
            allowed_types,
            user_quota_bytes,
            url_ttl,
            pending_max_age,
        }
    }

    /// Whether uploads of `content_type` are accepted.
    pub fn allows(&self, content_type: &str) -> bool {
        self.allowed_types.iter().any(|t| t == content_type)
    }
}
