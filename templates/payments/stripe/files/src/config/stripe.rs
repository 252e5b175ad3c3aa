//! Stripe settings: API key, webhook signing secrets, where customers return to.

use super::Secret;
use super::reader::EnvReader;

const DEFAULT_API_BASE: &str = "https://api.stripe.com";
const DEV_RETURN_URL: &str = "http://localhost:3000/billing";

/// `STRIPE_*`.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `STRIPE_SECRET_KEY`.
    pub secret_key: Secret,
    /// `STRIPE_WEBHOOK_SECRET`: one, or several while the endpoint's secret is rotated.
    pub webhook_secrets: Vec<Secret>,
    /// `STRIPE_RETURN_URL`.
    pub return_url: String,
    /// `STRIPE_API_BASE`, without a trailing slash.
    pub api_base: String,
}

impl StripeConfig {
    pub(crate) fn load(
        env: &mut EnvReader<'_>,
        development: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        // Development starts without Stripe (its calls fail and webhooks are refused until
        // the keys are set); anywhere else a missing key is a configuration error.
        let mut required = |env: &mut EnvReader<'_>, name: &str| {
            let value = env.get(name);
            if value.is_none() {
                if development {
                    notes.push(format!("{name} is not set: Stripe is unusable until it is"));
                } else {
                    env.problem(format!("missing {name} (needed by payments: stripe)"));
                }
            }
            value.unwrap_or_default()
        };
        let secret_key = required(env, "STRIPE_SECRET_KEY");
        let webhook_secret = required(env, "STRIPE_WEBHOOK_SECRET");
        let known_key = ["sk_", "rk_"].iter().any(|p| secret_key.starts_with(p));
        if !secret_key.is_empty() && !known_key {
            env.problem("STRIPE_SECRET_KEY must be a secret (sk_...) or restricted (rk_...) key");
        }
        let webhook_secrets: Vec<Secret> = webhook_secret
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect();
        if !webhook_secrets
            .iter()
            .all(|s| s.expose().starts_with("whsec_"))
        {
            env.problem("STRIPE_WEBHOOK_SECRET must be whsec_... values, comma-separated");
        }
        let return_url = match env.get("STRIPE_RETURN_URL") {
            Some(url) => url,
            None if development => {
                notes.push(format!(
                    "STRIPE_RETURN_URL is not set: using {DEV_RETURN_URL} (development default)"
                ));
                DEV_RETURN_URL.to_owned()
            }
            None => {
                env.problem("missing STRIPE_RETURN_URL (needed by payments: stripe)");
                String::new()
            }
        };
        if !return_url.is_empty() && !is_allowed_url(&return_url, development) {
            env.problem("STRIPE_RETURN_URL must start with https:// (or http:// in development)");
        }
        let api_base = env
            .get("STRIPE_API_BASE")
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let local =
            api_base.starts_with("http://127.0.0.1") || api_base.starts_with("http://localhost");
        if !(api_base.starts_with("https://") || local) {
            env.problem("STRIPE_API_BASE must be an https:// URL (http:// only for localhost)");
        }
        Self {
            secret_key: Secret::new(secret_key),
            webhook_secrets,
            return_url,
            api_base,
        }
    }
}

/// Customers' browsers are sent there with their session: plain http only while developing.
fn is_allowed_url(url: &str, development: bool) -> bool {
    url.starts_with("https://") || (development && url.starts_with("http://"))
}
