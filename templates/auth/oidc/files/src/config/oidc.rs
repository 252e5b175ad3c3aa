//! OpenID Connect issuer settings: `OIDC_ISSUER`, `OIDC_AUDIENCE`, `OIDC_AUDIENCE_CLAIM`,
//! `AUTH_ROLE_CLAIM`.

use std::time::Duration;

use super::external_auth::{REFRESH_COOLDOWN, issuer_url, role_claim};
use super::reader::EnvReader;

/// Which issuer's tokens are accepted.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `OIDC_ISSUER`: the exact `iss` of accepted tokens, and where discovery starts.
    pub issuer: String,
    /// `OIDC_AUDIENCE`: the required `aud` (or `client_id`, see `audience_claim`).
    pub audience: String,
    /// `OIDC_AUDIENCE_CLAIM`: which claim must name `audience`.
    pub audience_claim: AudienceClaim,
    /// `AUTH_ROLE_CLAIM`: dotted path of the role claim, if roles come from the issuer.
    pub role_claim: Option<String>,
    /// Least time between key fetches caused by unknown keys or errors.
    pub refresh_cooldown: Duration,
}

/// The claim that binds a token to this API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudienceClaim {
    /// `aud` contains `OIDC_AUDIENCE` (OpenID Connect, OAuth 2.0 JWT access tokens).
    #[default]
    Aud,
    /// `client_id` equals `OIDC_AUDIENCE`: Amazon Cognito access tokens carry the app
    /// client id there and no `aud` (its ID tokens have no `client_id`, so they are refused).
    ClientId,
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
        let audience_claim = match env.get("OIDC_AUDIENCE_CLAIM").as_deref() {
            None | Some("aud") => AudienceClaim::Aud,
            Some("client_id") => AudienceClaim::ClientId,
            Some(other) => {
                env.problem(format!(
                    "OIDC_AUDIENCE_CLAIM must be aud or client_id: got {other:?}"
                ));
                AudienceClaim::Aud
            }
        };
        Self {
            issuer,
            audience,
            audience_claim,
            role_claim: role_claim(env),
            refresh_cooldown: REFRESH_COOLDOWN,
        }
    }
}
