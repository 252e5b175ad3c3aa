//! The Redis store: one atomic Lua script per check, so every instance sharing Redis
//! counts against the same quota; per-instance counters while Redis is unreachable.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::{BoxFuture, Decision, LocalStore, Policy, RateLimitStore, RedisConnection};

/// Counters under `<prefix>:rl:<policy>:<who>`.
#[derive(Clone)]
pub struct RedisStore {
    connection: RedisConnection,
    script: Arc<Script>,
    fallback: LocalStore,
}

impl RedisStore {
    /// A store on `connection`.
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            script: Arc::new(Script::new(include_str!("gcra.lua"))),
            fallback: LocalStore::default(),
        }
    }
}

impl RateLimitStore for RedisStore {
    fn check<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            let redis_key = self.connection.key(&format!("rl:{key}"));
            let period_us = u64::try_from(policy.period.as_micros()).unwrap_or(u64::MAX);
            let script = Arc::clone(&self.script);
            let answer = self
                .connection
                .run(|mut connection| async move {
                    script
                        .key(redis_key)
                        .arg(policy.limit)
                        .arg(period_us)
                        .invoke_async::<(u8, u64, u64, u64)>(&mut connection)
                        .await
                })
                .await;
            match answer {
                Some((allowed, remaining, retry_after_us, reset_us)) => Decision {
                    allowed: allowed == 1,
                    limit: policy.limit,
                    remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                    reset: Duration::from_micros(reset_us),
                    retry_after: Duration::from_micros(retry_after_us),
                },
                None => self.fallback.check_now(key, policy),
            }
        })
    }
}
