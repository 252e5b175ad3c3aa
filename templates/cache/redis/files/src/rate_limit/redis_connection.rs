//! The shared Redis connection, and what happens while Redis is unreachable.
//!
//! The choice, documented in `docs/RATE_LIMITS.md`: an outage must not take the API
//! down. Rate limits fall back to per-instance counters; the outage is logged once (plus
//! `redis_outages_total` and the `redis_degraded` gauge), one request per
//! [`PROBE_INTERVAL`] tries Redis again, and the first success ends it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::config::RedisConfig;

/// Longest a request waits for Redis before using the fallback.
const OPERATION_TIMEOUT: Duration = Duration::from_millis(250);

/// While Redis is down, how often one request tries it again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// One multiplexed, self-reconnecting connection for the whole app; cheap to clone.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    key_prefix: String,
    degraded: AtomicBool,
    next_probe: Mutex<Instant>,
}

impl RedisConnection {
    /// A connection to `config.url`, opened at first use (the app starts without Redis).
    pub fn new(config: &RedisConfig) -> Self {
        // redis builds its `rediss://` TLS on rustls' process-wide provider, which rustls
        // cannot pick alone once the build holds two (ring here, aws-lc-rs from an HTTP
        // client): install ring unless one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::Client::open(config.url.expose())
            .expect("REDIS_URL is validated when the configuration loads");
        Self {
            inner: Arc::new(Inner {
                client,
                manager: OnceCell::new(),
                key_prefix: config.key_prefix.clone(),
                degraded: AtomicBool::new(false),
                next_probe: Mutex::new(Instant::now()),
            }),
        }
    }

    /// `name` under this app's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.key_prefix)
    }

    /// Whether the last attempt failed and the fallback is in use.
    pub fn is_degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// Runs `operation` on Redis; `None` means "use the fallback" (Redis is down, or
    /// known to be down and not due for a probe).
    pub async fn run<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.is_degraded() && !self.probe_due() {
            return None;
        }
        self.attempt(operation).await
    }

    /// Pings Redis now, whatever its known state (for `/health/ready`): whether it answered.
    pub async fn ping(&self) -> bool {
        self.attempt(|mut connection| async move {
            redis::cmd("PING").query_async::<()>(&mut connection).await
        })
        .await
        .is_some()
    }

    async fn attempt<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let connection = self.connection().await?;
            operation(connection).await
        };
        match tokio::time::timeout(OPERATION_TIMEOUT, call).await {
            Ok(Ok(value)) => {
                self.mark_up();
                Some(value)
            }
            Ok(Err(error)) => {
                self.mark_down(&error.to_string());
                None
            }
            Err(_) => {
                self.mark_down("no answer in time");
                None
            }
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OPERATION_TIMEOUT))
            .set_response_timeout(Some(OPERATION_TIMEOUT))
            .set_number_of_retries(1);
        self.inner
            .manager
            .get_or_try_init(|| {
                ConnectionManager::new_with_config(self.inner.client.clone(), config)
            })
            .await
            .cloned()
    }

    fn probe_due(&self) -> bool {
        let mut next_probe = self
            .inner
            .next_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now < *next_probe {
            return false;
        }
        *next_probe = now + PROBE_INTERVAL;
        true
    }

    fn mark_down(&self, reason: &str) {
        *self
            .inner
            .next_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now() + PROBE_INTERVAL;
        if !self.inner.degraded.swap(true, Ordering::Relaxed) {
            metrics::counter!("redis_outages_total").increment(1);
            metrics::gauge!("redis_degraded").set(1.0);
            tracing::error!(
                reason,
                "Redis unreachable: rate limits use per-instance counters until it is back"
            );
        }
    }

    fn mark_up(&self) {
        if self.inner.degraded.swap(false, Ordering::Relaxed) {
            metrics::gauge!("redis_degraded").set(0.0);
            tracing::info!("Redis reachable again: shared rate limits resumed");
        }
    }
}
