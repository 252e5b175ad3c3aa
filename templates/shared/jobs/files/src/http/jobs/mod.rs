//! `/api/v1/admin/jobs`: list, show, retry failed and cancel queued jobs (admin role).

mod model;

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::RequireAdmin;
use crate::error::ErrorBody;
use crate::http::extract::{AppPath, ValidatedQuery};
use crate::http::pagination::Page;
use crate::{AppError, AppState, Result};
pub use model::{JobFilter, JobRecord, JobState};

/// Job administration, relative to `/api/v1/admin`.
pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
        .routes(routes!(cancel_job))
}

/// Jobs, newest first, optionally by state and queue (completed jobs are not kept).
#[utoipa::path(get, path = "/jobs", tag = "jobs", security(("bearer" = [])),
    params(JobFilter),
    responses(
        (status = 200, description = "A page of jobs", body = Page<JobRecord>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid query parameters", body = ErrorBody),
    ))]
async fn list_jobs(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    ValidatedQuery(filter): ValidatedQuery<JobFilter>,
) -> Result<Json<Page<JobRecord>>> {
    let (data, count) = tokio::try_join!(
        state.jobs.list_jobs(&filter),
        state.jobs.count_jobs(&filter),
    )?;
    Ok(Json(Page { data, count }))
}

/// One job, with its payload and last error.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobRecord),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such job (or it completed)", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn get_job(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<JobRecord>> {
    state
        .jobs
        .find_job(id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

/// Queue a failed job again, with its attempts reset.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job, queued again", body = JobRecord),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such job (or it completed)", body = ErrorBody),
        (status = 409, description = "The job has not failed, or a job with its unique key is queued", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn retry_job(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<JobRecord>> {
    match state.jobs.retry_failed_job(id).await {
        Ok(Some(job)) => Ok(Json(job)),
        Ok(None) => Err(not_in_state(&state, id, "only a failed job can be retried").await?),
        Err(crate::jobs::JobsError::UniqueKeyTaken) => Err(AppError::Conflict(
            "a job with the same unique key is already queued or running",
        )),
        Err(error) => Err(error.into()),
    }
}

/// Cancel a queued job before it runs.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The cancelled job", body = JobRecord),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such job (or it completed)", body = ErrorBody),
        (status = 409, description = "The job is not queued (running, failed or cancelled)", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn cancel_job(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<JobRecord>> {
    match state.jobs.cancel_queued_job(id).await? {
        Some(job) => Ok(Json(job)),
        None => Err(not_in_state(&state, id, "only a queued job can be cancelled").await?),
    }
}

/// 404 when the job does not exist, else 409 with `conflict`.
async fn not_in_state(state: &AppState, id: Uuid, conflict: &'static str) -> Result<AppError> {
    Ok(match state.jobs.find_job(id).await? {
        None => AppError::NotFound,
        Some(_) => AppError::Conflict(conflict),
    })
}
