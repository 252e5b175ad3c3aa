//! SQL for `ai_usage`: one row per provider call, and what a user spent today.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{self, DbPool};

/// One provider call, as recorded.
#[derive(Clone, Debug)]
pub struct UsageRecord<'a> {
    /// The caller.
    pub user_id: Uuid,
    /// Provider id.
    pub provider: &'a str,
    /// Model name.
    pub model: &'a str,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Cost in millionths of the currency unit.
    pub cost_micros: i64,
    /// From the request to the last byte.
    pub latency_ms: u64,
    /// Whether the answer was streamed.
    pub streamed: bool,
    /// `ok`, `rate_limited`, `upstream_error`, `timeout`, `unreachable`, `rejected`,
    /// `bad_response`, `stream_error` or `cancelled`.
    pub outcome: &'a str,
}

/// Stores one call.
pub async fn insert_usage(db: &DbPool, record: &UsageRecord<'_>) -> Result<(), sqlx::Error> {
    let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    sqlx::query(
        "insert into ai_usage (id, user_id, provider, model, input_tokens, output_tokens,
            cost_micros, latency_ms, streamed, outcome, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Uuid::now_v7())
    .bind(record.user_id)
    .bind(record.provider)
    .bind(record.model)
    .bind(clamp(record.input_tokens))
    .bind(clamp(record.output_tokens))
    .bind(record.cost_micros)
    .bind(clamp(record.latency_ms))
    .bind(record.streamed)
    .bind(record.outcome)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(())
}

/// Tokens and cost of the user's calls since `since`.
pub async fn spent_since(
    db: &DbPool,
    user_id: Uuid,
    since: OffsetDateTime,
) -> Result<(i64, i64), sqlx::Error> {
    // `cast(... as bigint)`: some databases sum bigints into a wider decimal type.
    sqlx::query_as(
        "select cast(coalesce(sum(input_tokens + output_tokens), 0) as bigint),
            cast(coalesce(sum(cost_micros), 0) as bigint)
        from ai_usage
        where user_id = $1 and created_at >= $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(db)
    .await
}

/// Calls and their totals for one group of a usage report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageTotals {
    /// The group: a user id, `provider/model`, or a `YYYY-MM-DD` day (UTC).
    pub key: String,
    /// Provider calls.
    pub calls: i64,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Generated tokens.
    pub output_tokens: i64,
    /// Cost in millionths of the currency unit.
    pub cost_micros: i64,
}

/// `(calls, input, output, cost)` columns every report selects after its key.
type Sums = (i64, i64, i64, i64);

fn totals(key: String, (calls, input_tokens, output_tokens, cost_micros): Sums) -> UsageTotals {
    UsageTotals {
        key,
        calls,
        input_tokens,
        output_tokens,
        cost_micros,
    }
}

/// Usage since `since` per user, costliest first.
pub async fn usage_by_user(
    db: &DbPool,
    since: OffsetDateTime,
) -> Result<Vec<UsageTotals>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = sqlx::query_as(
        "select user_id, count(*), cast(sum(input_tokens) as bigint),
            cast(sum(output_tokens) as bigint), cast(sum(cost_micros) as bigint)
        from ai_usage where created_at >= $1
        group by user_id order by 5 desc, 1",
    )
    .bind(since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, calls, input, output, cost)| {
            totals(user.to_string(), (calls, input, output, cost))
        })
        .collect())
}

/// Usage since `since` per provider and model, costliest first.
pub async fn usage_by_model(
    db: &DbPool,
    since: OffsetDateTime,
) -> Result<Vec<UsageTotals>, sqlx::Error> {
    let rows: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "select provider, model, count(*), cast(sum(input_tokens) as bigint),
            cast(sum(output_tokens) as bigint), cast(sum(cost_micros) as bigint)
        from ai_usage where created_at >= $1
        group by provider, model order by 6 desc, 1, 2",
    )
    .bind(since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(provider, model, calls, input, output, cost)| {
            totals(format!("{provider}/{model}"), (calls, input, output, cost))
        })
        .collect())
}

/// Usage since `since` per UTC day, oldest first.
pub async fn usage_by_day(
    db: &DbPool,
    since: OffsetDateTime,
) -> Result<Vec<UsageTotals>, sqlx::Error> {
    // The first 10 characters of the timestamp as text are its day: timestamps are stored
    // in UTC, and the connections' session time zone is UTC.
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "select substr(cast(created_at as text), 1, 10) as day, count(*),
            cast(sum(input_tokens) as bigint), cast(sum(output_tokens) as bigint),
            cast(sum(cost_micros) as bigint)
        from ai_usage where created_at >= $1
        group by day order by day",
    )
    .bind(since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, calls, input, output, cost)| totals(day, (calls, input, output, cost)))
        .collect())
}
