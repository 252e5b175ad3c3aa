//! SQL for projects. Every query is scoped to the owner and skips soft-deleted rows.

use uuid::Uuid;

use super::model::Project;
use crate::db::{self, DbPool};

/// One page of the owner's projects, newest first, optionally filtered by name.
///
/// A single static statement (the filter is `$2 is null or ...`) so the driver prepares
/// and caches it once, whatever the client sends.
pub async fn list_projects_by_owner(
    db: &DbPool,
    owner_id: Uuid,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Project>, sqlx::Error> {
    sqlx::query_as::<_, Project>(
        r"select id, owner_id, name, description, created_at, updated_at
        from projects
        where owner_id = $1 and deleted_at is null
            and ($2 is null or lower(name) like $2 escape '\')
        order by created_at desc, id desc
        limit $3 offset $4",
    )
    .bind(owner_id)
    .bind(search.map(like_pattern))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many projects [`list_projects_by_owner`] would return without paging.
pub async fn count_projects_by_owner(
    db: &DbPool,
    owner_id: Uuid,
    search: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        r"select count(*) from projects
        where owner_id = $1 and deleted_at is null
            and ($2 is null or lower(name) like $2 escape '\')",
    )
    .bind(owner_id)
    .bind(search.map(like_pattern))
    .fetch_one(db)
    .await
}

/// `%text%`, lowercased, with the caller's `%`, `_` and `\` matched literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The project, if it exists, belongs to `owner_id` and is not deleted.
pub async fn find_project_by_id(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as::<_, Project>(
        "select id, owner_id, name, description, created_at, updated_at
        from projects
        where id = $1 and owner_id = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(owner_id)
    .fetch_optional(db)
    .await
}

/// Creates a project for `owner_id`.
pub async fn insert_project(
    db: &DbPool,
    owner_id: Uuid,
    name: &str,
    description: Option<&str>,
) -> Result<Project, sqlx::Error> {
    let now = db::now();
    sqlx::query_as::<_, Project>(
        "insert into projects (id, owner_id, name, description, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $5)
        returning id, owner_id, name, description, created_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(owner_id)
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Changes the given fields; `description: Some(None)` clears it. `None` when not found.
pub async fn update_project(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
    name: Option<&str>,
    description: Option<Option<&str>>,
) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as::<_, Project>(
        "update projects
        set name = coalesce($3, name),
            description = case when $4 then $5 else description end,
            updated_at = $6
        where id = $1 and owner_id = $2 and deleted_at is null
        returning id, owner_id, name, description, created_at, updated_at",
    )
    .bind(id)
    .bind(owner_id)
    .bind(name)
    .bind(description.is_some())
    .bind(description.flatten())
    .bind(db::now())
    .fetch_optional(db)
    .await
}

/// Marks the project deleted; `false` when there was nothing to delete.
pub async fn soft_delete_project(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update projects set deleted_at = $3, updated_at = $3
        where id = $1 and owner_id = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(owner_id)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}
