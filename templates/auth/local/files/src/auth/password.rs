//! Argon2id password hashing off the async threads, with bounded concurrency.

use std::sync::Arc;

use anyhow::Context;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

/// Verified instead of a real hash when the account does not exist, so an unknown
/// email costs the same time as a wrong password. (Argon2id, default parameters, of a
/// random password nobody knows.)
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$EsB3snb79tSaaI3H5HEWcQ$ceh/eoWumRiE53VsceOsTS5esoaLrXzXakcLymFH9ZA";

/// Hashes and verifies passwords with Argon2id (19 MiB, 2 passes: the OWASP baseline).
///
/// Each hash runs on the blocking pool and holds a permit: at most one hash per CPU
/// runs at once, so a burst of logins queues instead of allocating 19 MiB per request.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            permits: Arc::new(Semaphore::new(cpus)),
        }
    }
}

impl PasswordHasher {
    /// A PHC string (`$argon2id$...`) for `password` with a fresh random salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("argon2: {error}"))
        })
        .await
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it verifies
    /// against a dummy hash and returns `false`, taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.as_deref().unwrap_or(DUMMY_HASH);
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), hash)
                .is_ok();
            Ok(known && matches)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hasher closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task failed")?
    }
}
