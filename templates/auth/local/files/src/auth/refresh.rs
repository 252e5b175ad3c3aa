//! Opaque refresh tokens: random, handed out once, stored only as a SHA-256 hash.

use rand::RngExt;
use sha2::{Digest, Sha256};

/// A new refresh token and the hash to store for it.
pub fn generate() -> (String, Vec<u8>) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token: 256 random bits need no salt or slow hash.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
