//! `/api/v1/public/auth`: register, login, refresh and logout for local accounts, email
//! verification and password reset; `/api/v1/app/auth/password` changes a password.

mod account;
mod mail;
mod model;
pub mod repo;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Role, refresh};
use crate::email::{EmailTemplate, SendEmail};
use crate::error::ErrorBody;
use crate::http::extract::ValidatedJson;
use crate::{AppError, AppState, Result, db};
pub use mail::{LinkRequest, MailAccountLink};
pub(crate) use model::is_email;
use model::{Accepted, LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use repo::TokenPurpose;

/// The same answer for an unknown email, a wrong password and a disabled account,
/// so the endpoint does not reveal which accounts exist.
const INVALID_CREDENTIALS: AppError = AppError::Unauthorized("invalid email or password");
const INVALID_REFRESH_TOKEN: AppError = AppError::Unauthorized("invalid or expired refresh token");
/// Only someone who knows the password sees this.
const EMAIL_NOT_VERIFIED: AppError =
    AppError::Unauthorized("confirm your email address first: follow the link mailed to it");

/// The answer to a registration, for a new address and for a taken one alike.
const REGISTERED: Accepted = Accepted {
    detail: "check your inbox: a message is on its way to this address",
};

/// Auth routes, relative to `/api/v1/public`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh_tokens))
        .routes(routes!(logout))
        .merge(account::router())
}

/// Routes of signed-in users, relative to `/api/v1/app`.
pub fn app_router() -> OpenApiRouter<AppState> {
    account::app_router()
}

/// Create an account (role `user`) and mail a link that confirms the address.
///
/// A taken address gets the same answer, and its owner a message saying someone tried to
/// register with it: the endpoint does not reveal which addresses have accounts.
#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Account created, or the address was taken (its owner is told); the same answer either way", body = Accepted),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Invalid email or password too short", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Accepted>)> {
    let email = body.email.trim().to_lowercase();
    // Hashed for a taken address too, so both answers take the same time.
    let hash = state.passwords.hash(body.password).await?;
    let mut tx = state.db.begin().await?;
    match repo::create_user(&mut tx, &email, &hash, Role::User).await {
        Ok(user) => {
            let mail = mail::link_mail(&state, &mut tx, user.id, &email, TokenPurpose::VerifyEmail)
                .await?;
            mail::commit_with(tx, &mail).await?;
            tracing::info!(user_id = %user.id, "account registered");
        }
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            tx.rollback().await?;
            let notice = EmailTemplate::Notification {
                title: "Someone tried to register with your address".into(),
                body: "An account already uses this address, so no new one was created. \
                    If it was you, sign in, or reset your password if you forgot it. \
                    If not, you can ignore this message."
                    .into(),
                action_label: Some("Reset your password".into()),
                action_url: Some(format!(
                    "{}/forgot-password",
                    state.config.email.site.app_url
                )),
            };
            state
                .jobs
                .enqueue(&SendEmail::template(&email, notice))
                .await?;
            tracing::info!("registration with a taken address; its owner is told");
        }
        Err(error) => return Err(error.into()),
    }
    Ok((StatusCode::ACCEPTED, Json(REGISTERED)))
}

/// Exchange email and password for an access token and a refresh token.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong email or password; or, when `AUTH_REQUIRE_VERIFIED_EMAIL` is on, an address not confirmed yet", body = ErrorBody),
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
    if state.config.local_auth.require_verified_email && !account.email_verified {
        return Err(EMAIL_NOT_VERIFIED);
    }
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

/// Sign out: revokes the presented refresh token and every other token of its login.
/// Access tokens already issued stay valid until they expire (`expires_in`).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also for a token that was unknown or already revoked)"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
    ))]
async fn logout(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<RefreshRequest>,
) -> Result<StatusCode> {
    let revoked = repo::revoke_family_of(&state.db, &refresh::hash(&body.refresh_token)).await?;
    tracing::info!(revoked, "signed out");
    Ok(StatusCode::NO_CONTENT)
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
