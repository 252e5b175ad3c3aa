//! Liveness, readiness (database and cache store, with timeouts) and Prometheus metrics.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::cache::StoreHealth;

/// Routes under `/health`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(live_alias))
        .routes(routes!(ready))
}

/// Outcome of one check, or of all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `ok`, `degraded` (working on a fallback) or `error`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// How long the check took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u128>,
}

/// Readiness report: overall status and one entry per dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every dependency is, `degraded` when the app serves on a fallback.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Per dependency.
    pub database: Check,
    /// The shared cache and rate-limit store, when there is one outside the process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<Check>,
}

const OK: Check = Check {
    status: "ok",
    latency_ms: None,
};

/// The process is up; touches no dependency, for restart decisions.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Alive", body = Check)))]
async fn live() -> Json<Check> {
    Json(OK)
}

/// Alias of `/health/live` for platforms that probe `/health`.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Alive", body = Check)))]
async fn live_alias() -> Json<Check> {
    Json(OK)
}

/// Dependencies answer in time; for load-balancer routing decisions.
///
/// An unreachable cache store is `degraded`, not a failure: rate limits and the cache
/// keep working per instance, and taking every instance out of the load balancer
/// because of it would turn a cache outage into an API outage.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "Ready, possibly degraded", body = Readiness),
    (status = 503, description = "A dependency is down", body = Readiness),
))]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let start = Instant::now();
    let probe = sqlx::query("select 1").execute(&state.db);
    let healthy = matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Ok(_))
    );
    let database = Check {
        status: if healthy { "ok" } else { "error" },
        latency_ms: Some(start.elapsed().as_millis()),
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        tracing::warn!("readiness check failed: database");
        StatusCode::SERVICE_UNAVAILABLE
    };
    let cache_start = Instant::now();
    let cache = state.cache.readiness().await.map(|health| Check {
        status: match health {
            StoreHealth::Ok => "ok",
            StoreHealth::Degraded => "degraded",
        },
        latency_ms: Some(cache_start.elapsed().as_millis()),
    });
    let degraded = cache.as_ref().is_some_and(|check| check.status != "ok");
    let report = Readiness {
        status: match (healthy, degraded) {
            (false, _) => "error",
            (true, true) => "degraded",
            (true, false) => "ok",
        },
        database,
        cache,
    };
    (status, Json(report))
}

/// Prometheus text format; kept out of the OpenAPI document (it is not part of the API).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
