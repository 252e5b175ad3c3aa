//! What a job is: a serde payload with a name, and how its run ends.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::AppState;

/// A unit of background work: its fields are the payload stored with the queued row.
///
/// List each job type once in `src/jobs/registry.rs` (`registry.handle::<MyJob>()`);
/// the worker looks the handler up by [`Job::NAME`], so renaming a job type is safe but
/// changing `NAME` strands the rows already queued under the old one.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored with the row; the registry dispatches on it.
    const NAME: &'static str;
    /// Which queue the job waits in (workers can be limited to some queues).
    const QUEUE: &'static str = "default";
    /// Runs before the job ends `failed`, counting the first.
    const MAX_ATTEMPTS: u32 = 5;
    /// A run taking longer is cancelled and counts as a failed attempt.
    const TIMEOUT: Duration = Duration::from_secs(300);

    /// Jobs with the same key are not queued twice: enqueueing one while another with the
    /// same name and key is queued or running returns the existing job's id.
    fn unique_key(&self) -> Option<String> {
        None
    }

    /// Does the work. Delivery is at least once: a run may repeat after a crash, so make
    /// it idempotent (or check in the database whether it already happened).
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a running job knows about itself.
#[derive(Clone)]
pub struct JobContext {
    /// The application state, as handlers get it.
    pub state: AppState,
    /// The job's id (the one `enqueue` returned).
    pub id: Uuid,
    /// Which run this is, starting at 1.
    pub attempt: u32,
}

/// How a run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again: retried with exponential backoff and jitter until
    /// [`Job::MAX_ATTEMPTS`], then the job ends `failed` with this message.
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (bad input, a refused request): the job ends `failed` at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A retryable error from anything displayable.
    pub fn retry(error: impl std::fmt::Display) -> Self {
        Self::Retry(error.to_string())
    }

    /// A permanent error from anything displayable.
    pub fn permanent(error: impl std::fmt::Display) -> Self {
        Self::Permanent(error.to_string())
    }
}

/// A database error is usually passing (a lost connection, a lock timeout): retry.
impl From<sqlx::Error> for JobError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry(format!("database error: {error}"))
    }
}

/// A job a worker has claimed: its row, as the queue hands it out.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    /// The job's id.
    pub id: Uuid,
    /// [`Job::NAME`] of its type.
    pub name: String,
    /// [`Job::QUEUE`] of its type.
    pub queue: String,
    /// The JSON payload.
    pub payload: String,
    /// This run, starting at 1; also fences acks of a run whose lease was lost.
    pub attempt: u32,
    /// Runs allowed in total.
    pub max_attempts: u32,
}
