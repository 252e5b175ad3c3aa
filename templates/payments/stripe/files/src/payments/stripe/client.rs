//! Calls to the Stripe API: form-encoded POSTs with the pinned API version, and an
//! idempotency key on every create so a retried request never creates twice.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::config::{Secret, StripeConfig};

/// The API version every request and this code's reading of events is written against.
/// Set the webhook endpoint to the same version in the Dashboard, so events have the
/// shapes `events.rs` reads.
pub const STRIPE_VERSION: &str = "2025-09-30.clover";

/// Longest a Stripe call may take; the request's own timeout is longer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The Stripe API, at `STRIPE_API_BASE`.
#[derive(Clone, Debug)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret_key: Secret,
}

/// A failed Stripe call. The details are logged; callers answer with an opaque 502.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object.
    #[error("Stripe answered {status}: {kind} {code} ({message})")]
    Api {
        /// HTTP status.
        status: u16,
        /// `error.type`, e.g. `invalid_request_error`.
        kind: String,
        /// `error.code`, e.g. `resource_missing`.
        code: String,
        /// `error.message`, for the logs only: it can name ids and parameters.
        message: String,
    },
    /// Stripe could not be reached or its answer could not be read.
    #[error("Stripe request failed")]
    Transport(#[from] reqwest::Error),
    /// A success answer without the fields this code reads.
    #[error("unreadable Stripe answer")]
    Decode(#[source] serde_json::Error),
}

/// `{"error": {...}}`, Stripe's error body.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// An object Stripe created (customer, session): its id and, for sessions, the URL to send
/// the customer's browser to.
#[derive(Clone, Debug, Deserialize)]
pub struct Created {
    /// `cus_...`, `cs_...`, `bps_...`.
    pub id: String,
    /// The hosted page, for Checkout and Billing Portal sessions.
    #[serde(default)]
    pub url: Option<String>,
}

impl StripeClient {
    /// A client for the configured API base and key.
    pub fn new(config: &StripeConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initialises");
        Self {
            http,
            base: config.api_base.clone(),
            secret_key: config.secret_key.clone(),
        }
    }

    /// Creates the customer of a user. The key is derived from the user, so two racing
    /// first checkouts of one user get the same customer back (Stripe keeps keys 24 h).
    pub async fn create_customer(
        &self,
        user_id: Uuid,
        email: Option<&str>,
    ) -> Result<Created, StripeError> {
        let mut form = vec![("metadata[user_id]".to_owned(), user_id.to_string())];
        if let Some(email) = email {
            form.push(("email".to_owned(), email.to_owned()));
        }
        self.create("/v1/customers", &form, &format!("customer-{user_id}"))
            .await
    }

    /// Creates a Checkout Session (`form` holds its parameters).
    pub async fn create_checkout_session(
        &self,
        form: &[(String, String)],
    ) -> Result<Created, StripeError> {
        let key = Uuid::now_v7().to_string();
        self.create("/v1/checkout/sessions", form, &key).await
    }

    /// Creates a Billing Portal session for `customer`, returning to `return_url`.
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<Created, StripeError> {
        let form = [
            ("customer".to_owned(), customer.to_owned()),
            ("return_url".to_owned(), return_url.to_owned()),
        ];
        let key = Uuid::now_v7().to_string();
        self.create("/v1/billing_portal/sessions", &form, &key)
            .await
    }

    async fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(StripeError::Decode);
        }
        let error = serde_json::from_slice::<ErrorEnvelope>(&bytes).map(|e| e.error);
        Err(match error {
            Ok(error) => StripeError::Api {
                status: status.as_u16(),
                kind: error.kind,
                code: error.code.unwrap_or_default(),
                message: error.message.unwrap_or_default(),
            },
            Err(_) => StripeError::Api {
                status: status.as_u16(),
                kind: "unreadable".into(),
                code: String::new(),
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            },
        })
    }
}
