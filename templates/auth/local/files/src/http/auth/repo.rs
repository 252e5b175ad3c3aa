//! SQL of local accounts: credentials and refresh tokens.

use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::{self, DbConn, DbPool, DbRow, decode_enum};
use crate::http::users::User;

/// What login needs to know about an account.
pub struct Credentials {
    /// User id.
    pub id: Uuid,
    /// Role, copied into the access token.
    pub role: Role,
    /// Inactive accounts cannot sign in.
    pub is_active: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl<'r> FromRow<'r, DbRow> for Credentials {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            role: decode_enum(row, "role")?,
            is_active: row.try_get("is_active")?,
            password_hash: row.try_get("password_hash")?,
        })
    }
}

/// A stored refresh token with the owner's current role and status.
pub struct StoredRefreshToken {
    /// Token id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// All tokens descending from one login.
    pub family_id: Uuid,
    /// After this the token is useless.
    pub expires_at: OffsetDateTime,
    /// Set when the token was used (rotated) or its family revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The owner's role now (a refresh picks up role changes).
    pub role: Role,
    /// Whether the owner may still sign in.
    pub is_active: bool,
}

impl<'r> FromRow<'r, DbRow> for StoredRefreshToken {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            family_id: row.try_get("family_id")?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
            role: decode_enum(row, "role")?,
            is_active: row.try_get("is_active")?,
        })
    }
}

/// Creates an account; a taken email is a unique violation of `users_email_key`.
pub async fn insert_user(
    db: &DbPool,
    email: &str,
    password_hash: &str,
    role: Role,
) -> Result<User, sqlx::Error> {
    let now = db::now();
    sqlx::query_as::<_, User>(
        "insert into users (id, email, password_hash, role, is_active, created_at, updated_at)
        values ($1, $2, $3, $4, true, $5, $5)
        returning id, email, role, is_active, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(db)
    .await
}

/// Credentials for a (lowercased) email.
pub async fn find_credentials_by_email(
    db: &DbPool,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as::<_, Credentials>(
        "select id, role, is_active, password_hash from users where lower(email) = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// Makes the account `id` an active admin signing in with `password_hash`, and revokes its
/// refresh tokens (`seed --reset-existing`); `false` when there is no such account.
pub async fn reset_to_admin(
    db: &DbPool,
    id: Uuid,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let now = db::now();
    let mut tx = db.begin().await?;
    let result = sqlx::query(
        "update users set role = 'admin', is_active = true, password_hash = $2, updated_at = $3
        where id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update refresh_tokens set revoked_at = $2 where user_id = $1 and revoked_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(result.rows_affected() == 1)
}

/// Stores the hash of a new refresh token.
pub async fn insert_refresh_token(
    conn: &mut DbConn,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at)
        values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(family_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The token with this hash and its owner's current role and status.
pub async fn find_refresh_token(
    db: &DbPool,
    token_hash: &[u8],
) -> Result<Option<StoredRefreshToken>, sqlx::Error> {
    sqlx::query_as::<_, StoredRefreshToken>(
        "select t.id, t.user_id, t.family_id, t.expires_at, t.revoked_at, u.role, u.is_active
        from refresh_tokens t
        join users u on u.id = t.user_id
        where t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Uses up a token; `false` if it was already used (e.g. by a concurrent refresh).
pub async fn revoke_refresh_token(conn: &mut DbConn, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update refresh_tokens set revoked_at = $2 where id = $1 and revoked_at is null",
    )
    .bind(id)
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Revokes every live token of a family (after a reused token revealed a theft).
pub async fn revoke_refresh_token_family(db: &DbPool, family_id: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "update refresh_tokens set revoked_at = $2 where family_id = $1 and revoked_at is null",
    )
    .bind(family_id)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// Deletes the user's expired tokens, so the table does not grow with every login.
/// Revoked tokens stay until they expire: reuse detection needs them.
pub async fn delete_expired_refresh_tokens(
    conn: &mut DbConn,
    user_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("delete from refresh_tokens where user_id = $1 and expires_at <= $2")
        .bind(user_id)
        .bind(db::now())
        .execute(conn)
        .await?;
    Ok(result.rows_affected())
}
