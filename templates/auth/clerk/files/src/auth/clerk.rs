//! Clerk: session tokens signed with the instance's RS256 keys.
//!
//! From Clerk's documentation (<https://clerk.com/docs/guides/sessions/manual-jwt-verification>,
//! <https://clerk.com/docs/guides/sessions/session-tokens>,
//! <https://clerk.com/docs/reference/backend/verify-token>): keys are published at
//! `https://<Frontend API>/.well-known/jwks.json`; `iss` is the Frontend API URL; `exp` and
//! `nbf` must hold; `azp` is the origin the token was made for and must be one of your
//! frontends' origins (the SDKs' `authorizedParties`); `sub` is the user id (`user_...`).
//! Session tokens carry no `aud`.

use super::jwks::{Fetcher, JwksCache, JwksUrl};
use super::{Rules, TokenVerifier};
use crate::config::AuthConfig;

impl TokenVerifier {
    /// A verifier for session tokens of the configured Clerk instance.
    pub fn new(config: &AuthConfig) -> Self {
        let keys = JwksUrl::new(Fetcher::default(), config.jwks_url.clone());
        Self::with_rules(
            JwksCache::new(keys, config.refresh_cooldown),
            Rules {
                issuer: config.issuer.clone(),
                authorized_parties: config.authorized_parties.clone(),
                audience: config.audience.clone(),
                role_claim: config.role_claim.clone(),
            },
        )
    }
}
