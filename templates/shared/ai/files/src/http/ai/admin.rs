//! `/api/v1/admin/ai/usage`: what the AI gateway was used for, by user, model or day.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ai::usage::{self, UsageTotals};
use crate::auth::RequireAdmin;
use crate::error::{ErrorBody, FieldError};
use crate::http::extract::{Checks, Validate, ValidatedQuery};
use crate::{AppState, Result};

/// Admin routes of the AI gateway, relative to `/api/v1/admin`.
pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ai_usage))
}

/// How to group the report.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UsageGroup {
    /// Per user, costliest first.
    User,
    /// Per provider and model, costliest first.
    Model,
    /// Per UTC day, oldest first.
    Day,
}

/// Query of `GET /ai/usage`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `user`, `model` or `day`.
    pub by: UsageGroup,
    /// How many days back, today included (1 to 366, default 30).
    #[serde(default = "default_days")]
    #[param(minimum = 1, maximum = 366, default = 30)]
    pub days: i64,
}

fn default_days() -> i64 {
    30
}

impl Validate for UsageQuery {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .check(
                (1..=366).contains(&self.days),
                &["query", "days"],
                "must be between 1 and 366",
                "out_of_range",
            )
            .finish()
    }
}

/// One group of the report.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageRow {
    /// A user id, `provider/model`, or a `YYYY-MM-DD` day (UTC).
    pub key: String,
    /// Provider calls (each fallback attempt counts).
    pub calls: i64,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Generated tokens.
    pub output_tokens: i64,
    /// Cost in millionths of the currency unit.
    pub cost_micros: i64,
}

/// The report.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageReportPage {
    /// One row per group.
    pub data: Vec<UsageRow>,
    /// How many rows.
    pub count: usize,
}

impl From<UsageTotals> for UsageRow {
    fn from(totals: UsageTotals) -> Self {
        Self {
            key: totals.key,
            calls: totals.calls,
            input_tokens: totals.input_tokens,
            output_tokens: totals.output_tokens,
            cost_micros: totals.cost_micros,
        }
    }
}

/// AI usage over the last `days` days (UTC), grouped by user, model or day.
#[utoipa::path(get, path = "/ai/usage", tag = "admin", security(("bearer" = [])),
    params(UsageQuery),
    responses(
        (status = 200, description = "Calls, tokens and cost per group", body = UsageReportPage),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid query parameters", body = ErrorBody),
    ))]
async fn ai_usage(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    ValidatedQuery(query): ValidatedQuery<UsageQuery>,
) -> Result<Json<UsageReportPage>> {
    let today = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let since = today - time::Duration::days(query.days - 1);
    let rows = match query.by {
        UsageGroup::User => usage::usage_by_user(&state.db, since).await?,
        UsageGroup::Model => usage::usage_by_model(&state.db, since).await?,
        UsageGroup::Day => usage::usage_by_day(&state.db, since).await?,
    };
    let data: Vec<UsageRow> = rows.into_iter().map(UsageRow::from).collect();
    Ok(Json(UsageReportPage {
        count: data.len(),
        data,
    }))
}
