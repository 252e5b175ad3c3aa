//! Bodies of the Stripe session routes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What Checkout sells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutMode {
    /// A recurring price: starts a subscription.
    Subscription,
    /// A one-time price: a purchase without a period end.
    Payment,
}

impl CheckoutMode {
    /// Stripe's `mode` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Payment => "payment",
        }
    }
}

/// Body of `POST /billing/stripe/checkout`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCheckout {
    /// A price id of `PAYMENTS_PLANS`.
    #[schema(example = "price_1PRO")]
    pub price: String,
    /// `subscription` for a recurring price, `payment` for a one-time price.
    pub mode: CheckoutMode,
}

/// A Stripe-hosted page to send the caller's browser to.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostedPage {
    /// Stripe's session id.
    pub id: String,
    /// The page.
    pub url: String,
}
