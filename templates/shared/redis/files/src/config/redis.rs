//! Redis settings: where it is (`rediss://` for TLS) and how this app's keys are prefixed.

use super::Secret;
use super::reader::EnvReader;

const DEV_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// `REDIS_URL` and `REDIS_KEY_PREFIX`.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// Connection URL; may contain a password.
    pub url: Secret,
    /// Prefix of every key, followed by `:`.
    pub key_prefix: String,
}

impl RedisConfig {
    pub(crate) fn load(
        env: &mut EnvReader<'_>,
        development: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        let url = match env.get("REDIS_URL") {
            Some(url) => url,
            None if development => {
                notes.push(format!(
                    "REDIS_URL is not set: using {DEV_REDIS_URL} (development default)"
                ));
                DEV_REDIS_URL.to_owned()
            }
            None => {
                env.problem(format!("missing REDIS_URL (example: {DEV_REDIS_URL})"));
                String::new()
            }
        };
        if !url.is_empty() && redis::Client::open(url.as_str()).is_err() {
            env.problem("REDIS_URL must be a redis://, rediss:// or unix:// URL");
        }
        Self {
            url: Secret::new(url),
            key_prefix: env
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| env!("CARGO_PKG_NAME").to_owned()),
        }
    }
}
