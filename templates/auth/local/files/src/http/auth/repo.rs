//! SQL of local accounts: credentials, refresh tokens and the tokens mailed to owners.

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
    /// The address, as stored (lowercased).
    pub email: String,
    /// Role, copied into the access token.
    pub role: Role,
    /// Inactive accounts cannot sign in.
    pub is_active: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Whether the owner confirmed the address.
    pub email_verified: bool,
}

impl<'r> FromRow<'r, DbRow> for Credentials {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: decode_enum(row, "role")?,
            is_active: row.try_get("is_active")?,
            password_hash: row.try_get("password_hash")?,
            email_verified: row.try_get("email_verified")?,
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
    create_user(&mut *db.acquire().await?, email, password_hash, role).await
}

/// [`insert_user`] on a connection (inside a transaction).
pub async fn create_user(
    conn: &mut DbConn,
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
    .fetch_one(conn)
    .await
}

/// Credentials for a (lowercased) email.
pub async fn find_credentials_by_email(
    db: &DbPool,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as::<_, Credentials>(
        "select id, email, role, is_active, password_hash,
            email_verified_at is not null as email_verified
        from users where lower(email) = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// Credentials of the account `id`.
pub async fn find_credentials_by_id(
    db: &DbPool,
    id: Uuid,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as::<_, Credentials>(
        "select id, email, role, is_active, password_hash,
            email_verified_at is not null as email_verified
        from users where id = $1",
    )
    .bind(id)
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
    revoke_user_refresh_tokens(&mut tx, id).await?;
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

/// Revokes every live refresh token of the family `token_hash` belongs to (logout); 0 when
/// no token has that hash.
pub async fn revoke_family_of(db: &DbPool, token_hash: &[u8]) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "update refresh_tokens set revoked_at = $2
        where family_id = (select family_id from refresh_tokens where token_hash = $1)
            and revoked_at is null",
    )
    .bind(token_hash)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// Revokes every live refresh token of the user: each of its sessions must sign in again.
pub async fn revoke_user_refresh_tokens(
    conn: &mut DbConn,
    user_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "update refresh_tokens set revoked_at = $2 where user_id = $1 and revoked_at is null",
    )
    .bind(user_id)
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Sets the account's password hash.
pub async fn set_password(
    conn: &mut DbConn,
    user_id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
        .bind(user_id)
        .bind(password_hash)
        .bind(db::now())
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the owner confirmed the address; `false` when it already was.
pub async fn mark_email_verified(conn: &mut DbConn, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let now = db::now();
    let result = sqlx::query(
        "update users set email_verified_at = $2, updated_at = $2
        where id = $1 and email_verified_at is null",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// What a token mailed to an account's owner lets them do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirm the address.
    VerifyEmail,
    /// Choose a new password.
    PasswordReset,
}

impl TokenPurpose {
    /// The value of the `purpose` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Stores the hash of a new token for `purpose`, replacing the user's earlier ones: only the
/// newest link works.
pub async fn insert_account_token(
    conn: &mut DbConn,
    user_id: Uuid,
    purpose: TokenPurpose,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    delete_account_tokens(conn, user_id, purpose).await?;
    sqlx::query(
        "insert into account_tokens (id, user_id, purpose, token_hash, expires_at, created_at)
        values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(token_hash)
    .bind(expires_at)
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses up the unexpired, unused token with this hash and purpose; its owner, or `None`
/// (unknown, expired, already used, or for another purpose). Checked and used in one
/// statement, so two concurrent requests cannot both use it.
pub async fn use_account_token(
    conn: &mut DbConn,
    token_hash: &[u8],
    purpose: TokenPurpose,
) -> Result<Option<Uuid>, sqlx::Error> {
    let now = db::now();
    sqlx::query_scalar(
        "update account_tokens set used_at = $3
        where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
        returning user_id",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Deletes the user's tokens for `purpose` (a used one's siblings stop working too).
pub async fn delete_account_tokens(
    conn: &mut DbConn,
    user_id: Uuid,
    purpose: TokenPurpose,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("delete from account_tokens where user_id = $1 and purpose = $2")
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(conn)
        .await?;
    Ok(result.rows_affected())
}

/// The owner of the unexpired, unused token with this hash and purpose, without using it.
pub async fn account_token_owner(
    db: &DbPool,
    token_hash: &[u8],
    purpose: TokenPurpose,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select user_id from account_tokens
        where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(db::now())
    .fetch_optional(db)
    .await
}

/// The account's address.
pub async fn find_email(conn: &mut DbConn, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select email from users where id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}
