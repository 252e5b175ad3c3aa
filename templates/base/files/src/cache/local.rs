//! In-process cache store: per instance, lost on restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::CacheStore;
use crate::rate_limit::BoxFuture;

/// Above this many entries, expired ones are dropped before inserting, and if none
/// expired, an arbitrary one: memory stays bounded whatever the keys.
const MAX_ENTRIES: usize = 10_000;

type Entries = HashMap<String, (Arc<[u8]>, Instant)>;

/// Values with their expiry, in this process; cheap to clone.
#[derive(Clone, Default)]
pub struct LocalCache {
    entries: Arc<Mutex<Entries>>,
}

impl LocalCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CacheStore for LocalCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        let value = self
            .lock()
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(value, _)| value.to_vec());
        Box::pin(async move { Ok(value) })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        let mut entries = self.lock();
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES
                && let Some(victim) = entries.keys().next().cloned()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(key.to_owned(), (value.into(), now + ttl));
        drop(entries);
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        self.lock().remove(key);
        Box::pin(async { Ok(()) })
    }
}
