//! What the admin API reads and changes in the queue table.

use uuid::Uuid;

use super::{Jobs, JobsError};
use crate::db;
use crate::http::jobs::{JobFilter, JobRecord};

impl Jobs {
    /// One page of jobs matching `filter`, newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, JobsError> {
        Ok(sqlx::query_as::<_, JobRecord>(
            "select id, queue, name, state, payload, attempts, max_attempts, run_at,
                last_error, created_at, updated_at
            from jobs
            where ($1 is null or state = $1) and ($2 is null or queue = $2)
            order by created_at desc, id desc
            limit $3 offset $4",
        )
        .bind(filter.state.map(|state| state.as_str()))
        .bind(filter.queue.as_deref())
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(&self.db)
        .await?)
    }

    /// How many jobs match `filter`.
    pub async fn count_jobs(&self, filter: &JobFilter) -> Result<i64, JobsError> {
        Ok(sqlx::query_scalar(
            "select count(*) from jobs
            where ($1 is null or state = $1) and ($2 is null or queue = $2)",
        )
        .bind(filter.state.map(|state| state.as_str()))
        .bind(filter.queue.as_deref())
        .fetch_one(&self.db)
        .await?)
    }

    /// The job, if it exists (completed jobs do not).
    pub async fn find_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        Ok(sqlx::query_as::<_, JobRecord>(
            "select id, queue, name, state, payload, attempts, max_attempts, run_at,
                last_error, created_at, updated_at
            from jobs where id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?)
    }

    /// Queues a failed job again with fresh attempts; `None` when it is not `failed`.
    /// Its last error stays until the next run replaces it.
    pub async fn retry_failed_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        let job = sqlx::query_as::<_, JobRecord>(
            "update jobs set state = 'queued', attempts = 0, run_at = $2, updated_at = $2
            where id = $1 and state = 'failed'
            returning id, queue, name, state, payload, attempts, max_attempts, run_at,
                last_error, created_at, updated_at",
        )
        .bind(id)
        .bind(db::now())
        .fetch_optional(&self.db)
        .await
        .map_err(|error| match error {
            // The unique index: another job with this key is queued or running.
            sqlx::Error::Database(error) if error.is_unique_violation() => {
                JobsError::UniqueKeyTaken
            }
            other => JobsError::Database(other),
        })?;
        if job.is_some() {
            self.wake.notify_one();
        }
        Ok(job)
    }

    /// Cancels a queued job; `None` when it is not `queued`.
    pub async fn cancel_queued_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        Ok(sqlx::query_as::<_, JobRecord>(
            "update jobs set state = 'cancelled', updated_at = $2
            where id = $1 and state = 'queued'
            returning id, queue, name, state, payload, attempts, max_attempts, run_at,
                last_error, created_at, updated_at",
        )
        .bind(id)
        .bind(db::now())
        .fetch_optional(&self.db)
        .await?)
    }
}
