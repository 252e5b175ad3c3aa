//! Job queue settings: where workers run, how many jobs at once, leases and polling.

use std::time::Duration;

use super::reader::EnvReader;

/// `JOBS_*` and the retention of the housekeeping jobs.
#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// `JOBS_IN_PROCESS`: `serve` also runs a worker (turn off when dedicated
    /// `worker` processes run).
    pub in_process: bool,
    /// `JOBS_CONCURRENCY`: jobs one worker process runs at once.
    pub concurrency: usize,
    /// `JOBS_LEASE_SECS`: how long a claimed job stays with its worker without a
    /// heartbeat; a crashed worker's jobs go to another worker after this.
    pub lease: Duration,
    /// `JOBS_POLL_INTERVAL_MS`: how often an idle worker looks for due jobs that no
    /// notification announced (retries, delayed jobs, other processes' jobs).
    pub poll_interval: Duration,
    /// `JOBS_QUEUES`: the queues this process's workers take jobs from (empty: all).
    pub queues: Vec<String>,
    /// `PROJECTS_PURGE_AFTER_DAYS`: soft-deleted projects are deleted for good after this.
    pub projects_purge_after: Duration,
}

/// Longest lease accepted, so a typo cannot park a crashed worker's jobs for days.
const MAX_LEASE_SECS: u64 = 3600;

impl JobsConfig {
    pub(crate) fn load(env: &mut EnvReader<'_>) -> Self {
        let concurrency = env.parse("JOBS_CONCURRENCY", 4_usize);
        if concurrency == 0 {
            env.problem("JOBS_CONCURRENCY must be greater than 0");
        }
        let lease = env.seconds("JOBS_LEASE_SECS", 60);
        // A heartbeat every third of the lease needs a lease of a few seconds.
        if !(3..=MAX_LEASE_SECS).contains(&lease.as_secs()) {
            env.problem(format!(
                "JOBS_LEASE_SECS must be between 3 and {MAX_LEASE_SECS}"
            ));
        }
        let poll_ms = env.parse("JOBS_POLL_INTERVAL_MS", 1000_u64);
        if poll_ms == 0 {
            env.problem("JOBS_POLL_INTERVAL_MS must be greater than 0");
        }
        let queues = env
            .get("JOBS_QUEUES")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|queue| !queue.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let purge_days = env.parse("PROJECTS_PURGE_AFTER_DAYS", 30_u64);
        if purge_days == 0 {
            env.problem("PROJECTS_PURGE_AFTER_DAYS must be greater than 0");
        }
        Self {
            in_process: env.parse("JOBS_IN_PROCESS", true),
            concurrency: concurrency.max(1),
            lease,
            poll_interval: Duration::from_millis(poll_ms.max(1)),
            queues,
            projects_purge_after: Duration::from_secs(purge_days.max(1) * 24 * 3600),
        }
    }
}
