//! Which quota applies to a request, decided by its matched route.

use std::time::Duration;

use crate::config::{Quota, RateLimitConfig};

/// Who a quota is counted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The client IP (see [`super::client_ip`]).
    Ip,
    /// The authenticated user; a client over its public IP quota is refused before its
    /// token is verified, and requests without a valid token count per IP under the
    /// public quota (they end in 401 anyway).
    User,
}

/// A named quota and what it is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Part of the key, so quotas of different policies never share a counter.
    pub name: &'static str,
    /// Requests allowed per period.
    pub limit: u32,
    /// The period.
    pub period: Duration,
    /// Counted per IP or per user.
    pub scope: Scope,
}

impl Policy {
    /// A policy named `name` applying `quota` per `scope`.
    pub const fn new(name: &'static str, quota: Quota, scope: Scope) -> Self {
        Self {
            name,
            limit: quota.limit,
            period: quota.period,
            scope,
        }
    }
}

/// The policy of a matched route, or `None` for routes that are never limited
/// (health probes, metrics scrapes, docs).
pub fn policy_for(config: &RateLimitConfig, route: &str) -> Option<Policy> {
    if let Some(policy) = route_override(config, route) {
        return Some(policy);
    }
    if route.starts_with("/api/v1/public") {
        Some(Policy::new("public", config.public, Scope::Ip))
    } else if route.starts_with("/api/v1/app") || route.starts_with("/api/v1/admin") {
        Some(Policy::new("user", config.user, Scope::User))
    } else {
        None
    }
}

/// Routes with a quota of their own, checked before the route groups: add a line here to
/// give an expensive endpoint (an export, an AI call) a tighter limit.
fn route_override(config: &RateLimitConfig, route: &str) -> Option<Policy> {
    // Refreshing is not guessing (refresh tokens are 256 random bits), and every signed-in
    // client refreshes every few minutes: its own quota, so the users behind one NAT do
    // not use up the sign-in quota between them.
    if route == "/api/v1/public/auth/refresh" {
        return Some(Policy::new("refresh", config.refresh, Scope::Ip));
    }
    // Brute-force protection: sign-in and sign-up share a strict per-IP quota.
    if route.starts_with("/api/v1/public/auth/") {
        return Some(Policy::new("auth", config.auth, Scope::Ip));
    }
    None
}
