//! Resilience for outbound calls: timeouts, retries with backoff and jitter, circuit breaker.
//!
//! Each dependency gets one [`Outbound`] policy that all its calls go through, e.g.
//! `outbound.call_idempotent(|| fetch(&url), is_transient).await` for a fetch that may be
//! repeated, `outbound.call(|| send(&message)).await` for one that must not be.

mod breaker;
mod retry;

pub use breaker::{BreakerState, CircuitBreaker};
pub use retry::{Outbound, OutboundError};
