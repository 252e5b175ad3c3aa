//! The queue in Redis: every change is one atomic Lua script (`queue.lua`); idle workers
//! wake on a pub/sub message; jobs enqueued inside a database transaction go through an
//! outbox table and are handed to Redis after the commit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::Script;
use redis::aio::{ConnectionManager, PubSub};
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{ClaimedJob, Job, JobsError, metrics};
use crate::db::{self, DbConn, DbPool, DbRow};
use crate::redis_connection::RedisConnection;

/// Outbox rows handed over per round.
const RELAY_BATCH: i64 = 100;

/// The queue handle in `AppState::jobs`; cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    pub(super) db: DbPool,
    pub(super) redis: RedisConnection,
    pub(super) script: Arc<Script>,
    /// Wakes this process's idle worker at once after an enqueue through this handle.
    pub(super) wake: Arc<Notify>,
}

/// What the enqueue script answered.
enum Enqueued {
    /// Queued now.
    Queued(Uuid),
    /// The job holding the unique key, or the earlier hand-over of an outbox row.
    Existing(Uuid),
    /// The schedule tick was enqueued by another process.
    TickTaken,
}

impl Jobs {
    /// The queue on `redis`; `db` holds the outbox of transactional enqueues.
    pub fn new(db: DbPool, redis: RedisConnection) -> Self {
        Self {
            db,
            redis,
            script: Arc::new(Script::new(include_str!("queue.lua"))),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Queues `job` to run as soon as a worker is free; returns its id (or, with a
    /// [`Job::unique_key`] already queued or running, that job's id).
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<Uuid, JobsError> {
        self.push(job, None, None).await.map(Enqueued::id)
    }

    /// Queues `job` to run after `delay`.
    pub async fn enqueue_in<J: Job>(&self, job: &J, delay: Duration) -> Result<Uuid, JobsError> {
        self.enqueue_at(job, db::now() + delay).await
    }

    /// Queues `job` to run at `at` (or at once, when `at` has passed).
    pub async fn enqueue_at<J: Job>(&self, job: &J, at: OffsetDateTime) -> Result<Uuid, JobsError> {
        self.push(job, Some(at), None).await.map(Enqueued::id)
    }

    async fn push<J: Job>(
        &self,
        job: &J,
        at: Option<OffsetDateTime>,
        tick: Option<String>,
    ) -> Result<Enqueued, JobsError> {
        let payload = serde_json::to_string(job)?;
        let row = OutboxRow {
            id: Uuid::now_v7(),
            queue: J::QUEUE.to_owned(),
            name: J::NAME.to_owned(),
            payload,
            max_attempts: i32::try_from(J::MAX_ATTEMPTS.max(1)).unwrap_or(i32::MAX),
            run_at: at,
            unique_key: job.unique_key(),
        };
        let enqueued = self.push_row(&row, tick, false).await?;
        if matches!(enqueued, Enqueued::Queued(_)) {
            metrics::enqueued(J::QUEUE, J::NAME);
            self.wake.notify_one();
        }
        Ok(enqueued)
    }

    async fn push_row(
        &self,
        row: &OutboxRow,
        tick: Option<String>,
        relayed: bool,
    ) -> Result<Enqueued, JobsError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .arg("enqueue")
            .arg(self.base())
            .arg(row.id.to_string())
            .arg(&row.queue)
            .arg(&row.name)
            .arg(&row.payload)
            .arg(row.max_attempts)
            .arg(row.run_at.map(millis).unwrap_or_default())
            .arg(row.unique_key.as_deref().unwrap_or_default())
            .arg(tick.unwrap_or_default())
            .arg(u8::from(relayed));
        let mut connection = self.connection().await?;
        let (outcome, id): (i64, String) = invocation.invoke_async(&mut connection).await?;
        let id = || Uuid::parse_str(&id).map_err(|_| corrupt("enqueue answered no job id"));
        Ok(match outcome {
            0 => Enqueued::TickTaken,
            1 => Enqueued::Queued(id()?),
            _ => Enqueued::Existing(id()?),
        })
    }

    // The worker's side of the queue, public for tests and tools.

    /// Claims up to `limit` due jobs for `worker`, leased for `lease`.
    pub async fn claim(
        &self,
        worker: Uuid,
        queues: &[String],
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, JobsError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .arg("claim")
            .arg(self.base())
            .arg(worker.to_string())
            .arg(limit)
            .arg(lease_millis(lease))
            .arg(queues);
        let mut connection = self.connection().await?;
        let rows: Vec<(String, String, String, String, i64, i64)> =
            invocation.invoke_async(&mut connection).await?;
        rows.into_iter()
            .map(|(id, name, queue, payload, attempt, max_attempts)| {
                Ok(ClaimedJob {
                    id: Uuid::parse_str(&id).map_err(|_| corrupt("a claimed job has no id"))?,
                    name,
                    queue,
                    payload,
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    max_attempts: u32::try_from(max_attempts).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Removes a completed job. `false` when this run no longer holds the job.
    pub async fn complete(&self, job: &ClaimedJob) -> Result<bool, JobsError> {
        self.run_held("complete", job, &[]).await
    }

    /// Queues the job again after `delay`, keeping `error`.
    pub async fn retry(
        &self,
        job: &ClaimedJob,
        delay: Duration,
        error: &str,
    ) -> Result<bool, JobsError> {
        let delay = lease_millis(delay).to_string();
        self.run_held("retry", job, &[&delay, error]).await
    }

    /// Ends the job `failed`, keeping `error`.
    pub async fn fail(&self, job: &ClaimedJob, error: &str) -> Result<bool, JobsError> {
        self.run_held("fail", job, &[error]).await
    }

    /// Extends the lease of a running job; `false` when the lease was lost.
    pub async fn extend_lease(&self, job: &ClaimedJob, lease: Duration) -> Result<bool, JobsError> {
        let lease = lease_millis(lease).to_string();
        self.run_held("extend", job, &[&lease]).await
    }

    /// Runs `op` on a job this run holds (the attempt fences a lost lease's late acks).
    async fn run_held(&self, op: &str, job: &ClaimedJob, args: &[&str]) -> Result<bool, JobsError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .arg(op)
            .arg(self.base())
            .arg(job.id.to_string())
            .arg(job.attempt)
            .arg(args);
        let mut connection = self.connection().await?;
        let held: i64 = invocation.invoke_async(&mut connection).await?;
        Ok(held == 1)
    }

    /// Hands the running jobs of `worker` back to the queue (shutdown), without counting
    /// the interrupted run as an attempt.
    pub async fn release(&self, worker: Uuid) -> Result<u64, JobsError> {
        self.run_count("release", Some(worker)).await
    }

    /// Takes back the jobs of workers whose lease expired (crashed or cut off): queued
    /// again at once, or `failed` when that was their last attempt.
    pub async fn sweep_expired(&self) -> Result<u64, JobsError> {
        self.run_count("sweep", None).await
    }

    async fn run_count(&self, op: &str, worker: Option<Uuid>) -> Result<u64, JobsError> {
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(op).arg(self.base());
        if let Some(worker) = worker {
            invocation.arg(worker.to_string());
        }
        let mut connection = self.connection().await?;
        let count: u64 = invocation.invoke_async(&mut connection).await?;
        Ok(count)
    }

    /// Enqueues `job` for the `tick` of `schedule` unless a process already did: the tick
    /// is taken with `SET NX` in the same script. `true` when enqueued here.
    pub async fn enqueue_tick<J: Job>(
        &self,
        schedule: &str,
        tick: OffsetDateTime,
        job: &J,
    ) -> Result<bool, JobsError> {
        let tick = format!("{schedule}:{}", tick.unix_timestamp());
        let enqueued = self.push(job, None, Some(tick)).await?;
        Ok(!matches!(enqueued, Enqueued::TickTaken))
    }

    /// Queued jobs per queue (due and delayed), for the `jobs_queue_depth` gauge.
    pub async fn queue_depth(&self) -> Result<Vec<(String, i64)>, JobsError> {
        let mut connection = self.connection().await?;
        let queues: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.key("queues"))
            .query_async(&mut connection)
            .await?;
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for queue in &queues {
            pipe.zcard(self.key(&format!("queued:{queue}")));
        }
        let depths: Vec<i64> = pipe.query_async(&mut connection).await?;
        Ok(queues.into_iter().zip(depths).collect())
    }

    /// What an idle worker waits on for new jobs.
    pub async fn waiter(&self) -> Result<Waiter, JobsError> {
        let mut waiter = Waiter {
            jobs: self.clone(),
            pubsub: None,
            last_relay: None,
        };
        waiter.subscribe().await?;
        Ok(waiter)
    }

    /// Hands the jobs enqueued in committed transactions ([`enqueue_in_tx`]) over to
    /// Redis; returns how many. Workers do this every `JOBS_POLL_INTERVAL_MS`; call it
    /// after a commit for the jobs to run at once.
    pub async fn flush_outbox(&self) -> Result<usize, JobsError> {
        let mut moved = 0;
        loop {
            let rows = sqlx::query_as::<_, OutboxRow>(
                "select id, queue, name, payload, max_attempts, run_at, unique_key
                from job_outbox order by created_at, id limit $1",
            )
            .bind(RELAY_BATCH)
            .fetch_all(&self.db)
            .await?;
            for row in &rows {
                // A row handed over before (the delete below failed) is not queued twice.
                self.push_row(row, None, true).await?;
                sqlx::query("delete from job_outbox where id = $1")
                    .bind(row.id)
                    .execute(&self.db)
                    .await?;
            }
            moved += rows.len();
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < RELAY_BATCH {
                if moved > 0 {
                    self.wake.notify_one();
                }
                return Ok(moved);
            }
        }
    }

    /// `<REDIS_KEY_PREFIX>:jobs`, the prefix of every key of the queue.
    pub(super) fn base(&self) -> String {
        self.redis.key("jobs")
    }

    /// A key of the queue.
    pub(super) fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.base())
    }

    pub(super) async fn connection(&self) -> Result<ConnectionManager, JobsError> {
        Ok(self.redis.connection().await?)
    }
}

impl Enqueued {
    fn id(self) -> Uuid {
        match self {
            Self::Queued(id) | Self::Existing(id) => id,
            // Only schedule ticks are refused, and they do not ask for an id.
            Self::TickTaken => Uuid::nil(),
        }
    }
}

/// Wakes an idle worker: on an enqueue through this process's [`Jobs`], a message on
/// `<prefix>:jobs:wake` from any process, or after the poll interval; every poll interval
/// it also hands the outbox over.
pub struct Waiter {
    jobs: Jobs,
    pubsub: Option<PubSub>,
    last_relay: Option<Instant>,
}

impl Waiter {
    /// Returns when a job may be waiting, or after `poll_interval`.
    pub async fn wait(&mut self, poll_interval: Duration) {
        self.relay_when_due(poll_interval).await;
        if self.pubsub.is_none()
            && let Err(error) = self.subscribe().await
        {
            tracing::warn!(%error, "job wake-ups unavailable; polling");
        }
        let wake = &self.jobs.wake;
        let lost = match &mut self.pubsub {
            Some(pubsub) => {
                let mut messages = pubsub.on_message();
                tokio::select! {
                    message = messages.next() => message.is_none(),
                    () = wake.notified() => false,
                    () = tokio::time::sleep(poll_interval) => false,
                }
            }
            None => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(poll_interval) => {}
                }
                false
            }
        };
        if lost {
            // The connection dropped; subscribe again on the next wait.
            self.pubsub = None;
            tracing::warn!("job wake-ups interrupted; resubscribing");
        }
    }

    async fn subscribe(&mut self) -> Result<(), JobsError> {
        let mut pubsub = self.jobs.redis.pubsub().await?;
        pubsub.subscribe(self.jobs.key("wake")).await?;
        self.pubsub = Some(pubsub);
        Ok(())
    }

    /// Hands the outbox over once per `poll_interval`, however often the worker waits.
    async fn relay_when_due(&mut self, poll_interval: Duration) {
        if self
            .last_relay
            .is_some_and(|at| at.elapsed() < poll_interval)
        {
            return;
        }
        self.last_relay = Some(Instant::now());
        if let Err(error) = self.jobs.flush_outbox().await {
            tracing::error!(%error, "handing the job outbox over to Redis failed");
        }
    }
}

/// Queues `job` inside the caller's transaction (`jobs::enqueue_in_tx(&mut tx, &job)`):
/// the job exists only if the transaction commits.
///
/// Redis cannot take part in a database transaction, so the job is written to the
/// `job_outbox` table with the transaction, and handed over to Redis after the commit:
/// by [`Jobs::flush_outbox`] (call it after `commit` to run the job at once) or by the
/// workers within `JOBS_POLL_INTERVAL_MS`. The returned id is the job's id in Redis.
pub async fn enqueue_in_tx<J: Job>(conn: &mut DbConn, job: &J) -> Result<Uuid, JobsError> {
    enqueue_at_in_tx(conn, job, db::now()).await
}

/// [`enqueue_in_tx`] for a job that runs at `at`.
pub async fn enqueue_at_in_tx<J: Job>(
    conn: &mut DbConn,
    job: &J,
    at: OffsetDateTime,
) -> Result<Uuid, JobsError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into job_outbox (id, queue, name, payload, max_attempts, run_at, unique_key,
            created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(J::QUEUE)
    .bind(J::NAME)
    .bind(serde_json::to_string(job)?)
    .bind(i32::try_from(J::MAX_ATTEMPTS.max(1)).unwrap_or(i32::MAX))
    .bind(at)
    .bind(job.unique_key())
    .bind(db::now())
    .execute(&mut *conn)
    .await?;
    metrics::enqueued(J::QUEUE, J::NAME);
    Ok(id)
}

/// A job on its way to Redis: an outbox row, or the fields of a direct enqueue.
struct OutboxRow {
    id: Uuid,
    queue: String,
    name: String,
    payload: String,
    max_attempts: i32,
    /// `None`: now, by Redis's clock.
    run_at: Option<OffsetDateTime>,
    unique_key: Option<String>,
}

impl<'r> sqlx::FromRow<'r, DbRow> for OutboxRow {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("id")?,
            queue: row.try_get("queue")?,
            name: row.try_get("name")?,
            payload: row.try_get("payload")?,
            max_attempts: row.try_get("max_attempts")?,
            run_at: Some(row.try_get("run_at")?),
            unique_key: row.try_get("unique_key")?,
        })
    }
}

impl From<redis::RedisError> for JobsError {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(error)
    }
}

/// Milliseconds since the epoch, as the queue stores times.
pub(super) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A duration in whole milliseconds (at least 1).
fn lease_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// An answer of the queue that breaks its own rules (keys edited by hand).
pub(super) fn corrupt(what: &'static str) -> JobsError {
    JobsError::Redis(std::io::Error::other(what).into())
}
