//! Resilience for outbound calls: timeouts, retries with backoff and jitter, circuit breaker.
//!
//! Adapters wrap each call to a third party in an [`Outbound`] policy, e.g. fetching a
//! JWKS document: `jwks.call_idempotent(|| fetch(&url), |e| e.is_transient()).await`.

mod breaker;
mod retry;

pub use breaker::{BreakerState, CircuitBreaker};
pub use retry::{Outbound, OutboundError};
