//! `/api/v1/public/auth`: register, login and refresh for local accounts.

mod model;
pub mod repo;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Role, refresh};
use crate::error::ErrorBody;
use crate::http::extract::ValidatedJson;
use crate::http::users::User;
use crate::{AppError, AppState, Result, db};
pub(crate) use model::is_email;
use model::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};

/// The same answer for an unknown email, a wrong password and a disabled account,
/// so the endpoint does not reveal which accounts exist.
const INVALID_CREDENTIALS: AppError = AppError::Unauthorized("invalid email or password");
const INVALID_REFRESH_TOKEN: AppError = AppError::Unauthorized("invalid or expired refresh token");

/// Auth routes, relative to `/api/v1/public`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh_tokens))
}

/// Create an account (role `user`).
#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "Email already registered", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid email or password too short", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<RegisterRequest>,
) -> Result<(StatusCode, Json<User>)> {
    let email = body.email.trim().to_lowercase();
    let hash = state.passwords.hash(body.password).await?;
    let user = repo::insert_user(&state.db, &email, &hash, Role::User)
        .await
        .map_err(|error| match error {
            sqlx::Error::Database(ref db_error) if db_error.is_unique_violation() => {
                AppError::Conflict("this email is already registered")
            }
            other => other.into(),
        })?;
    tracing::info!(user_id = %user.id, "account registered");
    Ok((StatusCode::CREATED, Json(user)))
}

/// Exchange email and password for an access token and a refresh token.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this email", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt"))),
    ))]
async fn login(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<LoginRequest>,
) -> Result<Json<TokenResponse>> {
    let email = body.email.trim().to_lowercase();
    // Counted before the password is checked, so concurrent guesses cannot outrun the count.
    state
        .login_throttle
        .reserve(&email)
        .await
        .map_err(AppError::RateLimited)?;
    let account = repo::find_credentials_by_email(&state.db, &email).await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    // Always runs Argon2 (against a dummy hash for unknown emails): equal timing.
    let password_ok = state.passwords.verify(body.password, hash).await?;
    let Some(account) = account.filter(|account| password_ok && account.is_active) else {
        return Err(INVALID_CREDENTIALS);
    };
    state.login_throttle.reset(&email).await;
    let tokens = issue_tokens(&state, account.id, account.role, Uuid::now_v7(), None).await?;
    Ok(Json(tokens))
}

/// Exchange a refresh token for new tokens. Each refresh token works once; presenting
/// a used one revokes every token of that login (it was probably stolen).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Unknown, expired, used or revoked refresh token", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
    ))]
async fn refresh_tokens(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<RefreshRequest>,
) -> Result<Json<TokenResponse>> {
    let hash = refresh::hash(&body.refresh_token);
    let stored = repo::find_refresh_token(&state.db, &hash)
        .await?
        .ok_or(INVALID_REFRESH_TOKEN)?;
    if stored.revoked_at.is_some() {
        let revoked = repo::revoke_refresh_token_family(&state.db, stored.family_id).await?;
        tracing::warn!(user_id = %stored.user_id, revoked, "refresh token reused: family revoked");
        return Err(INVALID_REFRESH_TOKEN);
    }
    if stored.expires_at <= db::now() || !stored.is_active {
        return Err(INVALID_REFRESH_TOKEN);
    }
    let tokens = issue_tokens(
        &state,
        stored.user_id,
        stored.role,
        stored.family_id,
        Some(stored.id),
    )
    .await?;
    Ok(Json(tokens))
}

/// Signs an access token and stores a new refresh token in `family_id`, using up
/// `replaces` in the same transaction.
async fn issue_tokens(
    state: &AppState,
    user_id: Uuid,
    role: Role,
    family_id: Uuid,
    replaces: Option<Uuid>,
) -> Result<TokenResponse> {
    let access = state
        .issuer
        .issue(user_id, role)
        .map_err(|error| AppError::Internal(error.into()))?;
    let (refresh_token, hash) = refresh::generate();
    let expires_at = db::now() + state.config.local_auth.refresh_token_ttl;

    let mut tx = state.db.begin().await?;
    match replaces {
        Some(old) => {
            if !repo::revoke_refresh_token(&mut tx, old).await? {
                // A concurrent refresh used the same token first: treat it as a reuse.
                tx.rollback().await?;
                repo::revoke_refresh_token_family(&state.db, family_id).await?;
                return Err(INVALID_REFRESH_TOKEN);
            }
        }
        // A login: a good moment to clear this user's expired tokens.
        None => {
            repo::delete_expired_refresh_tokens(&mut tx, user_id).await?;
        }
    }
    repo::insert_refresh_token(&mut tx, user_id, family_id, &hash, expires_at).await?;
    tx.commit().await?;

    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token,
    })
}
