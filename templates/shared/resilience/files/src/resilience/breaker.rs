//! A circuit breaker: opens after consecutive failures, lets one probe through after a
//! cool-down, closes again when the probe succeeds.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where a breaker is; exported as the gauge `circuit_breaker_state{breaker}`
/// (0 closed, 1 half-open, 2 open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Cool-down over: one probe call goes through, the others are refused.
    HalfOpen,
    /// Calls are refused without being attempted.
    Open,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Shared by every caller of one dependency; cheap to clone.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    threshold: u32,
    cool_down: Duration,
    inner: Arc<Mutex<Inner>>,
}

impl CircuitBreaker {
    /// Opens after `threshold` consecutive failures, for `cool_down`.
    pub fn new(name: &'static str, threshold: u32, cool_down: Duration) -> Self {
        let breaker = Self {
            name,
            threshold: threshold.max(1),
            cool_down,
            inner: Arc::new(Mutex::new(Inner::Closed { failures: 0 })),
        };
        breaker.publish(BreakerState::Closed);
        breaker
    }

    /// The current state (an expired open state reads as half-open).
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if Instant::now() < until => BreakerState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may be attempted now; `true` obliges the caller to report the
    /// outcome with [`Self::record`].
    pub fn try_acquire(&self) -> bool {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed { .. } => true,
            Inner::Open { until } if Instant::now() < until => false,
            Inner::Open { .. } | Inner::HalfOpen { probing: false } => {
                *inner = Inner::HalfOpen { probing: true };
                drop(inner);
                self.publish(BreakerState::HalfOpen);
                true
            }
            Inner::HalfOpen { probing: true } => false,
        }
    }

    /// Reports the outcome of an acquired call.
    pub fn record(&self, success: bool) {
        let mut inner = self.lock();
        let next = match (&*inner, success) {
            (_, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, false) if failures + 1 < self.threshold => Inner::Closed {
                failures: failures + 1,
            },
            (_, false) => Inner::Open {
                until: Instant::now() + self.cool_down,
            },
        };
        let state = match next {
            Inner::Closed { .. } => BreakerState::Closed,
            _ => BreakerState::Open,
        };
        let opened = matches!(next, Inner::Open { .. }) && !matches!(*inner, Inner::Open { .. });
        *inner = next;
        drop(inner);
        if opened {
            tracing::warn!(
                breaker = self.name,
                "circuit opened after repeated failures"
            );
        }
        self.publish(state);
    }

    fn publish(&self, state: BreakerState) {
        let value = match state {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        };
        metrics::gauge!("circuit_breaker_state", "breaker" => self.name).set(value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_refuses_calls() {
        let breaker = CircuitBreaker::new("test", 3, Duration::from_secs(60));
        for _ in 0..2 {
            assert!(breaker.try_acquire());
            breaker.record(false);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.try_acquire());
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.try_acquire());
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let breaker = CircuitBreaker::new("test", 2, Duration::from_secs(60));
        breaker.record(false);
        breaker.record(true);
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn after_the_cool_down_one_probe_decides() {
        let breaker = CircuitBreaker::new("test", 1, Duration::from_millis(10));
        breaker.record(false);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.try_acquire(), "the probe");
        assert!(!breaker.try_acquire(), "only one probe at a time");
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);

        std::thread::sleep(Duration::from_millis(20));
        assert!(breaker.try_acquire());
        breaker.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.try_acquire());
    }
}
