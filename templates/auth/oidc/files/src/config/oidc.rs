//! OpenID Connect issuer settings: `OIDC_ISSUER`, `OIDC_AUDIENCE`, `AUTH_ROLE_CLAIM`.

use std::time::Duration;

use super::external_auth::{REFRESH_COOLDOWN, issuer_url, role_claim};
use super::reader::EnvReader;

/// Which issuer's tokens are accepted.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `OIDC_ISSUER`: the exact `iss` of accepted tokens, and where discovery starts.
    pub issuer: String,
    /// `OIDC_AUDIENCE`: the required `aud`.
    pub audience: String,
    /// `AUTH_ROLE_CLAIM`: dotted path of the role claim, if roles come from the issuer.
    pub role_claim: Option<String>,
    /// Least time between key fetches caused by unknown keys or errors.
    pub refresh_cooldown: Duration,
}

impl AuthConfig {
    pub(super) fn load(env: &mut EnvReader<'_>, development: bool) -> Self {
        let issuer = issuer_url(env, "OIDC_ISSUER", development);
        let audience = env.get("OIDC_AUDIENCE").unwrap_or_else(|| {
            env.problem(
                "missing OIDC_AUDIENCE (the API identifier or client id tokens are issued for)",
            );
            String::new()
        });
        Self {
            issuer,
            audience,
            role_claim: role_claim(env),
            refresh_cooldown: REFRESH_COOLDOWN,
        }
    }
}
