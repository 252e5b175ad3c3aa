//! `AuthUser` and `RequireAdmin`: authentication and authorization visible in handler signatures.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::{Role, TokenVerifier};
use crate::AppError;

/// The caller, from a valid bearer token.
///
/// Built from the signed claims alone, without a database query: a role change or a
/// deactivation takes effect when the access token expires (`ACCESS_TOKEN_TTL_SECS`),
/// which keeps authenticated requests to the queries they actually need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser {
    /// The user's id.
    pub id: Uuid,
    /// The user's role when the token was issued.
    pub role: Role,
}

impl<S> FromRequestParts<S> for AuthUser
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(AppError::Unauthorized(
            "missing or malformed `Authorization: Bearer <token>` header",
        ))?;
        let claims = TokenVerifier::from_ref(state)
            .verify(token)
            .map_err(|reason| {
                tracing::debug!(%reason, "access token rejected");
                AppError::Unauthorized("invalid or expired token")
            })?;
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        Ok(Self {
            id: claims.sub,
            role: claims.role,
        })
    }
}

/// `Option<AuthUser>`, for routes that also serve anonymous callers: no `Authorization`
/// header gives `None`, but a present and invalid token is still a 401 (a client with
/// an expired token should learn that, not silently see the anonymous view).
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The caller, who must be an admin (403 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequireAdmin(pub AuthUser);

impl<S> FromRequestParts<S> for RequireAdmin
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.role == Role::Admin {
            Ok(Self(user))
        } else {
            Err(AppError::Forbidden)
        }
    }
}
