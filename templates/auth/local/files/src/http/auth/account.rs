//! What an owner does with the links mailed to them, and a signed-in password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::issue_tokens;
use super::mail::{self, LinkRequest, MailAccountLink};
use super::model::{
    Accepted, ChangePasswordRequest, EmailRequest, ResetPasswordRequest, TokenResponse,
    VerifyEmailRequest,
};
use super::repo::{self, TokenPurpose};
use crate::auth::{AuthUser, refresh};
use crate::email::{EmailTemplate, SendEmail};
use crate::error::{ErrorBody, FieldError};
use crate::http::extract::ValidatedJson;
use crate::{AppError, AppState, Result};

/// An unknown, expired or used link: the same answer for each.
fn invalid_link() -> AppError {
    AppError::BadRequest("this link is invalid, expired or already used".into())
}

/// The answer to a request for a link, whether or not an account has the address.
const LINK_REQUESTED: Accepted = Accepted {
    detail: "if an account can use this address, a message is on its way to it",
};

/// Public routes, merged into the auth router.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
}

/// Routes of signed-in users.
pub(super) fn app_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_password))
}

/// Confirm an address with the token of the link mailed at registration.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "Address confirmed"),
        (status = 400, description = "Malformed JSON; or an unknown, expired or used token", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
    ))]
async fn verify_email(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<VerifyEmailRequest>,
) -> Result<StatusCode> {
    let hash = refresh::hash(&body.token);
    let mut tx = state.db.begin().await?;
    let Some(user_id) = repo::use_account_token(&mut tx, &hash, TokenPurpose::VerifyEmail).await?
    else {
        return Err(invalid_link());
    };
    let newly = repo::mark_email_verified(&mut tx, user_id).await?;
    let email = repo::find_email(&mut tx, user_id).await?;
    match email {
        // The welcome comes once the address is known to receive mail.
        Some(email) if newly => {
            let welcome = SendEmail::template(email, EmailTemplate::Welcome);
            mail::commit_with(tx, &welcome).await?;
        }
        _ => tx.commit().await?,
    }
    tracing::info!(%user_id, "email address confirmed");
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a new verification link (the earlier ones stop working).
///
/// The same answer for every address: known or not, confirmed already or not.
#[utoipa::path(post, path = "/auth/verify-email/resend", tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "A link is mailed if an unconfirmed account has this address; the same answer for any address", body = Accepted),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
    ))]
async fn resend_verification(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<EmailRequest>,
) -> Result<(StatusCode, Json<Accepted>)> {
    request_link(&state, &body.email, LinkRequest::Verification).await
}

/// Mail a link to choose a new password.
///
/// The same answer for every address, also when mail cannot be delivered right now.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "A link is mailed if an active account has this address; the same answer for any address", body = Accepted),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
    ))]
async fn request_password_reset(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<EmailRequest>,
) -> Result<(StatusCode, Json<Accepted>)> {
    request_link(&state, &body.email, LinkRequest::PasswordReset).await
}

/// Queues the lookup and the mail: the answer and its timing are the same for any address.
async fn request_link(
    state: &AppState,
    email: &str,
    link: LinkRequest,
) -> Result<(StatusCode, Json<Accepted>)> {
    let job = MailAccountLink {
        email: email.trim().to_lowercase(),
        link,
    };
    // Not even a failing queue may change the answer.
    if let Err(error) = state.jobs.enqueue(&job).await {
        tracing::error!(%error, ?link, "could not queue an account link");
    }
    Ok((StatusCode::ACCEPTED, Json(LINK_REQUESTED)))
}

/// Set a new password with the token of a reset link. Every session of the account ends
/// (its refresh tokens are revoked), and the owner is told by mail.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; every session of the account ended"),
        (status = 400, description = "Malformed JSON; or an unknown, expired or used token", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing fields or password too short", body = ErrorBody),
    ))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    ValidatedJson(body): ValidatedJson<ResetPasswordRequest>,
) -> Result<StatusCode> {
    let token_hash = refresh::hash(&body.token);
    // Checked before the slow hash, so a bad token costs no Argon2 work; used up below.
    if repo::account_token_owner(&state.db, &token_hash, TokenPurpose::PasswordReset)
        .await?
        .is_none()
    {
        return Err(invalid_link());
    }
    let password_hash = state.passwords.hash(body.password).await?;
    let mut tx = state.db.begin().await?;
    let Some(user_id) =
        repo::use_account_token(&mut tx, &token_hash, TokenPurpose::PasswordReset).await?
    else {
        // A concurrent request used it first.
        return Err(invalid_link());
    };
    repo::set_password(&mut tx, user_id, &password_hash).await?;
    let revoked = repo::revoke_user_refresh_tokens(&mut tx, user_id).await?;
    // Whoever opened the link reads the address's mail.
    repo::mark_email_verified(&mut tx, user_id).await?;
    let email = repo::find_email(&mut tx, user_id)
        .await?
        .unwrap_or_default();
    let notice = SendEmail::template(email, EmailTemplate::PasswordChanged);
    mail::commit_with(tx, &notice).await?;
    tracing::info!(%user_id, revoked, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// Change the caller's password. Every other session of the account ends (its refresh
/// tokens are revoked); the caller gets tokens of a new session.
#[utoipa::path(post, path = "/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; tokens of a new session", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token, or a deactivated account", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Wrong current password, or new password too short", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt"))),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<ChangePasswordRequest>,
) -> Result<Json<TokenResponse>> {
    let account = repo::find_credentials_by_id(&state.db, user.id)
        .await?
        .filter(|account| account.is_active)
        .ok_or(AppError::Unauthorized("invalid or expired token"))?;
    // A stolen access token must not become a way to guess the password: the same count
    // as sign-in.
    state
        .login_throttle
        .reserve(&account.email)
        .await
        .map_err(AppError::RateLimited)?;
    let current = Some(account.password_hash.clone());
    if !state
        .passwords
        .verify(body.current_password, current)
        .await?
    {
        return Err(AppError::Validation(vec![FieldError::new(
            &["body", "current_password"],
            "is not the account's password",
            "value_error.password",
        )]));
    }
    state.login_throttle.reset(&account.email).await;
    let password_hash = state.passwords.hash(body.new_password).await?;
    let mut tx = state.db.begin().await?;
    repo::set_password(&mut tx, account.id, &password_hash).await?;
    repo::delete_account_tokens(&mut tx, account.id, TokenPurpose::PasswordReset).await?;
    let revoked = repo::revoke_user_refresh_tokens(&mut tx, account.id).await?;
    let notice = SendEmail::template(&account.email, EmailTemplate::PasswordChanged);
    mail::commit_with(tx, &notice).await?;
    tracing::info!(user_id = %account.id, revoked, "password changed");
    let tokens = issue_tokens(&state, account.id, account.role, Uuid::now_v7(), None).await?;
    Ok(Json(tokens))
}
