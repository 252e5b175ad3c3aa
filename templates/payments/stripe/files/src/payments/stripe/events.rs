//! Stripe events that drive the subscription model, read in the pinned API version's shapes.
//!
//! - `checkout.session.completed`: links the customer to the user (`client_reference_id`);
//!   a paid one-time purchase (`mode=payment`) becomes a row without a period end.
//! - `customer.subscription.created`, `.updated`, `.deleted`: the subscription's status,
//!   price, product, period end and cancel-at-period-end.
//! - `invoice.paid` (renewal paid: `active`), `invoice.payment_failed` (`past_due`).
//!
//! Other types are recorded and acknowledged without effect.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbConn;
use crate::payments::subscriptions::{self, SubscriptionChange, SubscriptionStatus};

/// `webhook_events.provider` and `subscriptions.provider` of Stripe rows.
pub const PROVIDER: &str = "stripe";

/// An event envelope; `data.object` is read per type.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// `evt_...`, unique: the idempotency key of the intake.
    pub id: String,
    /// e.g. `customer.subscription.updated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix time Stripe created the event at (orders events of one subscription).
    pub created: i64,
    /// The object the event is about.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Debug, Deserialize)]
pub struct EventData {
    /// The object, as of the event.
    pub object: Value,
}

/// An event object without the fields its type needs (the signature was valid, so this
/// is an API version this code does not read).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The object could not be read.
    #[error("unreadable {kind} object: {source}")]
    Shape {
        /// Event type.
        kind: String,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Deserialize)]
struct CheckoutSession {
    id: String,
    mode: String,
    customer: Option<String>,
    client_reference_id: Option<String>,
    payment_status: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
struct StripeSubscription {
    id: String,
    customer: String,
    status: String,
    #[serde(default)]
    cancel_at_period_end: bool,
    /// Before API version 2025-03-31 the period was on the subscription.
    current_period_end: Option<i64>,
    items: List<SubscriptionItem>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct SubscriptionItem {
    price: Price,
    /// Since API version 2025-03-31 the period is on each item.
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct Price {
    id: String,
    /// An id, or the product object when expanded.
    product: Value,
}

#[derive(Deserialize)]
struct Invoice {
    /// Before API version 2025-03-31.
    subscription: Option<String>,
    /// Since then: `parent.subscription_details.subscription`.
    parent: Option<InvoiceParent>,
}

#[derive(Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Deserialize)]
struct SubscriptionDetails {
    subscription: Option<String>,
}

fn object<T: for<'de> Deserialize<'de>>(event: &Event) -> Result<T, ApplyError> {
    T::deserialize(&event.data.object).map_err(|source| ApplyError::Shape {
        kind: event.kind.clone(),
        source,
    })
}

/// Applies a verified event on the intake's transaction.
pub async fn apply(conn: &mut DbConn, event: &Event) -> Result<(), ApplyError> {
    match event.kind.as_str() {
        "checkout.session.completed" => checkout_completed(conn, event, object(event)?).await,
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            subscription_changed(conn, event, object(event)?).await
        }
        "invoice.paid" => invoice(conn, event, object(event)?, SubscriptionStatus::Active).await,
        "invoice.payment_failed" => {
            invoice(conn, event, object(event)?, SubscriptionStatus::PastDue).await
        }
        other => {
            tracing::debug!(event_type = other, "Stripe event type without effect");
            Ok(())
        }
    }
}

async fn checkout_completed(
    conn: &mut DbConn,
    event: &Event,
    session: CheckoutSession,
) -> Result<(), ApplyError> {
    // Set by this app when it created the session.
    let Some(user_id) = session
        .client_reference_id
        .as_deref()
        .and_then(|id| id.parse::<Uuid>().ok())
    else {
        tracing::warn!(
            session = session.id,
            "Checkout Session of no user of this app"
        );
        return Ok(());
    };
    if let Some(customer) = &session.customer {
        subscriptions::link_customer(conn, PROVIDER, user_id, customer).await?;
    }
    // Subscriptions arrive through their own events; a paid one-time purchase has none.
    if session.mode == "payment" && session.payment_status == "paid" {
        subscriptions::upsert_subscription(
            conn,
            &SubscriptionChange {
                user_id,
                provider: PROVIDER,
                external_id: &session.id,
                external_customer_id: session.customer.as_deref(),
                product_id: None,
                price_id: session.metadata.get("price").map(String::as_str),
                status: SubscriptionStatus::Active,
                current_period_end: None,
                cancel_at_period_end: false,
                event_time: event.created,
            },
        )
        .await?;
    }
    Ok(())
}

async fn subscription_changed(
    conn: &mut DbConn,
    event: &Event,
    subscription: StripeSubscription,
) -> Result<(), ApplyError> {
    let Ok(status) = subscription.status.parse::<SubscriptionStatus>() else {
        tracing::warn!(
            status = subscription.status,
            "unknown Stripe subscription status"
        );
        return Ok(());
    };
    let known =
        subscriptions::find_user_by_customer(conn, PROVIDER, &subscription.customer).await?;
    // Checkout copies the user id into the subscription's metadata, for events that
    // arrive before `checkout.session.completed` linked the customer.
    let from_metadata = || {
        subscription
            .metadata
            .get("user_id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let Some(user_id) = known.or_else(from_metadata) else {
        tracing::warn!(
            subscription = subscription.id,
            "subscription of no user of this app"
        );
        return Ok(());
    };
    let item = subscription.items.data.first();
    let period_end = item
        .and_then(|item| item.current_period_end)
        .or(subscription.current_period_end)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    subscriptions::upsert_subscription(
        conn,
        &SubscriptionChange {
            user_id,
            provider: PROVIDER,
            external_id: &subscription.id,
            external_customer_id: Some(&subscription.customer),
            product_id: item.and_then(|item| {
                item.price
                    .product
                    .as_str()
                    .or_else(|| item.price.product.get("id").and_then(Value::as_str))
            }),
            price_id: item.map(|item| item.price.id.as_str()),
            status,
            current_period_end: period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
            event_time: event.created,
        },
    )
    .await?;
    Ok(())
}

async fn invoice(
    conn: &mut DbConn,
    event: &Event,
    invoice: Invoice,
    status: SubscriptionStatus,
) -> Result<(), ApplyError> {
    let subscription = invoice.subscription.or_else(|| {
        invoice
            .parent
            .and_then(|parent| parent.subscription_details)
            .and_then(|details| details.subscription)
    });
    // One-time invoices belong to no subscription.
    if let Some(subscription) = subscription {
        subscriptions::update_subscription_status(
            conn,
            PROVIDER,
            &subscription,
            status,
            event.created,
        )
        .await?;
    }
    Ok(())
}
