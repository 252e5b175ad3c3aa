//! SQL for users shared by every auth provider.

use uuid::Uuid;

use super::model::User;
use crate::auth::Role;
use crate::db::{self, DbPool};

/// The user with this id.
pub async fn find_user_by_id(db: &DbPool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(
        "select id, email, role, is_active, created_at, updated_at
        from users where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// One page of all users, newest first.
pub async fn list_users(db: &DbPool, limit: i64, offset: i64) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(
        "select id, email, role, is_active, created_at, updated_at
        from users
        order by created_at desc, id desc
        limit $1 offset $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many users exist.
pub async fn count_users(db: &DbPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(db)
        .await
}

/// Changes role and/or activation; `None` when there is no such user.
pub async fn update_user_access(
    db: &DbPool,
    id: Uuid,
    role: Option<Role>,
    is_active: Option<bool>,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as::<_, User>(
        "update users
        set role = coalesce($2, role), is_active = coalesce($3, is_active), updated_at = $4
        where id = $1
        returning id, email, role, is_active, created_at, updated_at",
    )
    .bind(id)
    .bind(role.map(Role::as_str))
    .bind(is_active)
    .bind(db::now())
    .fetch_optional(db)
    .await
}
