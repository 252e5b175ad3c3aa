//! `/api/v1/app/users/me` and the admin's `/api/v1/admin/users`.

mod model;
pub mod repo;

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{AuthUser, RequireAdmin};
use crate::error::ErrorBody;
use crate::http::extract::{AppPath, ValidatedJson, ValidatedQuery};
use crate::http::pagination::{Page, Pagination};
use crate::{AppError, AppState, Result};
use model::AdminUpdateUser;
pub use model::User;

/// Routes for the current user, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_me))
}

/// User administration, relative to `/api/v1/admin`.
pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user))
}

/// The caller's own account.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ))]
async fn get_me(State(state): State<AppState>, user: AuthUser) -> Result<Json<User>> {
    // A valid token for a deleted account is treated like an invalid token.
    repo::find_user_by_id(&state.db, user.id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthorized("invalid or expired token"))
}

/// All users, newest first.
#[utoipa::path(get, path = "/users", tag = "admin", security(("bearer" = [])),
    params(Pagination),
    responses(
        (status = 200, description = "A page of users", body = Page<User>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid query parameters", body = ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    ValidatedQuery(page): ValidatedQuery<Pagination>,
) -> Result<Json<Page<User>>> {
    let (data, count) = tokio::try_join!(
        repo::list_users(&state.db, page.limit, page.offset),
        repo::count_users(&state.db),
    )?;
    Ok(Json(Page { data, count }))
}

/// Change a user's role or activation.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = AdminUpdateUser,
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields or id", body = ErrorBody),
    ))]
async fn update_user(
    State(state): State<AppState>,
    _admin: RequireAdmin,
    AppPath(id): AppPath<Uuid>,
    ValidatedJson(body): ValidatedJson<AdminUpdateUser>,
) -> Result<Json<User>> {
    repo::update_user_access(&state.db, id, body.role, body.is_active)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}
