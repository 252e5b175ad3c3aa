//! PostgreSQL pool with acquire and statement timeouts.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use time::OffsetDateTime;

use super::DbPool;
use crate::config::DatabaseConfig;

/// The database this service runs on.
pub type Db = sqlx::Postgres;

/// Used in development when `DATABASE_URL` is unset: a local server with the
/// default credentials (the development compose service when there is one).
pub const DEV_DATABASE_URL: &str = "postgres://postgres:postgres@localhost:5432/app";

/// Accepted `DATABASE_URL` prefixes.
pub const URL_SCHEMES: &[&str] = &["postgres://", "postgresql://"];

/// Default pool size; keep the sum over all instances below the server's `max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// The current time as stored in this database (microseconds are kept).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Opens the pool; a slow query is cancelled by the server instead of holding a connection.
pub async fn connect(config: &DatabaseConfig) -> Result<DbPool, sqlx::Error> {
    let options =
        PgConnectOptions::from_str(config.url.expose())?.options([("statement_timeout", "10s")]);
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx already pings every connection as it goes back to the pool and closes the
        // broken ones; pinging again on acquire would add a round trip to every query.
        .test_before_acquire(false)
        .connect_with(options)
        .await
}
