//! SQLite: WAL journal, busy timeout, foreign keys and a real multi-connection pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use time::OffsetDateTime;

use super::DbPool;
use crate::config::DatabaseConfig;

/// The database this service runs on.
pub type Db = sqlx::Sqlite;

/// Used in development when `DATABASE_URL` is unset; the file and its folder are created.
pub const DEV_DATABASE_URL: &str = "sqlite://data/app.db";

/// Accepted `DATABASE_URL` prefixes.
pub const URL_SCHEMES: &[&str] = &["sqlite:"];

/// WAL lets readers run beside the single writer, so several connections pay off.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// The current time as stored in this database.
///
/// SQLite keeps timestamps as RFC 3339 text and compares them as text, which only
/// orders correctly with a fixed-width format: whole seconds always print the same
/// width. Lists break ties by the time-ordered UUIDv7 id.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Opens the pool, creating the database file (and its folder) when missing.
pub async fn connect(config: &DatabaseConfig) -> Result<DbPool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(config.url.expose())?
        .create_if_missing(true)
        // Readers no longer block the writer (and vice versa).
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL is crash-safe and skips an fsync per transaction.
        .synchronous(SqliteSynchronous::Normal)
        // Writers queue for the lock instead of failing at once with SQLITE_BUSY.
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    SqlitePoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx already pings every connection as it goes back to the pool and closes the
        // broken ones; pinging again on acquire would add a round trip to every query.
        .test_before_acquire(false)
        .connect_with(options)
        .await
}
