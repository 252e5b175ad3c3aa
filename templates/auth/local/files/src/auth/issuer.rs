//! Signs access tokens for local accounts.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use uuid::Uuid;

use super::{Claims, Role};
use crate::config::JwtConfig;

/// A signed access token and its lifetime.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Issues HS256 access tokens; cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    key: Arc<EncodingKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenIssuer {
    /// An issuer for `JWT_SECRET`, `JWT_ISSUER` and `JWT_AUDIENCE` with the given lifetime.
    pub fn new(config: &JwtConfig, ttl: Duration) -> Self {
        Self {
            key: Arc::new(EncodingKey::from_secret(config.secret.expose().as_bytes())),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl,
        }
    }

    /// Signs a token for `user_id` with `role`.
    pub fn issue(
        &self,
        user_id: Uuid,
        role: Role,
    ) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expires_in = self.ttl.as_secs();
        let claims = Claims {
            sub: user_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add_unsigned(expires_in),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)?;
        Ok(AccessToken { token, expires_in })
    }
}
