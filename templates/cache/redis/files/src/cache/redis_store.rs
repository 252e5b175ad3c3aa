//! The cache on Redis: shared by every instance, values expire with `PX`.

use std::time::Duration;

use super::{CacheStore, RedisConnection, StoreHealth};
use crate::rate_limit::BoxFuture;

/// Values under `<prefix>:cache:<key>`; while Redis is down, reads miss and writes are
/// skipped (the outage is logged once by [`RedisConnection`]).
#[derive(Clone)]
pub struct RedisCache {
    connection: RedisConnection,
}

impl RedisCache {
    /// A cache on `connection`.
    pub fn new(connection: RedisConnection) -> Self {
        Self { connection }
    }
}

impl CacheStore for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        let key = self.connection.key(&format!("cache:{key}"));
        Box::pin(async move {
            let value = self
                .connection
                .run(|mut connection| async move {
                    redis::cmd("GET")
                        .arg(&key)
                        .query_async::<Option<Vec<u8>>>(&mut connection)
                        .await
                })
                .await;
            Ok(value.flatten())
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        let key = self.connection.key(&format!("cache:{key}"));
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            self.connection
                .run(|mut connection| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("PX")
                        .arg(millis)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        let key = self.connection.key(&format!("cache:{key}"));
        Box::pin(async move {
            self.connection
                .run(|mut connection| async move {
                    redis::cmd("DEL")
                        .arg(&key)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
            Ok(())
        })
    }

    fn readiness(&self) -> BoxFuture<'_, Option<StoreHealth>> {
        Box::pin(async { Some(self.connection.readiness().await) })
    }
}
