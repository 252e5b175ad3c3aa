//! The worker: claims due jobs, runs them with a lease heartbeat and a timeout, acks,
//! retries with backoff or fails them, and stops cleanly on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::registry::{Handler, Registry};
use super::{ClaimedJob, JobContext, JobError, Jobs, JobsError, metrics};
use crate::AppState;

/// Longest wait before a retry, however many attempts failed.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How often expired leases are swept and the queue depth sampled.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// One worker process's loop over the queue.
pub struct Worker {
    state: AppState,
    registry: Arc<Registry>,
    /// Marks the rows this worker holds, so shutdown can release exactly those.
    id: Uuid,
    concurrency: usize,
}

impl Worker {
    /// A worker for the jobs of `registry`, with `JOBS_CONCURRENCY` slots.
    pub fn new(state: AppState, registry: Registry) -> Self {
        let concurrency = state.config.jobs.concurrency;
        Self {
            state,
            registry: Arc::new(registry),
            id: Uuid::now_v7(),
            concurrency,
        }
    }

    /// Runs `concurrency` jobs at once instead of `JOBS_CONCURRENCY`.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// This worker's id, as stored in the `locked_by` column of the jobs it runs.
    pub fn id(&self) -> Uuid {
        self.id
    }

    fn jobs(&self) -> &Jobs {
        &self.state.jobs
    }

    /// Claims and runs jobs until `shutdown` resolves; then stops claiming, gives running
    /// jobs `SHUTDOWN_TIMEOUT_SECS` to finish and hands the rest back to the queue.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), JobsError> {
        let config = &self.state.config;
        let (poll_interval, grace) = (config.jobs.poll_interval, config.shutdown_timeout);
        let mut waiter = self.jobs().waiter().await?;
        let mut running = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
        // Every worker process runs the schedules; the queue keeps each tick to one job.
        let mut schedules = JoinSet::new();
        for schedule in self.registry.schedules() {
            schedules.spawn(schedule.clone().run(self.jobs().clone()));
        }
        tracing::info!(worker = %self.id, concurrency = self.concurrency, "job worker started");
        loop {
            while running.try_join_next().is_some() {}
            let free = self.concurrency - running.len();
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            running.spawn(execute(self.state.clone(), self.registry.clone(), job));
                        }
                    }
                    Err(error) => tracing::error!(%error, "claiming jobs failed"),
                }
            }
            // A full batch means more may be due: claim again at once while slots are free.
            if claimed == free && running.len() < self.concurrency {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                _ = upkeep.tick() => self.upkeep().await,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = waiter.wait(poll_interval), if running.len() < self.concurrency => {}
            }
        }
        schedules.abort_all();
        tracing::info!(running = running.len(), "job worker stopping");
        let drained = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
            let released = self.jobs().release(self.id).await?;
            tracing::warn!(
                released,
                "jobs did not finish within {grace:?}; handed back to the queue"
            );
        }
        Ok(())
    }

    /// Runs every job that is due now, one batch after another, until none is left; for
    /// tests and one-off maintenance. Returns how many jobs ran.
    pub async fn drain(&self) -> Result<usize, JobsError> {
        let mut ran = 0;
        loop {
            let jobs = self.claim(self.concurrency).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            ran += jobs.len();
            let mut running = JoinSet::new();
            for job in jobs {
                running.spawn(execute(self.state.clone(), self.registry.clone(), job));
            }
            while running.join_next().await.is_some() {}
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedJob>, JobsError> {
        let config = &self.state.config.jobs;
        self.jobs()
            .claim(self.id, &config.queues, limit, config.lease)
            .await
    }

    /// Returns the jobs of crashed workers to the queue and samples the queue depth.
    async fn upkeep(&self) {
        match self.jobs().sweep_expired().await {
            Ok(0) => {}
            Ok(swept) => tracing::warn!(swept, "took back jobs whose worker's lease expired"),
            Err(error) => tracing::error!(%error, "sweeping expired leases failed"),
        }
        match self.jobs().queue_depth().await {
            Ok(depths) => metrics::queue_depth(&depths),
            Err(error) => tracing::error!(%error, "reading the queue depth failed"),
        }
    }
}

/// Runs one claimed job to its end and records the outcome in the queue.
async fn execute(state: AppState, registry: Arc<Registry>, job: ClaimedJob) {
    let jobs = state.jobs.clone();
    let started = Instant::now();
    let span = tracing::info_span!("job", id = %job.id, name = %job.name, attempt = job.attempt);
    let outcome = match registry.get(&job.name) {
        // A worker of an older release may not know a job type yet: retry, so a newer
        // worker can take it, instead of failing it at once.
        None => Some(Err(JobError::Retry(format!(
            "this worker has no handler for job {:?}",
            job.name
        )))),
        Some(handler) => run(&state, handler, &job).await,
    };
    let _entered = span.enter();
    let Some(outcome) = outcome else {
        tracing::warn!("lease lost to another worker; not recording this run");
        return;
    };
    let elapsed = started.elapsed();
    let recorded = match outcome {
        Ok(()) => {
            tracing::debug!(?elapsed, "job completed");
            metrics::completed(&job, elapsed);
            jobs.complete(&job).await
        }
        Err(JobError::Retry(error)) if job.attempt < job.max_attempts => {
            let delay = backoff(job.attempt);
            tracing::warn!(%error, retry_in = ?delay, "job failed; will retry");
            metrics::retried(&job, elapsed);
            jobs.retry(&job, delay, &error).await
        }
        Err(JobError::Retry(error) | JobError::Permanent(error)) => {
            tracing::error!(%error, "job failed for good");
            metrics::failed(&job, elapsed);
            jobs.fail(&job, &error).await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!("lease lost to another worker; the outcome was dropped"),
        Err(error) => tracing::error!(%error, "recording the job's outcome failed"),
    }
}

/// Runs the job with its timeout, extending the lease every third of it meanwhile.
/// `None` when the lease was lost (another worker may be running the job now).
async fn run(state: &AppState, handler: Handler, job: &ClaimedJob) -> Option<Result<(), JobError>> {
    let ctx = JobContext {
        state: state.clone(),
        id: job.id,
        attempt: job.attempt,
    };
    let future = match (handler.run)(ctx, &job.payload) {
        Ok(future) => future,
        Err(error) => {
            return Some(Err(JobError::Permanent(format!(
                "the payload does not fit the job type: {error}"
            ))));
        }
    };
    // Its own task, so a panic in the job ends this attempt instead of the worker's task;
    // aborted when dropped (timeout, shutdown).
    let mut task = AbortOnDrop(tokio::spawn(future));
    let lease = state.config.jobs.lease;
    let mut heartbeat = tokio::time::interval(lease / 3);
    heartbeat.tick().await;
    let deadline = tokio::time::sleep(handler.timeout);
    let mut deadline = std::pin::pin!(deadline);
    loop {
        tokio::select! {
            joined = &mut task.0 => {
                return Some(joined.unwrap_or_else(|error| {
                    Err(JobError::Retry(if error.is_panic() {
                        "the job panicked".to_owned()
                    } else {
                        "the job was cancelled".to_owned()
                    }))
                }));
            }
            () = &mut deadline => {
                return Some(Err(JobError::Retry(format!(
                    "timed out after {:?}",
                    handler.timeout
                ))));
            }
            _ = heartbeat.tick() => match state.jobs.extend_lease(job, lease).await {
                Ok(true) => {}
                Ok(false) => return None,
                // Keep running: the next heartbeat may get through before the lease ends.
                Err(error) => tracing::warn!(%error, "extending a job's lease failed"),
            },
        }
    }
}

/// Exponential backoff with jitter: about 2, 4, 8, ... seconds (at most an hour), each
/// between half and all of that, so jobs that failed together do not retry together.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(2_u64.saturating_pow(attempt.min(20))).min(MAX_BACKOFF);
    let half = ceiling / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter)
}

/// A task handle that aborts the task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
