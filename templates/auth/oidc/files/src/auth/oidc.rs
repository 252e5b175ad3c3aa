//! OpenID Connect: `OIDC_ISSUER` → discovery document → `jwks_uri` → signing keys.
//!
//! Follows OpenID Connect Discovery 1.0 §4 (the document lives at the issuer +
//! `/.well-known/openid-configuration`, and its `issuer` must equal the configured one
//! exactly) and Core 1.0 §3.1.3.7 (`iss` exact match, `aud` contains the client/API):
//! <https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig>,
//! <https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation>.

use anyhow::{Context, ensure};
use reqwest::Url;
use tokio::sync::OnceCell;

use super::jwks::{BoxFuture, Fetched, Fetcher, JwksCache, KeySource};
use super::{Rules, TokenVerifier};
use crate::config::AuthConfig;

impl TokenVerifier {
    /// A verifier for tokens of `OIDC_ISSUER` meant for `OIDC_AUDIENCE`.
    pub fn new(config: &AuthConfig) -> Self {
        let source = Discovery {
            fetcher: Fetcher::default(),
            issuer: config.issuer.clone(),
            jwks_uri: OnceCell::new(),
        };
        Self::with_rules(
            JwksCache::new(source, config.refresh_cooldown),
            Rules {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                audience_claim: config.audience_claim,
                role_claim: config.role_claim.clone(),
            },
        )
    }
}

/// Keys found through the issuer's discovery document (read once, on the first fetch); both
/// documents are the issuer's, so they share one [`Fetcher`] and its breaker.
struct Discovery {
    fetcher: Fetcher,
    issuer: String,
    jwks_uri: OnceCell<String>,
}

impl Discovery {
    async fn jwks_uri(&self) -> anyhow::Result<String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let document = self.fetcher.fetch_json(&url).await?.body;
        ensure!(
            document["issuer"].as_str() == Some(&self.issuer),
            "{url} describes issuer {}, not {}",
            document["issuer"],
            self.issuer
        );
        let jwks_uri = document["jwks_uri"]
            .as_str()
            .with_context(|| format!("{url} has no jwks_uri"))?;
        ensure!(
            same_origin_rules(&self.issuer, jwks_uri),
            "{url}: jwks_uri {jwks_uri} must be https (or on the issuer's own http host)"
        );
        Ok(jwks_uri.to_owned())
    }
}

/// The key set must be fetched over https; only an issuer already accepted over plain http
/// (localhost in development) may serve it over http, from the same host.
fn same_origin_rules(issuer: &str, jwks_uri: &str) -> bool {
    let (Ok(issuer), Ok(jwks)) = (Url::parse(issuer), Url::parse(jwks_uri)) else {
        return false;
    };
    jwks.scheme() == "https"
        || (jwks.scheme() == "http"
            && issuer.scheme() == "http"
            && jwks.host_str() == issuer.host_str())
}

impl KeySource for Discovery {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<Fetched>> {
        Box::pin(async move {
            let jwks_uri = self.jwks_uri.get_or_try_init(|| self.jwks_uri()).await?;
            self.fetcher.fetch_json(jwks_uri).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin_rules;

    #[test]
    fn the_key_set_is_fetched_over_https_unless_the_issuer_is_local_http() {
        assert!(same_origin_rules(
            "https://id.example.com/",
            "https://keys.example.com/jwks"
        ));
        assert!(!same_origin_rules(
            "https://id.example.com/",
            "http://id.example.com/jwks"
        ));
        assert!(same_origin_rules(
            "http://127.0.0.1:9000",
            "http://127.0.0.1:9000/jwks"
        ));
        assert!(!same_origin_rules(
            "http://127.0.0.1:9000",
            "http://evil.example.com/jwks"
        ));
    }
}
