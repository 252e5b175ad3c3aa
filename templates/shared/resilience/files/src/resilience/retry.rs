//! One policy for calls to a dependency: a timeout per attempt, retries with exponential
//! backoff and jitter (idempotent calls only), and a circuit breaker around it all.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::CircuitBreaker;

/// Why an outbound call failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError<E> {
    /// The dependency did not answer within the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The breaker is open: the call was not attempted.
    #[error("circuit open: the dependency failed repeatedly, not calling it for now")]
    CircuitOpen,
    /// The call itself failed.
    #[error(transparent)]
    Failed(E),
}

/// The resilience policy of one dependency; cheap to clone, share one per dependency.
#[derive(Clone, Debug)]
pub struct Outbound {
    timeout: Duration,
    backoff: ExponentialBuilder,
    breaker: CircuitBreaker,
}

impl Outbound {
    /// 5 s per attempt, 3 retries from 100 ms to 2 s with jitter, a breaker that opens
    /// after 5 consecutive failures for 30 s.
    pub fn new(name: &'static str) -> Self {
        Self {
            timeout: Duration::from_secs(5),
            backoff: ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(2))
                .with_max_times(3)
                .with_jitter(),
            breaker: CircuitBreaker::new(name, 5, Duration::from_secs(30)),
        }
    }

    /// Replaces the per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces the retry schedule.
    #[must_use]
    pub fn with_backoff(mut self, backoff: ExponentialBuilder) -> Self {
        self.backoff = backoff;
        self
    }

    /// Replaces the breaker.
    #[must_use]
    pub fn with_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = breaker;
        self
    }

    /// The breaker, e.g. to report its state.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// One attempt, no retry: for calls that must not run twice (a payment, an email).
    pub async fn call<T, E, F, Fut>(&self, call: F) -> Result<T, OutboundError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if !self.breaker.try_acquire() {
            return Err(OutboundError::CircuitOpen);
        }
        let outcome = match tokio::time::timeout(self.timeout, call()).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(OutboundError::Failed(error)),
            Err(_) => Err(OutboundError::Timeout(self.timeout)),
        };
        self.breaker.record(outcome.is_ok());
        outcome
    }

    /// Attempts an idempotent call until it succeeds, `retryable` says no, the breaker
    /// opens or the retries run out; timeouts are always retried.
    pub async fn call_idempotent<T, E, F, Fut>(
        &self,
        call: F,
        retryable: impl Fn(&E) -> bool,
    ) -> Result<T, OutboundError<E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let call = &call;
        (move || self.call(call))
            .retry(self.backoff)
            .sleep(tokio::time::sleep)
            .when(|error| match error {
                OutboundError::Timeout(_) => true,
                OutboundError::CircuitOpen => false,
                OutboundError::Failed(error) => retryable(error),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::resilience::BreakerState;

    fn fast(name: &'static str, threshold: u32) -> Outbound {
        Outbound::new(name)
            .with_timeout(Duration::from_millis(50))
            .with_backoff(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(1))
                    .with_max_delay(Duration::from_millis(5))
                    .with_max_times(3)
                    .with_jitter(),
            )
            .with_breaker(CircuitBreaker::new(
                name,
                threshold,
                Duration::from_millis(50),
            ))
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let attempts = AtomicU32::new(0);
        let result: Result<u32, OutboundError<&str>> = fast("retry", 10)
            .call_idempotent(
                || async {
                    match attempts.fetch_add(1, Ordering::SeqCst) {
                        0 | 1 => Err("503"),
                        _ => Ok(42),
                    }
                },
                |_| true,
            )
            .await;
        assert_eq!(result.unwrap(), 42);
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = fast("permanent", 10)
            .call_idempotent(
                || async {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    Err("404")
                },
                |error| *error != "404",
            )
            .await;
        assert!(matches!(result, Err(OutboundError::Failed("404"))));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_slow_call_times_out() {
        let result: Result<(), OutboundError<()>> = fast("slow", 10)
            .call(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(matches!(result, Err(OutboundError::Timeout(_))));
    }

    #[tokio::test]
    async fn the_breaker_opens_short_circuits_and_recovers() {
        let outbound = fast("breaker", 2);
        let attempts = AtomicU32::new(0);
        let failing = || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>("down")
        };
        let result = outbound.call_idempotent(failing, |_| true).await;
        // Two failures open the breaker; the third attempt is refused without a call.
        assert!(matches!(result, Err(OutboundError::CircuitOpen)));
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert_eq!(outbound.breaker().state(), BreakerState::Open);

        let refused: Result<(), OutboundError<()>> = outbound.call(|| async { Ok(()) }).await;
        assert!(matches!(refused, Err(OutboundError::CircuitOpen)));

        tokio::time::sleep(Duration::from_millis(60)).await;
        let probe: Result<u8, OutboundError<()>> = outbound.call(|| async { Ok(1) }).await;
        assert_eq!(probe.unwrap(), 1);
        assert_eq!(outbound.breaker().state(), BreakerState::Closed);
    }
}
