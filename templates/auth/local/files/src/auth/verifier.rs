//! Access-token verification with an explicit algorithm list, issuer, audience and expiry.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::Claims;
use crate::config::JwtConfig;

/// Verifies HS256 access tokens; cheap to clone.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<(DecodingKey, Validation)>,
}

impl TokenVerifier {
    /// A verifier for tokens signed with `JWT_SECRET` for this issuer and audience.
    pub fn new(config: &JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Only HS256: a token may never pick its own algorithm (e.g. `none`).
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        // Tolerates small clock differences between machines, nothing more.
        validation.leeway = 30;
        let key = DecodingKey::from_secret(config.secret.expose().as_bytes());
        Self {
            inner: Arc::new((key, validation)),
        }
    }

    /// The claims of a valid token; the error says why a token was refused (log it, never return it).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let (key, validation) = &*self.inner;
        jsonwebtoken::decode::<Claims>(token, key, validation).map(|data| data.claims)
    }
}
