//! Idempotent intake of verified provider events.
//!
//! An event is recorded in `webhook_events` in the same transaction that applies it: when
//! the transaction commits, both happened; when applying fails, neither did and the
//! provider's retry starts over. A redelivery finds the row (a concurrent duplicate waits
//! on the unique index until the first commits, then finds it) and is only acknowledged.

use sqlx::Transaction;
use uuid::Uuid;

use crate::db::{self, Db, DbPool};

/// A verified event, as the provider sent it.
#[derive(Clone, Copy, Debug)]
pub struct IncomingEvent<'a> {
    /// The provider's id (`webhook_events.provider`).
    pub provider: &'a str,
    /// The provider's event id, unique per provider.
    pub event_id: &'a str,
    /// The provider's event type.
    pub event_type: &'a str,
    /// The raw body, kept for audits and replays.
    pub payload: &'a str,
}

/// Starts the transaction that records and applies `event`, or `None` when the event was
/// received (and applied) before. The caller applies it on the transaction and commits.
pub async fn begin_event(
    db: &DbPool,
    event: IncomingEvent<'_>,
) -> Result<Option<Transaction<'static, Db>>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let now = db::now();
    let inserted = sqlx::query(
        "insert into webhook_events
            (id, provider, event_id, event_type, payload, received_at, processed_at)
        values ($1, $2, $3, $4, $5, $6, $6)
        on conflict (provider, event_id) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(event.provider)
    .bind(event.event_id)
    .bind(event.event_type)
    .bind(event.payload)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    Ok(Some(tx))
}
