//! Job DTOs of the admin API, the list filter and row mapping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::{DbRow, decode_enum};
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};
use crate::http::pagination::Pagination;

/// Where a job is in its life (completed jobs are deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its time or a free worker.
    Queued,
    /// Claimed by a worker, under a lease.
    Running,
    /// Out of attempts, or failed permanently; `last_error` says why.
    Failed,
    /// Cancelled by an admin before it ran.
    Cancelled,
}

impl JobState {
    /// The value stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(()),
        }
    }
}

/// A job as the admin API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobRecord {
    /// Job id.
    pub id: Uuid,
    /// Queue it waits in.
    pub queue: String,
    /// Job type (`Job::NAME`).
    pub name: String,
    /// Where it is in its life.
    pub state: JobState,
    /// The job's fields.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Runs started so far.
    pub attempts: i32,
    /// Runs allowed in total.
    pub max_attempts: i32,
    /// When it is due (next run, for a queued job).
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    /// The error of the last failed run.
    pub last_error: Option<String>,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, DbRow> for JobRecord {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        let payload: String = row.try_get("payload")?;
        Ok(Self {
            id: row.try_get("id")?,
            queue: row.try_get("queue")?,
            name: row.try_get("name")?,
            state: decode_enum(row, "state")?,
            // Written by the queue with serde_json: a row that does not parse shows as text.
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            run_at: row.try_get("run_at")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Which jobs to list, and which page.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this queue.
    #[param(max_length = 100)]
    pub queue: Option<String>,
    /// Items per page (1 to 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: i64,
    /// Items to skip.
    #[serde(default)]
    #[param(minimum = 0, default = 0)]
    pub offset: i64,
}

fn default_limit() -> i64 {
    20
}

impl Validate for JobFilter {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let page = Pagination {
            limit: self.limit,
            offset: self.offset,
        };
        let mut errors = page.validate().err().unwrap_or_default();
        if let Some(queue) = &self.queue {
            let checked = Checks::default()
                .length(queue, &["query", "queue"], 1, 100)
                .finish();
            errors.extend(checked.err().unwrap_or_default());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
