//! The middleware: picks the policy, counts the request, answers 429 or adds the headers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Decision, Policy, Scope, client_ip, client_key, policy_for};
use crate::auth::AuthUser;
use crate::{AppError, AppState};

/// `RateLimit-Limit`.
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: seconds until the full quota is back.
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Applies the route's policy; a refusal is the standard 429 body with `Retry-After`.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.limiter.config();
    let policy = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| policy_for(config, route.as_str()));
    let Some(mut policy) = policy.filter(|_| config.enabled) else {
        return next.run(request).await;
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let ip = client_ip(
        peer,
        request.headers(),
        &config.trusted_proxies,
        config.proxy_header,
    )
    .map_or_else(
        || "unknown".to_owned(),
        |ip| client_key(ip, config.ipv6_prefix),
    );

    let (mut parts, body) = request.into_parts();
    let mut key = format!("{}:ip:{ip}", policy.name);
    // A request whose token is present but refused: the handler would refuse it the same
    // way (and, with an external issuer, consult the key set again), so it is answered here,
    // after counting against the client's IP quota.
    let mut refused = None;
    if policy.scope == Scope::User {
        // The client's IP quota applies before the token is verified: verifying may fetch
        // the issuer's keys or create an account, and a client that used up its quota with
        // bad tokens must not get that work done for more of them. Only looked at here:
        // requests with a valid token count per user, so the users behind one NAT do not
        // share a quota.
        let ip_policy = Policy::new("public", config.public, Scope::Ip);
        let ip_key = format!("public:ip:{ip}");
        let gate = state.limiter.peek(&ip_key, &ip_policy).await;
        if !gate.allowed {
            return refuse(&ip_policy, &gate);
        }
        match AuthUser::from_request_parts(&mut parts, &state).await {
            Ok(user) => {
                key = format!("{}:user:{}", policy.name, user.id);
                // The handler's extractor reuses it instead of verifying the token again.
                parts.extensions.insert(user);
            }
            Err(rejection) => {
                if parts.headers.contains_key(AUTHORIZATION) {
                    refused = Some(rejection);
                }
                policy = ip_policy;
                key = ip_key;
            }
        }
    }
    let request = Request::from_parts(parts, body);

    let decision = state.limiter.check(&key, &policy).await;
    if !decision.allowed {
        return refuse(&policy, &decision);
    }
    let mut response = match refused {
        Some(rejection) => rejection.into_response(),
        None => next.run(request).await,
    };
    add_headers(response.headers_mut(), &decision);
    response
}

/// The 429 for a request over `policy`'s quota.
fn refuse(policy: &Policy, decision: &Decision) -> Response {
    metrics::counter!("rate_limit_rejected_total", "policy" => policy.name).increment(1);
    let mut response = AppError::RateLimited(ceil_secs(decision.retry_after)).into_response();
    add_headers(response.headers_mut(), decision);
    response
}

fn add_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(
        RATELIMIT_RESET,
        HeaderValue::from(ceil_secs(decision.reset).as_secs()),
    );
}

/// Whole seconds, rounded up: a client that waits `Retry-After` must not be refused again.
fn ceil_secs(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs() + u64::from(duration.subsec_nanos() > 0))
}
