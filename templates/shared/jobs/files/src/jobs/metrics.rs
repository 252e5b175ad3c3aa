//! Prometheus series of the queue, served on `/metrics` with the HTTP ones.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use super::ClaimedJob;

/// `jobs_enqueued_total{queue, job}`.
pub(crate) fn enqueued(queue: &'static str, name: &'static str) {
    metrics::counter!("jobs_enqueued_total", "queue" => queue, "job" => name).increment(1);
}

/// `jobs_completed_total` and the run's `jobs_duration_seconds`.
pub(crate) fn completed(job: &ClaimedJob, elapsed: Duration) {
    finished("jobs_completed_total", job, elapsed);
}

/// `jobs_retried_total`: a failed attempt that will run again.
pub(crate) fn retried(job: &ClaimedJob, elapsed: Duration) {
    finished("jobs_retried_total", job, elapsed);
}

/// `jobs_failed_total`: a job that ended `failed`.
pub(crate) fn failed(job: &ClaimedJob, elapsed: Duration) {
    finished("jobs_failed_total", job, elapsed);
}

fn finished(counter: &'static str, job: &ClaimedJob, elapsed: Duration) {
    let labels = [("queue", job.queue.clone()), ("job", job.name.clone())];
    metrics::counter!(counter, &labels).increment(1);
    metrics::histogram!("jobs_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// `jobs_queue_depth{queue}`: jobs waiting (due or not), per queue.
pub(crate) fn queue_depth(depths: &[(String, i64)]) {
    // A queue that emptied is missing from the query's rows: report it as 0, not its
    // last value.
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for queue in seen.iter() {
        if !depths.iter().any(|(name, _)| name == queue) {
            metrics::gauge!("jobs_queue_depth", "queue" => queue.clone()).set(0.0);
        }
    }
    for (queue, depth) in depths {
        seen.insert(queue.clone());
        metrics::gauge!("jobs_queue_depth", "queue" => queue.clone()).set(*depth as f64);
    }
}
