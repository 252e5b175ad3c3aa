//! The local `users` row of an externally authenticated subject: created on its first
//! request, kept in step with the token's email and role claim afterwards.

use sqlx::FromRow;
use uuid::Uuid;

use super::{Identity, Role};
use crate::db::{self, DbPool, DbRow, decode_enum};

/// What authorization needs from the local row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The local user id (what `owner_id` and the admin API use).
    pub id: Uuid,
    /// The stored email.
    pub email: Option<String>,
    /// The stored role.
    pub role: Role,
    /// Deactivated accounts are refused even with a valid token.
    pub is_active: bool,
}

impl<'r> FromRow<'r, DbRow> for Account {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: decode_enum(row, "role")?,
            is_active: row.try_get("is_active")?,
        })
    }
}

/// The account of `identity`, created or updated as needed.
///
/// Concurrent first requests of one subject all insert with `on conflict do nothing` and
/// then read the one row that won, so exactly one account exists per subject.
pub async fn sync_account(db: &DbPool, identity: &Identity) -> Result<Account, sqlx::Error> {
    let account = match find_account_by_subject(db, &identity.subject).await? {
        Some(account) => account,
        None => {
            insert_account(db, identity).await?;
            find_account_by_subject(db, &identity.subject)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?
        }
    };
    let email_changed = identity.email.is_some() && identity.email != account.email;
    let role_changed = identity.role.is_some_and(|role| role != account.role);
    if email_changed || role_changed {
        return update_account(db, account.id, identity).await;
    }
    Ok(account)
}

/// The account of an external subject.
pub async fn find_account_by_subject(
    db: &DbPool,
    subject: &str,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as::<_, Account>(
        "select id, email, role, is_active from users where external_id = $1",
    )
    .bind(subject)
    .fetch_optional(db)
    .await
}

async fn insert_account(db: &DbPool, identity: &Identity) -> Result<(), sqlx::Error> {
    let now = db::now();
    sqlx::query(
        "insert into users (id, external_id, email, role, is_active, created_at, updated_at)
        values ($1, $2, $3, $4, true, $5, $5)
        on conflict (external_id) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(&identity.subject)
    .bind(&identity.email)
    .bind(identity.role.unwrap_or(Role::User).as_str())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

async fn update_account(
    db: &DbPool,
    id: Uuid,
    identity: &Identity,
) -> Result<Account, sqlx::Error> {
    sqlx::query_as::<_, Account>(
        "update users
        set email = coalesce($2, email), role = coalesce($3, role), updated_at = $4
        where id = $1
        returning id, email, role, is_active",
    )
    .bind(id)
    .bind(&identity.email)
    .bind(identity.role.map(Role::as_str))
    .bind(db::now())
    .fetch_one(db)
    .await
}
