//! Files on the local disk, uploaded and downloaded through URLs the app signs itself
//! (HMAC-SHA256, expiring), so development behaves like a cloud store without an account.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{BoxFuture, FileStore, ObjectInfo, ObjectWriter, StoreResult, UploadTarget};
use crate::config::LocalStorageConfig;

/// The app's route serving signed URLs (`GET` downloads, `PUT` uploads).
pub const SIGNED_ROUTE: &str = "/api/v1/public/storage";

/// Folder under the storage directory holding uploads still being written; keys never
/// start with a dot, so it cannot clash with an object.
const PARTIAL_DIR: &str = ".partial";

/// What a signed URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Read `key`, served as `filename`.
    Download { key: String, filename: String },
    /// Write `key` with exactly this content type and at most `size` bytes.
    Upload {
        key: String,
        content_type: String,
        size: u64,
    },
}

/// Why a signed URL is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// Not a token this app made, or changed since.
    Invalid,
    /// Signed, but past its expiry time.
    Expired,
}

/// The local-disk store.
#[derive(Clone)]
pub struct LocalStore {
    dir: PathBuf,
    key: Vec<u8>,
    public_url: String,
}

impl LocalStore {
    /// The store described by `config`.
    pub fn new(config: &LocalStorageConfig) -> Self {
        Self {
            dir: config.dir.clone(),
            key: config.signing_key.expose().as_bytes().to_vec(),
            public_url: config.public_url.clone(),
        }
    }

    /// Where the object `key` lives; `None` for a key that could leave the directory.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        is_safe_key(key).then(|| self.dir.join(key))
    }

    /// A token granting `grant` until `expires` (Unix seconds).
    pub fn sign(&self, grant: &Grant, expires: u64) -> String {
        let text = match grant {
            Grant::Download { key, filename } => format!("get\n{expires}\n{key}\n{filename}"),
            Grant::Upload {
                key,
                content_type,
                size,
            } => format!("put\n{expires}\n{key}\n{content_type}\n{size}"),
        };
        let payload = URL_SAFE_NO_PAD.encode(text);
        let signature =
            URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The grant of a token, checked against the signature (in constant time) and the clock.
    pub fn verify(&self, token: &str) -> Result<Grant, SignatureError> {
        let (payload, signature) = token.split_once('.').ok_or(SignatureError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SignatureError::Invalid)?;
        self.mac(payload.as_bytes())
            .verify_slice(&signature)
            .map_err(|_| SignatureError::Invalid)?;
        let text = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(SignatureError::Invalid)?;
        let parts: Vec<&str> = text.split('\n').collect();
        let expires: u64 = parts
            .get(1)
            .and_then(|raw| raw.parse().ok())
            .ok_or(SignatureError::Invalid)?;
        let grant = match parts.as_slice() {
            ["get", _, key, filename] => Grant::Download {
                key: (*key).to_owned(),
                filename: (*filename).to_owned(),
            },
            ["put", _, key, content_type, size] => Grant::Upload {
                key: (*key).to_owned(),
                content_type: (*content_type).to_owned(),
                size: size.parse().map_err(|_| SignatureError::Invalid)?,
            },
            _ => return Err(SignatureError::Invalid),
        };
        if unix_now() >= expires {
            return Err(SignatureError::Expired);
        }
        Ok(grant)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }

    fn url(&self, grant: &Grant, ttl: Duration) -> String {
        let token = self.sign(grant, unix_now() + ttl.as_secs());
        format!("{}{SIGNED_ROUTE}?token={token}", self.public_url)
    }

    /// Opens a writer for `key`, at most `limit` bytes (used by the signed upload route).
    pub async fn open_writer(&self, key: &str) -> StoreResult<LocalWriter> {
        let target = self.path_of(key).context("unsafe object key")?;
        let partial_dir = self.dir.join(PARTIAL_DIR);
        tokio::fs::create_dir_all(&partial_dir)
            .await
            .with_context(|| format!("cannot create {}", partial_dir.display()))?;
        let partial = partial_dir.join(Uuid::now_v7().to_string());
        let file = tokio::fs::File::create(&partial)
            .await
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(LocalWriter {
            file,
            partial,
            target,
        })
    }
}

/// Keys are relative paths of plain segments: letters, digits, `-`, `_`, `.`, never
/// starting with a dot (no `..`, no hidden files, no absolute paths).
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// An object being written to a file under `.partial/`, renamed into place on finish.
pub struct LocalWriter {
    file: tokio::fs::File,
    partial: PathBuf,
    target: PathBuf,
}

impl LocalWriter {
    async fn commit(mut self) -> StoreResult<()> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        if let Some(parent) = self.target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&self.partial, &self.target)
            .await
            .with_context(|| format!("cannot move upload to {}", self.target.display()))?;
        Ok(())
    }
}

impl ObjectWriter for LocalWriter {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move { Ok(self.file.write_all(&chunk).await?) })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            let partial = self.partial.clone();
            let committed = self.commit().await;
            if committed.is_err() {
                remove_quietly(&partial).await;
            }
            committed
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            drop(self.file);
            match tokio::fs::remove_file(&self.partial).await {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
                _ => Ok(()),
            }
        })
    }
}

async fn remove_quietly(path: &Path) {
    if let Err(error) = tokio::fs::remove_file(path).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "partial upload not removed");
    }
}

impl FileStore for LocalStore {
    fn writer<'a>(
        &'a self,
        key: &'a str,
        _content_type: &'a str,
    ) -> BoxFuture<'a, StoreResult<Box<dyn ObjectWriter>>> {
        Box::pin(async move {
            let writer: Box<dyn ObjectWriter> = Box::new(self.open_writer(key).await?);
            Ok(writer)
        })
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<ObjectInfo>>> {
        Box::pin(async move {
            let path = self.path_of(key).context("unsafe object key")?;
            match tokio::fs::metadata(&path).await {
                // The signed upload URL fixed the content type; the disk keeps none.
                Ok(metadata) if metadata.is_file() => Ok(Some(ObjectInfo {
                    size: metadata.len(),
                    content_type: None,
                })),
                Ok(_) => Ok(None),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let path = self.path_of(key).context("unsafe object key")?;
            match tokio::fs::remove_file(&path).await {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
                _ => Ok(()),
            }
        })
    }

    fn upload_target<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        size: u64,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<UploadTarget>> {
        Box::pin(async move {
            let grant = Grant::Upload {
                key: key.to_owned(),
                content_type: content_type.to_owned(),
                size,
            };
            Ok(UploadTarget {
                method: "PUT",
                url: self.url(&grant, ttl),
                headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
                fields: BTreeMap::new(),
            })
        })
    }

    fn download_url<'a>(
        &'a self,
        key: &'a str,
        filename: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<String>> {
        Box::pin(async move {
            let grant = Grant::Download {
                key: key.to_owned(),
                filename: filename.to_owned(),
            };
            Ok(self.url(&grant, ttl))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn store() -> LocalStore {
        LocalStore::new(&LocalStorageConfig {
            dir: PathBuf::from("unused"),
            signing_key: Secret::new("k".repeat(40)),
            public_url: String::new(),
        })
    }

    #[test]
    fn a_signed_grant_verifies_until_it_expires() {
        let store = store();
        let grant = Grant::Download {
            key: "files/a/b".into(),
            filename: "cv.pdf".into(),
        };
        let token = store.sign(&grant, unix_now() + 60);
        assert_eq!(store.verify(&token), Ok(grant.clone()));
        let expired = store.sign(&grant, unix_now() - 1);
        assert_eq!(store.verify(&expired), Err(SignatureError::Expired));
    }

    #[test]
    fn a_changed_or_foreign_token_is_refused() {
        let store = store();
        let grant = Grant::Upload {
            key: "files/a/b".into(),
            content_type: "image/png".into(),
            size: 10,
        };
        let token = store.sign(&grant, unix_now() + 60);
        let (payload, signature) = token.split_once('.').unwrap();
        let bigger = URL_SAFE_NO_PAD.encode(format!(
            "put\n{}\nfiles/a/b\nimage/png\n999999",
            unix_now() + 60
        ));
        assert_eq!(
            store.verify(&format!("{bigger}.{signature}")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(store.verify(payload), Err(SignatureError::Invalid));
        let other = LocalStore::new(&LocalStorageConfig {
            dir: PathBuf::from("unused"),
            signing_key: Secret::new("o".repeat(40)),
            public_url: String::new(),
        });
        assert_eq!(other.verify(&token), Err(SignatureError::Invalid));
    }

    #[test]
    fn keys_that_could_leave_the_directory_are_refused() {
        for key in [
            "../x",
            "files/../../etc",
            "/etc/passwd",
            "a//b",
            ".partial/x",
            "a\\b",
            "",
        ] {
            assert!(!is_safe_key(key), "{key}");
        }
        assert!(is_safe_key("files/0193/0194"));
    }
}
