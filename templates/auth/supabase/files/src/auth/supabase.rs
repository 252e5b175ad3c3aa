//! Supabase Auth: the project's signing keys and, optionally, its legacy JWT secret.
//!
//! From Supabase's documentation (<https://supabase.com/docs/guides/auth/jwts>,
//! <https://supabase.com/docs/guides/auth/signing-keys>): user access tokens are signed with
//! the project's asymmetric signing keys (ES256 or RS256, `kid` in the header), published at
//! `SUPABASE_URL/auth/v1/.well-known/jwks.json`, or — legacy — with the shared JWT secret
//! (HS256). `iss` is `SUPABASE_URL/auth/v1`, `aud` is `authenticated` for signed-in users,
//! `sub` is the user's id; `email`, `role` (the database role) and `app_metadata` come along.

use jsonwebtoken::DecodingKey;

use super::jwks::{Fetcher, JwksCache, JwksUrl};
use super::{Rules, TokenVerifier};
use crate::config::AuthConfig;

/// The audience of signed-in users' tokens (anonymous keys and service keys have other roles
/// and no `sub`, so they are refused).
pub const AUDIENCE: &str = "authenticated";

impl TokenVerifier {
    /// A verifier for user access tokens of the project at `SUPABASE_URL`.
    pub fn new(config: &AuthConfig) -> Self {
        let issuer = format!("{}/auth/v1", config.url);
        let keys = JwksUrl::new(
            Fetcher::default(),
            format!("{issuer}/.well-known/jwks.json"),
        );
        Self::with_rules(
            JwksCache::new(keys, config.refresh_cooldown),
            Rules {
                issuer,
                audience: AUDIENCE.to_owned(),
                role_claim: config.role_claim.clone(),
                shared_secret: config
                    .legacy_secret
                    .as_ref()
                    .map(|secret| DecodingKey::from_secret(secret.expose().as_bytes())),
            },
        )
    }
}
