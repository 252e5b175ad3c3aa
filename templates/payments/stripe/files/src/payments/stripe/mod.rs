//! Stripe: API calls (customers, Checkout, Billing Portal), webhook signatures, and the
//! events that drive the subscription model.

mod client;
pub mod events;
pub mod signature;

pub use client::{Created, STRIPE_VERSION, StripeClient, StripeError};
