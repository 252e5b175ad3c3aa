//! Limits login attempts per email, so online password guessing is answered with 429.

use std::fmt::Write;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::Quota;
use crate::rate_limit::{Policy, RateLimiter, Scope};

/// Login attempts allowed per email at once; then one more every `WINDOW / MAX_ATTEMPTS`.
pub const MAX_ATTEMPTS: u32 = 5;

/// The period over which [`MAX_ATTEMPTS`] apply.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The quota of one email. The scope is not used: the key says who is counted.
const POLICY: Policy = Policy::new(
    "login",
    Quota {
        limit: MAX_ATTEMPTS,
        period: WINDOW,
    },
    Scope::Ip,
);

/// Counts login attempts per (lowercased) email in the rate-limit store, so every instance
/// sharing the store shares the count; cheap to clone.
///
/// An attempt is counted *before* the password is checked, in one atomic step of the
/// store: concurrent guesses cannot all pass a check made before any of them is counted.
/// Refused attempts cost no Argon2 work, and unknown emails are limited the same way, so
/// the limit reveals nothing about accounts. Independent of `RATE_LIMIT_ENABLED`.
#[derive(Clone)]
pub struct LoginThrottle {
    limiter: RateLimiter,
}

impl LoginThrottle {
    /// A throttle counting in `limiter`'s store.
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }

    /// Counts an attempt for `email`; `Err(retry_after)` once it has used up its attempts.
    pub async fn reserve(&self, email: &str) -> Result<(), Duration> {
        let decision = self.limiter.check(&key(email), &POLICY).await;
        if decision.allowed {
            return Ok(());
        }
        metrics::counter!("rate_limit_rejected_total", "policy" => POLICY.name).increment(1);
        Err(ceil_secs(decision.retry_after))
    }

    /// Gives `email` all its attempts back after a successful login.
    pub async fn reset(&self, email: &str) {
        self.limiter.reset(&key(email)).await;
    }
}

/// The store key of `email`: hashed, so the store holds no addresses and keys stay short.
fn key(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let mut key = String::from("login:email:");
    for byte in &digest[..16] {
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// Whole seconds, rounded up: a client that waits `Retry-After` must not be refused again.
fn ceil_secs(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs() + u64::from(duration.subsec_nanos() > 0))
}
