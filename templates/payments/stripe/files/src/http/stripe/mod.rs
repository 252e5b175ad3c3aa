//! Stripe routes: Checkout and Billing Portal sessions for the signed-in user
//! (`/api/v1/app/billing/stripe/...`), and the webhook Stripe delivers events to
//! (`/api/v1/public/webhooks/stripe`).

mod model;
mod webhook;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ErrorBody, ErrorDetail, ErrorInfo, FieldError};
use crate::http::extract::AppJson;
use crate::payments::stripe::events::PROVIDER;
use crate::payments::stripe::{Created, StripeError};
use crate::payments::subscriptions;
use crate::{AppError, AppState};
use model::{CheckoutMode, CreateCheckout, HostedPage};

/// Session routes, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_checkout_session))
        .routes(routes!(create_portal_session))
}

/// The webhook route, relative to `/api/v1/public`.
pub fn webhook_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(webhook::receive_stripe_event))
}

/// A Stripe call that failed: logged in full, answered with an opaque 502 (Stripe's
/// message can name ids and parameters of this account).
struct Upstream(StripeError);

impl IntoResponse for Upstream {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "Stripe call failed");
        let mut response = StatusCode::BAD_GATEWAY.into_response();
        response.extensions_mut().insert(ErrorInfo {
            code: "bad_gateway",
            detail: ErrorDetail::Message(
                "the payment provider did not complete the request".into(),
            ),
        });
        response
    }
}

/// Either error of a session route.
enum SessionError {
    App(AppError),
    Upstream(Upstream),
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        match self {
            Self::App(error) => error.into_response(),
            Self::Upstream(error) => error.into_response(),
        }
    }
}

impl From<AppError> for SessionError {
    fn from(error: AppError) -> Self {
        Self::App(error)
    }
}

impl From<sqlx::Error> for SessionError {
    fn from(error: sqlx::Error) -> Self {
        Self::App(error.into())
    }
}

impl From<StripeError> for SessionError {
    fn from(error: StripeError) -> Self {
        Self::Upstream(Upstream(error))
    }
}

/// Start a Stripe Checkout for a configured plan (subscription or one-time payment).
#[utoipa::path(post, path = "/billing/stripe/checkout", tag = "billing",
    security(("bearer" = [])),
    request_body = CreateCheckout,
    responses(
        (status = 201, description = "Send the browser to `url`", body = HostedPage),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Not a configured plan, or invalid fields", body = ErrorBody),
        (status = 502, description = "Stripe refused or could not be reached", body = ErrorBody),
    ))]
async fn create_checkout_session(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(body): AppJson<CreateCheckout>,
) -> Result<(StatusCode, Json<HostedPage>), SessionError> {
    // Only configured plans can be bought: the client never names an arbitrary price.
    if !state.config.payments.has_plan(&body.price) {
        return Err(AppError::Validation(vec![FieldError::new(
            &["body", "price"],
            "not a plan of PAYMENTS_PLANS",
            "unknown_plan",
        )])
        .into());
    }
    let customer = customer_of(&state, user).await?;
    let return_url = &state.config.stripe.return_url;
    let separator = if return_url.contains('?') { '&' } else { '?' };
    let user_id = user.id.to_string();
    let mut form = vec![
        ("mode".to_owned(), body.mode.as_str().to_owned()),
        ("customer".to_owned(), customer),
        ("client_reference_id".to_owned(), user_id.clone()),
        ("line_items[0][price]".to_owned(), body.price.clone()),
        ("line_items[0][quantity]".to_owned(), "1".to_owned()),
        (
            "success_url".to_owned(),
            format!("{return_url}{separator}checkout=success&session_id={{CHECKOUT_SESSION_ID}}"),
        ),
        (
            "cancel_url".to_owned(),
            format!("{return_url}{separator}checkout=canceled"),
        ),
        ("metadata[user_id]".to_owned(), user_id.clone()),
        ("metadata[price]".to_owned(), body.price),
    ];
    if body.mode == CheckoutMode::Subscription {
        form.push(("subscription_data[metadata][user_id]".to_owned(), user_id));
    }
    let session = state.stripe.create_checkout_session(&form).await?;
    Ok((StatusCode::CREATED, Json(hosted_page(session)?)))
}

/// Open the Stripe Billing Portal, where the caller manages payment methods and plans.
#[utoipa::path(post, path = "/billing/stripe/portal", tag = "billing",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Send the browser to `url`", body = HostedPage),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 409, description = "No Stripe customer yet: buy a plan first", body = ErrorBody),
        (status = 502, description = "Stripe refused or could not be reached", body = ErrorBody),
    ))]
async fn create_portal_session(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<HostedPage>), SessionError> {
    let customer = subscriptions::find_customer_by_user(&state.db, PROVIDER, user.id)
        .await?
        .ok_or(AppError::Conflict(
            "no billing account yet: buy a plan first",
        ))?;
    let session = state
        .stripe
        .create_portal_session(&customer, &state.config.stripe.return_url)
        .await?;
    Ok((StatusCode::CREATED, Json(hosted_page(session)?)))
}

/// The user's Stripe customer, created (and linked) on their first checkout.
async fn customer_of(state: &AppState, user: AuthUser) -> Result<String, SessionError> {
    if let Some(customer) =
        subscriptions::find_customer_by_user(&state.db, PROVIDER, user.id).await?
    {
        return Ok(customer);
    }
    let email = subscriptions::find_user_email(&state.db, user.id).await?;
    let created = state
        .stripe
        .create_customer(user.id, email.as_deref())
        .await?;
    let mut conn = state.db.acquire().await?;
    subscriptions::link_customer(&mut conn, PROVIDER, user.id, &created.id).await?;
    // A racing request may have linked another customer first; use the stored one.
    Ok(
        subscriptions::find_customer_by_user(&state.db, PROVIDER, user.id)
            .await?
            .unwrap_or(created.id),
    )
}

fn hosted_page(created: Created) -> Result<HostedPage, SessionError> {
    let url = created.url.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "Stripe session {} without a url",
            created.id
        ))
    })?;
    Ok(HostedPage {
        id: created.id,
        url,
    })
}
