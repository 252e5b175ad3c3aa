//! SQL for files. Every query is scoped to the owner and skips soft-deleted rows.

use uuid::Uuid;

use super::model::{File, FileState};
use crate::db::{self, DbPool};

/// A new file row.
pub struct NewFile<'a> {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub object_key: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: Option<&'a str>,
    pub state: FileState,
}

/// Creates a file row.
pub async fn insert_file(db: &DbPool, file: NewFile<'_>) -> Result<File, sqlx::Error> {
    let now = db::now();
    sqlx::query_as::<_, File>(
        "insert into files (id, owner_id, object_key, filename, content_type, size_bytes,
            sha256, state, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
        returning id, owner_id, object_key, filename, content_type, size_bytes, sha256,
            state, created_at, updated_at",
    )
    .bind(file.id)
    .bind(file.owner_id)
    .bind(file.object_key)
    .bind(file.filename)
    .bind(file.content_type)
    .bind(file.size_bytes)
    .bind(file.sha256)
    .bind(file.state.as_str())
    .bind(now)
    .fetch_one(db)
    .await
}

/// One page of the owner's files, newest first.
pub async fn list_files_by_owner(
    db: &DbPool,
    owner_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<File>, sqlx::Error> {
    sqlx::query_as::<_, File>(
        "select id, owner_id, object_key, filename, content_type, size_bytes, sha256,
            state, created_at, updated_at
        from files
        where owner_id = $1 and deleted_at is null
        order by created_at desc, id desc
        limit $2 offset $3",
    )
    .bind(owner_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many files [`list_files_by_owner`] would return without paging.
pub async fn count_files_by_owner(db: &DbPool, owner_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from files where owner_id = $1 and deleted_at is null")
        .bind(owner_id)
        .fetch_one(db)
        .await
}

/// Bytes the owner's files take, pending uploads counted at their declared size.
pub async fn used_bytes_by_owner(db: &DbPool, owner_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select cast(coalesce(sum(size_bytes), 0) as bigint) from files
        where owner_id = $1 and deleted_at is null",
    )
    .bind(owner_id)
    .fetch_one(db)
    .await
}

/// The file, if it exists, belongs to `owner_id` and is not deleted.
pub async fn find_file_by_id(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Option<File>, sqlx::Error> {
    sqlx::query_as::<_, File>(
        "select id, owner_id, object_key, filename, content_type, size_bytes, sha256,
            state, created_at, updated_at
        from files
        where id = $1 and owner_id = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(owner_id)
    .fetch_optional(db)
    .await
}

/// Marks a pending file ready; `None` when it is not pending (any more).
pub async fn mark_file_ready(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Option<File>, sqlx::Error> {
    sqlx::query_as::<_, File>(
        "update files set state = 'ready', updated_at = $3
        where id = $1 and owner_id = $2 and state = 'pending' and deleted_at is null
        returning id, owner_id, object_key, filename, content_type, size_bytes, sha256,
            state, created_at, updated_at",
    )
    .bind(id)
    .bind(owner_id)
    .bind(db::now())
    .fetch_optional(db)
    .await
}

/// Soft-deletes the file; returns its object key, `None` when not found.
pub async fn soft_delete_file(
    db: &DbPool,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "update files set deleted_at = $3, updated_at = $3
        where id = $1 and owner_id = $2 and deleted_at is null
        returning object_key",
    )
    .bind(id)
    .bind(owner_id)
    .bind(db::now())
    .fetch_optional(db)
    .await
}
