//! `/api/v1/app/projects`: the caller's projects (another user's project is a 404).

mod model;
mod repo;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ErrorBody;
use crate::http::extract::{AppPath, ValidatedJson, ValidatedQuery};
use crate::http::pagination::{Page, Pagination};
use crate::{AppError, AppState, Result};
use model::{CreateProject, Project, ProjectSearch, UpdateProject};

/// Project routes, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
}

/// List the caller's projects, newest first.
#[utoipa::path(get, path = "/projects", tag = "projects", security(("bearer" = [])),
    params(Pagination, ProjectSearch),
    responses(
        (status = 200, description = "A page of projects", body = Page<Project>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Invalid query parameters", body = ErrorBody),
    ))]
async fn list_projects(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedQuery(page): ValidatedQuery<Pagination>,
    ValidatedQuery(filter): ValidatedQuery<ProjectSearch>,
) -> Result<Json<Page<Project>>> {
    let search = filter.search.as_deref().filter(|s| !s.is_empty());
    // Both queries at once: two pool connections, one round-trip of latency.
    let (data, count) = tokio::try_join!(
        repo::list_projects_by_owner(&state.db, user.id, search, page.limit, page.offset),
        repo::count_projects_by_owner(&state.db, user.id, search),
    )?;
    Ok(Json(Page { data, count }))
}

/// Create a project owned by the caller.
#[utoipa::path(post, path = "/projects", tag = "projects", security(("bearer" = [])),
    request_body = CreateProject,
    responses(
        (status = 201, description = "Created", body = Project),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_project(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<CreateProject>,
) -> Result<(StatusCode, Json<Project>)> {
    let project = repo::insert_project(
        &state.db,
        user.id,
        body.name.trim(),
        body.description.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// Get one of the caller's projects.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such project of the caller", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn get_project(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<Project>> {
    repo::find_project_by_id(&state.db, user.id, id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

/// Change some fields of one of the caller's projects.
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = UpdateProject,
    responses(
        (status = 200, description = "The updated project", body = Project),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such project of the caller", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields or id", body = ErrorBody),
    ))]
async fn update_project(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
    ValidatedJson(body): ValidatedJson<UpdateProject>,
) -> Result<Json<Project>> {
    let description = body.description.as_ref().map(Option::as_deref);
    repo::update_project(
        &state.db,
        user.id,
        id,
        body.name.as_deref().map(str::trim),
        description,
    )
    .await?
    .map(Json)
    .ok_or(AppError::NotFound)
}

/// Delete one of the caller's projects (soft delete: it disappears from the API).
#[utoipa::path(delete, path = "/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such project of the caller", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
    ))]
async fn delete_project(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode> {
    if repo::soft_delete_project(&state.db, user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
