//! In-process store: exact within one instance, nothing to run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{BoxFuture, Decision, Policy, RateLimitStore, gcra};

/// Above this many keys, keys whose quota is fully restored are dropped, so requests
/// from many addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 50_000;

/// Arrival times per key in this process; cheap to clone.
#[derive(Clone)]
pub struct LocalStore {
    epoch: Instant,
    arrivals: Arc<Mutex<HashMap<String, u64>>>,
}

impl Default for LocalStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            arrivals: Arc::default(),
        }
    }
}

impl LocalStore {
    /// Counts one request for `key` (synchronous: the lock is held for microseconds).
    pub fn check_now(&self, key: &str, policy: &Policy) -> Decision {
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if arrivals.len() >= PRUNE_ABOVE {
            arrivals.retain(|_, tat| *tat > now);
        }
        let stored = arrivals.get(key).copied();
        let (decision, new_tat) = gcra::check(stored, now, policy.limit, policy.period);
        match (new_tat, arrivals.get_mut(key)) {
            (Some(tat), Some(slot)) => *slot = tat,
            (Some(tat), None) => {
                arrivals.insert(key.to_owned(), tat);
            }
            (None, _) => {}
        }
        decision
    }
}

impl RateLimitStore for LocalStore {
    fn check<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move { self.check_now(key, policy) })
    }
}
