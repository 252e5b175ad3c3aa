//! Limits failed logins per email, so online password guessing is answered with 429.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins allowed per email within [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;

/// How long failures count; the lock lifts when the first one is this old.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Above this many tracked emails, expired entries are dropped, so guessing
/// against many addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 10_000;

/// Counts failed logins per (lowercased) email in this process; cheap to clone.
///
/// Blocked attempts are refused before the password is checked, so they cost no Argon2
/// work, and the limit applies to unknown emails too: it reveals nothing about accounts.
#[derive(Clone, Default)]
pub struct LoginThrottle {
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl LoginThrottle {
    /// `Err(retry_after)` while `email` has used up its failures.
    pub fn check(&self, email: &str) -> Result<(), Duration> {
        let failures = self.lock();
        match failures.get(email) {
            Some(&(count, since)) if count >= MAX_FAILURES && since.elapsed() < WINDOW => {
                Err(WINDOW - since.elapsed())
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login for `email`.
    pub fn record_failure(&self, email: &str) {
        let mut failures = self.lock();
        if failures.len() >= PRUNE_ABOVE {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = failures
            .entry(email.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets the failures of `email` after a successful login.
    pub fn reset(&self, email: &str) {
        self.lock().remove(email);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
