//! The Redis store: one atomic Lua script per check, so every instance sharing Redis
//! counts against the same quota; per-instance counters while Redis is unreachable.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::{BoxFuture, Decision, LocalStore, Policy, RateLimitStore};
use crate::redis_connection::RedisConnection;

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

impl RedisStore {
    /// Runs the script for `key`; counts the request when `count` is set. `None` when
    /// Redis is unreachable.
    async fn run_script(&self, key: &str, policy: &Policy, count: bool) -> Option<Decision> {
        let redis_key = self.redis_key(key);
        let period_us = u64::try_from(policy.period.as_micros()).unwrap_or(u64::MAX);
        let script = Arc::clone(&self.script);
        let answer = self
            .connection
            .run(|mut connection| async move {
                script
                    .key(redis_key)
                    .arg(policy.limit)
                    .arg(period_us)
                    .arg(i32::from(count))
                    .invoke_async::<(u8, u64, u64, u64)>(&mut connection)
                    .await
            })
            .await?;
        let (allowed, remaining, retry_after_us, reset_us) = answer;
        Some(Decision {
            allowed: allowed == 1,
            limit: policy.limit,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset: Duration::from_micros(reset_us),
            retry_after: Duration::from_micros(retry_after_us),
        })
    }

    fn redis_key(&self, key: &str) -> String {
        self.connection.key(&format!("rl:{key}"))
    }
}

impl RateLimitStore for RedisStore {
    fn check<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            match self.run_script(key, policy, true).await {
                Some(decision) => decision,
                None => self.fallback.check_now(key, policy),
            }
        })
    }

    fn peek<'a>(&'a self, key: &'a str, policy: &'a Policy) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            match self.run_script(key, policy, false).await {
                Some(decision) => decision,
                None => self.fallback.peek_now(key, policy),
            }
        })
    }

    fn reset<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Both: counts made during an outage live in the fallback.
            self.fallback.reset_now(key);
            let redis_key = self.redis_key(key);
            self.connection
                .run(|mut connection| async move {
                    redis::cmd("DEL")
                        .arg(redis_key)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
        })
    }
}
