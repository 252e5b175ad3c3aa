//! Supabase Auth settings: `SUPABASE_URL`, `SUPABASE_JWT_SECRET`, `AUTH_ROLE_CLAIM`.

use std::time::Duration;

use super::Secret;
use super::external_auth::{REFRESH_COOLDOWN, issuer_url, role_claim};
use super::reader::EnvReader;

/// Legacy JWT secrets Supabase generates are 40 characters or more.
const MIN_SECRET_LEN: usize = 32;

/// Which Supabase project's tokens are accepted.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `SUPABASE_URL`, without a trailing slash.
    pub url: String,
    /// `SUPABASE_JWT_SECRET`: verifies legacy HS256 tokens when set.
    pub legacy_secret: Option<Secret>,
    /// `AUTH_ROLE_CLAIM`: dotted path of the role claim, if roles come from the token.
    pub role_claim: Option<String>,
    /// Least time between key fetches caused by unknown keys or errors.
    pub refresh_cooldown: Duration,
}

impl AuthConfig {
    pub(super) fn load(env: &mut EnvReader<'_>, development: bool) -> Self {
        let url = issuer_url(env, "SUPABASE_URL", development);
        let legacy_secret = env.get("SUPABASE_JWT_SECRET").map(Secret::new);
        if let Some(secret) = &legacy_secret
            && !development
            && let Some(weakness) = secret.weakness(MIN_SECRET_LEN)
        {
            env.problem(format!("SUPABASE_JWT_SECRET {weakness}"));
        }
        Self {
            url: url.trim_end_matches('/').to_owned(),
            legacy_secret,
            role_claim: role_claim(env),
            refresh_cooldown: REFRESH_COOLDOWN,
        }
    }
}
