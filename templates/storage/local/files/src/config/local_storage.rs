//! Settings of the local-disk store: its directory and the key signing its URLs.

use std::path::PathBuf;

use super::Secret;
use super::reader::EnvReader;

/// Shortest `STORAGE_SIGNING_KEY` accepted outside development.
const MIN_SIGNING_KEY_LEN: usize = 32;

/// `LOCAL_STORAGE_DIR`, `STORAGE_SIGNING_KEY`, `LOCAL_STORAGE_PUBLIC_URL`.
#[derive(Clone, Debug)]
pub struct LocalStorageConfig {
    /// Where objects are stored (created when missing).
    pub dir: PathBuf,
    /// HMAC key of the signed upload and download URLs.
    pub signing_key: Secret,
    /// Origin put in front of signed URLs; empty for URLs relative to the API.
    pub public_url: String,
}

impl LocalStorageConfig {
    pub(crate) fn load(
        env: &mut EnvReader<'_>,
        development: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        let signing_key = match env.get("STORAGE_SIGNING_KEY") {
            Some(key) => {
                let key = Secret::new(key);
                if !development && let Some(weakness) = key.weakness(MIN_SIGNING_KEY_LEN) {
                    env.problem(format!(
                        "STORAGE_SIGNING_KEY {weakness} (generate one with `openssl rand -base64 48`)"
                    ));
                }
                key
            }
            None if development => {
                notes.push(
                    "STORAGE_SIGNING_KEY is not set: generated a random development key, \
                     signed file URLs will not survive a restart"
                        .to_owned(),
                );
                Secret::new(random_key())
            }
            None => {
                env.problem(
                    "missing STORAGE_SIGNING_KEY (generate one with `openssl rand -base64 48`)",
                );
                Secret::new("")
            }
        };
        let public_url = env
            .get("LOCAL_STORAGE_PUBLIC_URL")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let is_origin = public_url.starts_with("http://") || public_url.starts_with("https://");
        if !public_url.is_empty() && !is_origin {
            env.problem("LOCAL_STORAGE_PUBLIC_URL must start with http:// or https://");
        }
        Self {
            dir: PathBuf::from(
                env.get("LOCAL_STORAGE_DIR")
                    .unwrap_or_else(|| "data/uploads".to_owned()),
            ),
            signing_key,
            public_url,
        }
    }
}

fn random_key() -> String {
    use rand::RngExt;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect()
}
