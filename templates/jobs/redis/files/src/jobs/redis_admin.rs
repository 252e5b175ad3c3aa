//! What the admin API reads and changes in the queue: pages of the state and queue
//! indexes, job hashes, and the `retry_failed` and `cancel` operations of `queue.lua`.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::redis_queue::corrupt;
use super::{Jobs, JobsError};
use crate::http::jobs::{JobFilter, JobRecord, JobState};

impl Jobs {
    /// One page of jobs matching `filter`, newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, JobsError> {
        let start = isize::try_from(filter.offset).unwrap_or(isize::MAX);
        let stop = start.saturating_add(isize::try_from(filter.limit).unwrap_or(0) - 1);
        let mut connection = self.connection().await?;
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.index(filter))
            .arg(start)
            .arg(stop)
            .query_async(&mut connection)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(self.key(&format!("job:{id}")));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut connection).await?;
        ids.iter()
            .zip(hashes)
            // A job completing between the two reads is gone: leave it out.
            .filter(|(_, fields)| !fields.is_empty())
            .map(|(id, fields)| record(id, &fields))
            .collect()
    }

    /// How many jobs match `filter`.
    pub async fn count_jobs(&self, filter: &JobFilter) -> Result<i64, JobsError> {
        let mut connection = self.connection().await?;
        Ok(redis::cmd("ZCARD")
            .arg(self.index(filter))
            .query_async(&mut connection)
            .await?)
    }

    /// The job, if it exists (completed jobs do not).
    pub async fn find_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        let mut connection = self.connection().await?;
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&format!("job:{id}")))
            .query_async(&mut connection)
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        record(&id.to_string(), &fields).map(Some)
    }

    /// Queues a failed job again with fresh attempts; `None` when it is not `failed`.
    /// Its last error stays until the next run replaces it.
    pub async fn retry_failed_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        match self.admin_op("retry_failed", id).await? {
            1 => {
                self.wake.notify_one();
                self.find_job(id).await
            }
            -1 => Err(JobsError::UniqueKeyTaken),
            _ => Ok(None),
        }
    }

    /// Cancels a queued job; `None` when it is not `queued`.
    pub async fn cancel_queued_job(&self, id: Uuid) -> Result<Option<JobRecord>, JobsError> {
        match self.admin_op("cancel", id).await? {
            1 => self.find_job(id).await,
            _ => Ok(None),
        }
    }

    async fn admin_op(&self, op: &str, id: Uuid) -> Result<i64, JobsError> {
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(op).arg(self.base()).arg(id.to_string());
        let mut connection = self.connection().await?;
        Ok(invocation.invoke_async(&mut connection).await?)
    }

    /// The index holding the jobs `filter` asks for, by creation time.
    fn index(&self, filter: &JobFilter) -> String {
        self.key(&match (filter.state, &filter.queue) {
            (Some(state), Some(queue)) => format!("idx:sq:{state}:{queue}"),
            (Some(state), None) => format!("idx:s:{state}"),
            (None, Some(queue)) => format!("idx:q:{queue}"),
            (None, None) => "idx:all".to_owned(),
        })
    }
}

/// A job hash as the admin API shows it.
fn record(id: &str, fields: &HashMap<String, String>) -> Result<JobRecord, JobsError> {
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let number = |name: &str| fields.get(name).and_then(|value| value.parse::<i64>().ok());
    let time = |name: &str| {
        number(name)
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .ok_or_else(|| corrupt("a job hash has no valid time"))
    };
    let payload = text("payload");
    Ok(JobRecord {
        id: Uuid::parse_str(id).map_err(|_| corrupt("a job id is not a UUID"))?,
        queue: text("queue"),
        name: text("name"),
        state: text("state")
            .parse::<JobState>()
            .map_err(|()| corrupt("a job hash has no valid state"))?,
        // Written by the queue with serde_json: a hash that does not parse shows as text.
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
        attempts: number("attempts")
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0),
        max_attempts: number("max_attempts")
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0),
        run_at: time("run_at")?,
        last_error: fields.get("last_error").cloned(),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}
