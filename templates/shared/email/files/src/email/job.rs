//! Mail leaves through the job queue: a provider outage delays a message instead of failing
//! the request that caused it, and the error's classification decides whether it is retried.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Email, EmailError, EmailTemplate};
use crate::jobs::{Job, JobContext, JobError};

/// Sends one message with the app's mailer; queue it with `state.jobs.enqueue(&job)` (or
/// in the transaction of the change that causes it, where the queue supports that).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SendEmail {
    /// Rendered by the worker, with the templates and settings of the release running it.
    Template {
        /// Recipient address.
        to: String,
        /// The message and its data.
        template: EmailTemplate,
    },
    /// Sent as it is.
    Rendered {
        /// The finished message.
        email: Email,
    },
}

impl SendEmail {
    /// A message rendered from `template` when the job runs.
    pub fn template(to: impl Into<String>, template: EmailTemplate) -> Self {
        Self::Template {
            to: to.into(),
            template,
        }
    }

    /// A message already rendered.
    pub fn rendered(email: Email) -> Self {
        Self::Rendered { email }
    }
}

impl Job for SendEmail {
    const NAME: &'static str = "send_email";
    /// Its own queue, so a backlog of mail never delays other jobs (and dedicated workers
    /// can take it with `JOBS_QUEUES=email`).
    const QUEUE: &'static str = "email";
    /// With the queue's backoff (about 2, 4, 8, ... seconds) this rides out roughly eight
    /// minutes of provider outage before the job ends `failed`.
    const MAX_ATTEMPTS: u32 = 8;
    const TIMEOUT: Duration = Duration::from_secs(60);

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let email = match self {
            // A template that fails to render fails the same way every time.
            Self::Template { to, template } => template
                .render(&to, &ctx.state.config.email.site)
                .map_err(JobError::permanent)?,
            Self::Rendered { email } => email,
        };
        ctx.state
            .mailer
            .send(&email)
            .await
            .map_err(|error| match error {
                EmailError::Transient(_) => JobError::retry(error),
                EmailError::Permanent(_) => JobError::permanent(error),
            })?;
        tracing::info!(template = %email.template, attempt = ctx.attempt, "email sent");
        Ok(())
    }
}
