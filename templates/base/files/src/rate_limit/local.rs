//! In-process store: exact within one instance, nothing to run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{BoxFuture, Decision, Policy, RateLimitStore, gcra};

/// Once this many keys are held, keys whose quota is fully restored are dropped, so
/// requests from many addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 50_000;

/// Arrival times per key in this process; cheap to clone.
#[derive(Clone)]
pub struct LocalStore {
    epoch: Instant,
    inner: Arc<Mutex<Arrivals>>,
}

#[derive(Default)]
struct Arrivals {
    by_key: HashMap<String, u64>,
    /// Size at which the next scan for restored keys runs. After a scan it is twice the
    /// keys still live: when they all are (a flood from many addresses), the next scan
    /// waits until the map has doubled instead of running on every request under the lock,
    /// so scanning costs O(1) per request however many keys there are.
    prune_at: usize,
    /// Scans so far.
    scans: u64,
}

impl Default for LocalStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            inner: Arc::new(Mutex::new(Arrivals {
                prune_at: PRUNE_ABOVE,
                ..Arrivals::default()
            })),
        }
    }
}

impl LocalStore {
    /// Counts one request for `key` (synchronous: the lock is held for microseconds).
    pub fn check_now(&self, key: &str, policy: &Policy) -> Decision {
        let now = self.now();
        let mut arrivals = self.lock();
        if arrivals.by_key.len() >= arrivals.prune_at {
            arrivals.by_key.retain(|_, tat| *tat > now);
            arrivals.prune_at = PRUNE_ABOVE.max(arrivals.by_key.len() * 2);
            arrivals.scans += 1;
        }
        let stored = arrivals.by_key.get(key).copied();
        let (decision, new_tat) = gcra::check(stored, now, policy.limit, policy.period);
        match (new_tat, arrivals.by_key.get_mut(key)) {
            (Some(tat), Some(slot)) => *slot = tat,
            (Some(tat), None) => {
                arrivals.by_key.insert(key.to_owned(), tat);
            }
            (None, _) => {}
        }
        decision
    }

    /// What [`Self::check_now`] would answer, without counting the request.
    pub fn peek_now(&self, key: &str, policy: &Policy) -> Decision {
        let now = self.now();
        let stored = self.lock().by_key.get(key).copied();
        gcra::check(stored, now, policy.limit, policy.period).0
    }

    /// Gives `key` its whole quota back.
    pub fn reset_now(&self, key: &str) {
        self.lock().by_key.remove(key);
    }

    /// How many times the store has scanned for restored keys (it grows slowly even
    /// under a flood of addresses).
    pub fn scans(&self) -> u64 {
        self.lock().scans
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Arrivals> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RateLimitStore for LocalStore {
    fn check<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move { self.check_now(key, policy) })
    }

    fn peek<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move { self.peek_now(key, policy) })
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.reset_now(key) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Quota;
    use crate::rate_limit::Scope;

    fn policy(limit: u32) -> Policy {
        let quota = Quota {
            limit,
            period: Duration::from_secs(3600),
        };
        Policy::new("test", quota, Scope::Ip)
    }

    #[test]
    fn a_full_store_of_live_keys_is_not_scanned_on_every_request() {
        let store = LocalStore::default();
        let policy = policy(10);
        for n in 0..PRUNE_ABOVE + 2_000 {
            store.check_now(&format!("client-{n}"), &policy);
        }
        // Every key is still live: one scan at the threshold found nothing to drop, and
        // the next one waits until the map has doubled.
        assert_eq!(store.scans(), 1);
        assert_eq!(store.lock().by_key.len(), PRUNE_ABOVE + 2_000);
    }

    #[test]
    fn peek_does_not_count_and_reset_restores_the_quota() {
        let store = LocalStore::default();
        let policy = policy(1);
        assert!(store.peek_now("a", &policy).allowed);
        assert!(store.check_now("a", &policy).allowed);
        assert!(!store.peek_now("a", &policy).allowed);
        assert!(!store.check_now("a", &policy).allowed);
        store.reset_now("a");
        assert!(store.check_now("a", &policy).allowed);
    }
}
