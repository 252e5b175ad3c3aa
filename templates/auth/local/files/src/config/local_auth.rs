//! Settings of local (email + password) accounts.

use std::time::Duration;

use super::Secret;
use super::reader::EnvReader;

/// Shortest accepted password, for sign-up and for the seeded admin.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Token lifetimes, what sign-in asks of an address, and the first admin of local accounts.
#[derive(Clone, Debug)]
pub struct LocalAuthConfig {
    /// `ACCESS_TOKEN_TTL_SECS`.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS`.
    pub refresh_token_ttl: Duration,
    /// `AUTH_REQUIRE_VERIFIED_EMAIL`: accounts sign in only once their address is confirmed.
    pub require_verified_email: bool,
    /// `EMAIL_VERIFICATION_TTL_SECS`: how long a verification link works.
    pub email_verification_ttl: Duration,
    /// `PASSWORD_RESET_TTL_SECS`: how long a password-reset link works.
    pub password_reset_ttl: Duration,
    /// `ADMIN_EMAIL`, used by `seed`.
    pub admin_email: Option<String>,
    /// `ADMIN_PASSWORD`, used by `seed`.
    pub admin_password: Option<Secret>,
}

impl LocalAuthConfig {
    pub(crate) fn load(env: &mut EnvReader<'_>, development: bool) -> Self {
        let admin_password = env.get("ADMIN_PASSWORD").map(Secret::new);
        if let Some(password) = &admin_password
            && !development
            && let Some(weakness) = password.weakness(MIN_PASSWORD_LEN)
        {
            env.problem(format!("ADMIN_PASSWORD {weakness}"));
        }
        Self {
            access_token_ttl: env.seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60),
            refresh_token_ttl: env.seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 60 * 60),
            require_verified_email: env.parse("AUTH_REQUIRE_VERIFIED_EMAIL", false),
            email_verification_ttl: env.seconds("EMAIL_VERIFICATION_TTL_SECS", 24 * 60 * 60),
            password_reset_ttl: env.seconds("PASSWORD_RESET_TTL_SECS", 60 * 60),
            admin_email: env.get("ADMIN_EMAIL"),
            admin_password,
        }
    }
}
