//! Request and response bodies of the local-account endpoints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::MIN_PASSWORD_LEN;
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};

/// Longest accepted password: Argon2 would take any length, the limit stops abuse.
const MAX_PASSWORD_LEN: usize = 128;

/// Body of `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Becomes the login; compared without regard to case. An address: one `@`, a dot in
    /// the domain, no spaces.
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$",
        example = "ada@example.com"
    )]
    pub email: String,
    /// 12 to 128 characters.
    #[schema(
        min_length = 12,
        max_length = 128,
        example = "correct horse battery staple"
    )]
    pub password: String,
}

impl Validate for RegisterRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .check(
                is_email(self.email.trim()),
                &["body", "email"],
                "must be an email address",
                "value_error.email",
            )
            .length(
                &self.password,
                &["body", "password"],
                MIN_PASSWORD_LEN,
                MAX_PASSWORD_LEN,
            )
            .finish()
    }
}

/// A deliberately loose check: one `@`, something before it, a dot in the domain.
/// Whether the address receives mail is only known by sending one.
pub(crate) fn is_email(email: &str) -> bool {
    email.len() <= 254
        && !email.contains(|c: char| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The account's email.
    #[schema(min_length = 1, max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// The account's password.
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(&self.email, &["body", "email"], 1, 254)
            .length(&self.password, &["body", "password"], 1, MAX_PASSWORD_LEN)
            .finish()
    }
}

/// Body of `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh; it is used up by this call.
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

impl Validate for RefreshRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(&self.refresh_token, &["body", "refresh_token"], 1, 256)
            .finish()
    }
}

/// Tokens returned by login and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Single-use token for `POST /auth/refresh`.
    pub refresh_token: String,
}

/// Body of `POST /auth/verify-email/resend` and `POST /auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    /// The account's address.
    #[schema(min_length = 1, max_length = 254, example = "ada@example.com")]
    pub email: String,
}

impl Validate for EmailRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(&self.email, &["body", "email"], 1, 254)
            .finish()
    }
}

/// Body of `POST /auth/verify-email`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the link in the verification mail; it works once.
    #[schema(min_length = 1, max_length = 256)]
    pub token: String,
}

impl Validate for VerifyEmailRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(&self.token, &["body", "token"], 1, 256)
            .finish()
    }
}

/// Body of `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The `token` parameter of the link in the reset mail; it works once.
    #[schema(min_length = 1, max_length = 256)]
    pub token: String,
    /// The new password, 12 to 128 characters.
    #[schema(
        min_length = 12,
        max_length = 128,
        example = "correct horse battery staple"
    )]
    pub password: String,
}

impl Validate for ResetPasswordRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(&self.token, &["body", "token"], 1, 256)
            .length(
                &self.password,
                &["body", "password"],
                MIN_PASSWORD_LEN,
                MAX_PASSWORD_LEN,
            )
            .finish()
    }
}

/// Body of `POST /api/v1/app/auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password the account has now.
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    /// The new password, 12 to 128 characters.
    #[schema(
        min_length = 12,
        max_length = 128,
        example = "correct horse battery staple"
    )]
    pub new_password: String,
}

impl Validate for ChangePasswordRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .length(
                &self.current_password,
                &["body", "current_password"],
                1,
                MAX_PASSWORD_LEN,
            )
            .length(
                &self.new_password,
                &["body", "new_password"],
                MIN_PASSWORD_LEN,
                MAX_PASSWORD_LEN,
            )
            .finish()
    }
}

/// The answer of endpoints that must not reveal whether an account exists: the same for
/// every address.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// What happens next.
    #[schema(example = "if an account can use this address, a message is on its way to it")]
    pub detail: &'static str,
}
