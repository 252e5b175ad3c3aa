//! Clerk settings: `CLERK_PUBLISHABLE_KEY` or `CLERK_JWKS_URL`, `CLERK_AUTHORIZED_PARTIES`,
//! `CLERK_AUDIENCE`, `AUTH_ROLE_CLAIM`.

use std::time::Duration;

use base64::Engine;

use super::external_auth::{REFRESH_COOLDOWN, issuer_url, role_claim};
use super::reader::EnvReader;

/// Where a Clerk instance publishes its keys, relative to its Frontend API (the issuer).
const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Which Clerk instance's session tokens are accepted, from which frontends.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The instance's Frontend API URL: the required `iss`.
    pub issuer: String,
    /// Where the signing keys are published.
    pub jwks_url: String,
    /// `CLERK_AUTHORIZED_PARTIES`: allowed `azp` values.
    pub authorized_parties: Vec<String>,
    /// `CLERK_AUDIENCE`: when set, the `aud` tokens must carry (added through a custom
    /// session token claim); unset, session tokens carry no `aud` and none is checked.
    pub audience: Option<String>,
    /// `AUTH_ROLE_CLAIM`: dotted path of the role claim, if roles come from the token.
    pub role_claim: Option<String>,
    /// Least time between key fetches caused by unknown keys or errors.
    pub refresh_cooldown: Duration,
}

impl AuthConfig {
    pub(super) fn load(env: &mut EnvReader<'_>, development: bool) -> Self {
        let (issuer, jwks_url) = instance(env, development).unwrap_or_default();
        let authorized_parties: Vec<String> = env
            .get("CLERK_AUTHORIZED_PARTIES")
            .unwrap_or_default()
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        if authorized_parties.is_empty() {
            env.problem("missing CLERK_AUTHORIZED_PARTIES (your frontends' origins)");
        }
        Self {
            issuer,
            jwks_url,
            authorized_parties,
            audience: env.get("CLERK_AUDIENCE"),
            role_claim: role_claim(env),
            refresh_cooldown: REFRESH_COOLDOWN,
        }
    }
}

/// The instance's issuer and JWKS URL, from `CLERK_JWKS_URL` or else the publishable key.
fn instance(env: &mut EnvReader<'_>, development: bool) -> Option<(String, String)> {
    if env.get("CLERK_JWKS_URL").is_some() {
        let url = issuer_url(env, "CLERK_JWKS_URL", development);
        let Some(issuer) = url.strip_suffix(JWKS_PATH) else {
            env.problem(format!(
                "CLERK_JWKS_URL must end with {JWKS_PATH}: got {url:?}"
            ));
            return None;
        };
        return Some((issuer.to_owned(), url.clone()));
    }
    let Some(key) = env.get("CLERK_PUBLISHABLE_KEY") else {
        env.problem("missing CLERK_PUBLISHABLE_KEY or CLERK_JWKS_URL (Dashboard → API keys)");
        return None;
    };
    let Some(host) = frontend_api(&key) else {
        env.problem("CLERK_PUBLISHABLE_KEY is not a publishable key (pk_live_... or pk_test_...)");
        return None;
    };
    Some((
        format!("https://{host}"),
        format!("https://{host}{JWKS_PATH}"),
    ))
}

/// The Frontend API host encoded in a publishable key: `pk_(test|live)_` + base64 of
/// `<host>$`.
fn frontend_api(publishable_key: &str) -> Option<String> {
    let encoded = publishable_key
        .strip_prefix("pk_test_")
        .or_else(|| publishable_key.strip_prefix("pk_live_"))?;
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let decoded = engine.decode(encoded.trim_end_matches('=')).ok()?;
    let host = String::from_utf8(decoded).ok()?;
    let host = host.strip_suffix('$')?;
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    valid.then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::frontend_api;

    #[test]
    fn the_frontend_api_is_read_from_the_publishable_key() {
        // base64("clerk.example.com$") and base64("fine-bat-12.clerk.accounts.dev$").
        assert_eq!(
            frontend_api("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k").as_deref(),
            Some("clerk.example.com")
        );
        assert_eq!(
            frontend_api("pk_test_ZmluZS1iYXQtMTIuY2xlcmsuYWNjb3VudHMuZGV2JA").as_deref(),
            Some("fine-bat-12.clerk.accounts.dev")
        );
        assert_eq!(frontend_api("sk_test_Y2xlcmsuZXhhbXBsZS5jb20k"), None);
        assert_eq!(frontend_api("pk_test_bm90IGEgaG9zdA"), None);
    }
}
