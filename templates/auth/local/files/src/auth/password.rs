//! Argon2id password hashing off the async threads, with bounded concurrency and memory
//! that goes back to the operating system after every hash.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// Verified instead of a real hash when the account does not exist, so an unknown
/// email costs the same time as a wrong password. (Argon2id, default parameters, of a
/// random password nobody knows.)
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$EsB3snb79tSaaI3H5HEWcQ$ceh/eoWumRiE53VsceOsTS5esoaLrXzXakcLymFH9ZA";

/// Capacity reserved for the 19 MiB of Argon2 state, in 1 KiB blocks: just over 32 MiB.
///
/// glibc serves allocations below its adaptive mmap threshold (at most 32 MiB) from
/// arenas and keeps them after `free`: hashing through `argon2`'s own allocation grew a
/// server by 19 MiB per login. Reserving more than 32 MiB makes every hash an `mmap`
/// that is unmapped when done; only the 19 MiB actually written are ever resident.
const RESERVED_BLOCKS: usize = 32 * 1024 + 1;

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
        self.run(move || hash(password.as_bytes())).await
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it verifies
    /// against a dummy hash and returns `false`, taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        self.run(move || {
            let matches = verify(password.as_bytes(), hash.as_deref().unwrap_or(DUMMY_HASH))?;
            Ok(hash.is_some() && matches)
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

fn hash(password: &[u8]) -> anyhow::Result<String> {
    let params = Params::default();
    let salt = Salt::generate();
    let output = compute(
        password,
        &salt,
        Algorithm::Argon2id,
        Version::V0x13,
        &params,
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow!("argon2 params: {e}"))?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

fn verify(password: &[u8], phc: &str) -> anyhow::Result<bool> {
    let hash = PasswordHash::new(phc).map_err(|e| anyhow!("stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let algorithm =
        Algorithm::try_from(hash.algorithm.as_str()).map_err(|e| anyhow!("stored hash: {e}"))?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow!("stored hash: {e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&hash).map_err(|e| anyhow!("stored hash: {e}"))?;
    let computed = compute(password, salt, algorithm, version, &params, expected.len())?;
    // `Output` compares in constant time.
    Ok(&computed == expected)
}

fn compute(
    password: &[u8],
    salt: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    output_len: usize,
) -> anyhow::Result<Output> {
    let mut memory = Vec::with_capacity(RESERVED_BLOCKS.max(params.block_count()));
    memory.resize(params.block_count(), Block::default());
    let mut output = vec![0; output_len];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, &mut output, &mut memory)
        .map_err(|e| anyhow!("argon2: {e}"))?;
    Output::new(&output).map_err(|e| anyhow!("argon2 output: {e}"))
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher as _;

    use super::{DUMMY_HASH, hash, verify};

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let phc = hash(b"correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(b"correct horse battery staple", &phc).unwrap());
        assert!(!verify(b"correct horse battery stapler", &phc).unwrap());
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify() {
        let phc = argon2::Argon2::default()
            .hash_password(b"hunter2 hunter2")
            .unwrap()
            .to_string();
        assert!(verify(b"hunter2 hunter2", &phc).unwrap());
    }

    #[test]
    fn the_dummy_hash_is_a_valid_hash_of_an_unknown_password() {
        assert!(!verify(b"", DUMMY_HASH).unwrap());
    }
}
