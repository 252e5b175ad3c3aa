//! Subscriptions and provider customers: the model, and the SQL that changes it.

use serde::Serialize;
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, DbConn, DbPool, DbRow};

/// Where a subscription stands, in the vocabulary every provider is mapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded; final.
    IncompleteExpired,
    /// In a free trial.
    Trialing,
    /// Paid and current.
    Active,
    /// A renewal payment failed; the provider is retrying.
    PastDue,
    /// Ended; final.
    Canceled,
    /// Retries are exhausted; not paid.
    Unpaid,
    /// Paused by the customer or the merchant.
    Paused,
}

impl SubscriptionStatus {
    /// The value stored in `subscriptions.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
        }
    }

    /// Whether this status grants the plan's features. A failed renewal (`past_due`)
    /// withdraws them at once; change this to keep access during the provider's retries.
    pub fn grants_access(self) -> bool {
        matches!(self, Self::Active | Self::Trialing)
    }
}

impl std::str::FromStr for SubscriptionStatus {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        Ok(match value {
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            _ => return Err(()),
        })
    }
}

/// A subscription (or one-time purchase) of the caller, as the billing view shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Subscription {
    /// Local id.
    pub id: Uuid,
    /// The payment provider that reported it.
    pub provider: String,
    /// The provider's id of the subscription (or of the purchase).
    pub external_id: String,
    /// The provider's product id, when known.
    pub product_id: Option<String>,
    /// The provider's price id, when known.
    pub price_id: Option<String>,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// End of the paid period; none for a one-time purchase.
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    /// Ends at `current_period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, DbRow> for Subscription {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            provider: row.try_get("provider")?,
            external_id: row.try_get("external_id")?,
            product_id: row.try_get("product_id")?,
            price_id: row.try_get("price_id")?,
            status: db::decode_enum(row, "status")?,
            current_period_end: row.try_get("current_period_end")?,
            cancel_at_period_end: row.try_get("cancel_at_period_end")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// What a verified provider event says about a subscription.
#[derive(Clone, Debug)]
pub struct SubscriptionChange<'a> {
    /// The user it belongs to.
    pub user_id: Uuid,
    /// The provider's id.
    pub provider: &'a str,
    /// The provider's subscription (or purchase) id.
    pub external_id: &'a str,
    /// The provider's customer id.
    pub external_customer_id: Option<&'a str>,
    /// The product, when the event names it.
    pub product_id: Option<&'a str>,
    /// The price, when the event names it.
    pub price_id: Option<&'a str>,
    /// The new status.
    pub status: SubscriptionStatus,
    /// End of the paid period, when the event names it.
    pub current_period_end: Option<OffsetDateTime>,
    /// Ends at the period end.
    pub cancel_at_period_end: bool,
    /// Unix time the provider created the event at.
    pub event_time: i64,
}

/// Inserts or updates the subscription, unless a newer event changed it already.
///
/// Returns whether the row changed. Fields the event does not name keep their values.
pub async fn upsert_subscription(
    conn: &mut DbConn,
    change: &SubscriptionChange<'_>,
) -> Result<bool, sqlx::Error> {
    let now = db::now();
    let result = sqlx::query(
        "insert into subscriptions (id, user_id, provider, external_id, external_customer_id,
            product_id, price_id, status, current_period_end, cancel_at_period_end,
            last_event_at, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
        on conflict (provider, external_id) do update set
            external_customer_id = coalesce(excluded.external_customer_id,
                subscriptions.external_customer_id),
            product_id = coalesce(excluded.product_id, subscriptions.product_id),
            price_id = coalesce(excluded.price_id, subscriptions.price_id),
            status = excluded.status,
            current_period_end = coalesce(excluded.current_period_end,
                subscriptions.current_period_end),
            cancel_at_period_end = excluded.cancel_at_period_end,
            last_event_at = excluded.last_event_at,
            updated_at = excluded.updated_at
        where subscriptions.last_event_at <= excluded.last_event_at",
    )
    .bind(Uuid::now_v7())
    .bind(change.user_id)
    .bind(change.provider)
    .bind(change.external_id)
    .bind(change.external_customer_id)
    .bind(change.product_id)
    .bind(change.price_id)
    .bind(change.status.as_str())
    .bind(change.current_period_end)
    .bind(change.cancel_at_period_end)
    .bind(change.event_time)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Sets the status of a known subscription (an invoice event names no other field),
/// unless a newer event changed it already or it has ended (`canceled` and
/// `incomplete_expired` are final). Returns whether a row changed.
pub async fn update_subscription_status(
    conn: &mut DbConn,
    provider: &str,
    external_id: &str,
    status: SubscriptionStatus,
    event_time: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update subscriptions set status = $1, last_event_at = $2, updated_at = $3
        where provider = $4 and external_id = $5 and last_event_at <= $2
            and status not in ('canceled', 'incomplete_expired')",
    )
    .bind(status.as_str())
    .bind(event_time)
    .bind(db::now())
    .bind(provider)
    .bind(external_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The user's subscriptions and purchases, most recently changed first.
pub async fn list_subscriptions_by_user(
    db: &DbPool,
    user_id: Uuid,
) -> Result<Vec<Subscription>, sqlx::Error> {
    sqlx::query_as::<_, Subscription>(
        "select id, provider, external_id, product_id, price_id, status, current_period_end,
            cancel_at_period_end, updated_at
        from subscriptions
        where user_id = $1
        order by updated_at desc, id desc",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// The user's customer id at `provider`, if one was created.
pub async fn find_customer_by_user(
    db: &DbPool,
    provider: &str,
    user_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select external_id from payment_customers where provider = $1 and user_id = $2",
    )
    .bind(provider)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// The user a provider's customer id belongs to.
pub async fn find_user_by_customer(
    conn: &mut DbConn,
    provider: &str,
    external_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select user_id from payment_customers where provider = $1 and external_id = $2",
    )
    .bind(provider)
    .bind(external_id)
    .fetch_optional(conn)
    .await
}

/// Links a provider's customer to the user; the first link of a user wins, so two racing
/// requests cannot leave the user with two customers.
pub async fn link_customer(
    conn: &mut DbConn,
    provider: &str,
    user_id: Uuid,
    external_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into payment_customers (provider, user_id, external_id, created_at)
        values ($1, $2, $3, $4)
        on conflict do nothing",
    )
    .bind(provider)
    .bind(user_id)
    .bind(external_id)
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The user's email, which providers show on receipts; none for an unknown user.
pub async fn find_user_email(db: &DbPool, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let email: Option<Option<String>> = sqlx::query_scalar("select email from users where id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(email.flatten())
}
