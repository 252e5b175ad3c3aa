//! Cron schedules: each tick enqueues its job once, however many processes run workers.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use time::OffsetDateTime;

use super::{Job, Jobs, JobsError};

/// Enqueues a schedule's job for one tick; `false` when another process already did.
type EnqueueTick = Arc<
    dyn Fn(
            Jobs,
            &'static str,
            OffsetDateTime,
        ) -> Pin<Box<dyn Future<Output = Result<bool, JobsError>> + Send>>
        + Send
        + Sync,
>;

/// A job enqueued on a cron schedule (UTC).
#[derive(Clone)]
pub struct Schedule {
    /// Names the schedule in logs and in the ticks the queue records.
    pub name: &'static str,
    cron: cron::Schedule,
    enqueue: EnqueueTick,
}

impl Schedule {
    /// `job` on `expression`: six or seven fields, seconds first
    /// (`"0 30 3 * * *"` is 03:30:00 UTC every day).
    pub fn new<J: Job + Clone>(
        name: &'static str,
        expression: &str,
        job: J,
    ) -> Result<Self, cron::error::Error> {
        let job = Arc::new(job);
        let enqueue: EnqueueTick = Arc::new(move |jobs: Jobs, name, tick| {
            let job = job.clone();
            Box::pin(async move { jobs.enqueue_tick(name, tick, job.as_ref()).await })
        });
        Ok(Self {
            name,
            cron: cron::Schedule::from_str(expression)?,
            enqueue,
        })
    }

    /// The first tick after `after`.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let after = DateTime::<Utc>::from_timestamp(after.unix_timestamp(), 0)?;
        let next = self.cron.after(&after).next()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }

    /// Enqueues the job of every tick from now on, until the task is dropped. Ticks
    /// missed while no process ran are not made up for.
    pub(crate) async fn run(self, jobs: Jobs) {
        let mut cursor = OffsetDateTime::now_utc();
        while let Some(tick) = self.next_after(cursor) {
            let wait = tick - OffsetDateTime::now_utc();
            tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
            match (self.enqueue)(jobs.clone(), self.name, tick).await {
                Ok(true) => tracing::info!(schedule = self.name, %tick, "scheduled job enqueued"),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(%error, schedule = self.name, "enqueueing a scheduled job failed")
                }
            }
            cursor = tick;
        }
    }
}
