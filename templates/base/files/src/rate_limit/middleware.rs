//! The middleware: picks the policy, counts the request, answers 429 or adds the headers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Decision, Policy, Scope, client_ip, policy_for};
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
    let ip = client_ip(peer, request.headers(), &config.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());

    let (mut parts, body) = request.into_parts();
    let mut key = format!("{}:ip:{ip}", policy.name);
    // A request whose token is present but refused: the handler would refuse it the same
    // way (and, with an external issuer, consult the key set again), so it is answered here,
    // after counting against the client's IP quota.
    let mut refused = None;
    if policy.scope == Scope::User {
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
                policy = Policy::new("public", config.public, Scope::Ip);
                key = format!("public:ip:{ip}");
            }
        }
    }
    let request = Request::from_parts(parts, body);

    let decision = state.limiter.check(&key, &policy).await;
    let mut response = if !decision.allowed {
        metrics::counter!("rate_limit_rejected_total", "policy" => policy.name).increment(1);
        AppError::RateLimited(ceil_secs(decision.retry_after)).into_response()
    } else if let Some(rejection) = refused {
        rejection.into_response()
    } else {
        next.run(request).await
    };
    add_headers(response.headers_mut(), &decision);
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
