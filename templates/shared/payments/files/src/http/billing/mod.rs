//! `/api/v1/app/billing`: the caller's subscriptions and the features they grant, whatever
//! the provider.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::Result;
use crate::error::ErrorBody;
use crate::http::extract::AppPath;
use crate::payments::Entitlements;
use crate::payments::subscriptions::Subscription;

/// Billing routes, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_billing))
        .routes(routes!(check_entitlement))
}

/// The caller's billing state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Billing {
    /// Subscriptions and one-time purchases at every provider, most recently changed first.
    pub subscriptions: Vec<Subscription>,
    /// Features the active ones grant, sorted.
    pub entitlements: Vec<String>,
}

/// A feature the caller has.
#[derive(Debug, Serialize, ToSchema)]
pub struct Entitlement {
    /// The feature's name, as in `PAYMENTS_PLANS`.
    pub feature: String,
    /// Always true: a caller without the feature gets 403.
    pub granted: bool,
}

/// Show the caller's subscriptions and entitlements.
#[utoipa::path(get, path = "/billing", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, description = "Subscriptions and entitlements", body = Billing),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ))]
async fn get_billing(entitlements: Entitlements) -> Json<Billing> {
    Json(Billing {
        subscriptions: entitlements.subscriptions,
        entitlements: entitlements.features.into_iter().collect(),
    })
}

/// Check that the caller has a feature (the gate every entitled route uses).
#[utoipa::path(get, path = "/billing/entitlements/{feature}", tag = "billing",
    security(("bearer" = [])),
    params(("feature" = String, Path, description = "Feature name")),
    responses(
        (status = 200, description = "The caller has the feature", body = Entitlement),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "No active plan grants the feature", body = ErrorBody),
    ))]
async fn check_entitlement(
    entitlements: Entitlements,
    AppPath(feature): AppPath<String>,
) -> Result<Json<Entitlement>> {
    entitlements.require(&feature)?;
    Ok(Json(Entitlement {
        feature,
        granted: true,
    }))
}
