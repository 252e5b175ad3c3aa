//! Bare axum baseline for `bench/serve.py`.
//!
//! `GET /api/v1/app/projects` does what the generated handler does, minus the middleware
//! stack: verify an HS256 access token (same claims, issuer, audience, leeway), then run
//! the same two queries (one page of the caller's projects and their count) concurrently
//! on the same SQLite file with the same pool settings, and answer `{"data": [...], "count": n}`.
//! `GET /health/live` answers `{"status":"ok"}`.
//!
//! Environment: `DATABASE_URL` (an existing SQLite database of the generated app),
//! `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `PORT` (default 8081),
//! `DATABASE_MAX_CONNECTIONS` (default 8, the generated app's default),
//! and two experiments that depart from the generated app (both off by default):
//! `BASELINE_TEST_BEFORE_ACQUIRE=true` adds sqlx's default ping per pool acquire,
//! `BASELINE_SEQUENTIAL=true` runs the two statements one after the other on one connection.
//!
//! Keep this in step with the generated `src/db/sqlite.rs`, `src/auth/verifier.rs` and
//! `src/http/projects/`: `bench/serve.py` checks that both answer with the same JSON, not
//! that they are configured alike.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// The generated app's claims (src/auth/claims.rs), with the role as plain text.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: Uuid,
    role: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

#[derive(Serialize)]
struct Project {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, SqliteRow> for Project {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

#[derive(Serialize)]
struct Page {
    data: Vec<Project>,
    count: i64,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    20
}

struct AppState {
    db: SqlitePool,
    sequential: bool,
    key: DecodingKey,
    validation: Validation,
}

type Shared = Arc<AppState>;

async fn list_projects(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(page): Query<Pagination>,
) -> Result<Json<Page>, StatusCode> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let claims = jsonwebtoken::decode::<Claims>(token.trim(), &state.key, &state.validation)
        .map_err(|_| StatusCode::UNAUTHORIZED)?
        .claims;
    if !(1..=100).contains(&page.limit) || page.offset < 0 {
        return Err(StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The generated handler's two statements, verbatim (no search filter: `$2` is null).
    let list = sqlx::query_as::<_, Project>(
        r"select id, owner_id, name, description, created_at, updated_at
        from projects
        where owner_id = $1 and deleted_at is null
            and ($2 is null or lower(name) like $2 escape '\')
        order by created_at desc, id desc
        limit $3 offset $4",
    )
    .bind(claims.sub)
    .bind(None::<String>)
    .bind(page.limit)
    .bind(page.offset);
    let count = sqlx::query_scalar::<_, i64>(
        r"select count(*) from projects
        where owner_id = $1 and deleted_at is null
            and ($2 is null or lower(name) like $2 escape '\')",
    )
    .bind(claims.sub)
    .bind(None::<String>);
    let internal = |_| StatusCode::INTERNAL_SERVER_ERROR;
    let (data, count) = if state.sequential {
        // Experiment: both statements on one connection, one after the other.
        let mut conn = state.db.acquire().await.map_err(internal)?;
        let data = list.fetch_all(&mut *conn).await.map_err(internal)?;
        (data, count.fetch_one(&mut *conn).await.map_err(internal)?)
    } else {
        // As generated: concurrently, on two pool connections.
        tokio::try_join!(list.fetch_all(&state.db), count.fetch_one(&state.db)).map_err(internal)?
    };
    Ok(Json(Page { data, count }))
}

#[derive(Serialize)]
struct Live {
    status: &'static str,
}

async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

#[tokio::main]
async fn main() {
    let url = env("DATABASE_URL");
    let max_connections: u32 = std::env::var("DATABASE_MAX_CONNECTIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(8);
    // The generated app's pool settings (src/db/sqlite.rs).
    let options = SqliteConnectOptions::from_str(&url)
        .expect("DATABASE_URL")
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    // Like the generated app: no ping on acquire (sqlx pings on release anyway).
    // `BASELINE_TEST_BEFORE_ACQUIRE=true` restores sqlx's default, for experiments.
    let test_before_acquire =
        std::env::var("BASELINE_TEST_BEFORE_ACQUIRE").as_deref() == Ok("true");
    let db = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(test_before_acquire)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .expect("cannot open the database");

    // The generated app's verifier (src/auth/verifier.rs).
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[env("JWT_ISSUER")]);
    validation.set_audience(&[env("JWT_AUDIENCE")]);
    validation.leeway = 30;
    let key = DecodingKey::from_secret(env("JWT_SECRET").as_bytes());

    let state = Arc::new(AppState {
        db,
        sequential: std::env::var("BASELINE_SEQUENTIAL").as_deref() == Ok("true"),
        key,
        validation,
    });
    let app = Router::new()
        .route("/api/v1/app/projects", get(list_projects))
        .route("/health/live", get(live))
        .with_state(state);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(8081);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("cannot listen");
    println!("baseline listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await.expect("server error");
}
