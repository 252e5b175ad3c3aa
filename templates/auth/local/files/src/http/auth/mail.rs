//! The mail of local accounts: links carrying single-use tokens, queued as `SendEmail` jobs
//! in the transaction of the change that causes them (no mail for a change rolled back;
//! every jobs provider offers `enqueue_in_tx`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo::{self, TokenPurpose};
use crate::auth::refresh;
use crate::db::{self, Db, DbConn};
use crate::email::{EmailTemplate, SendEmail};
use crate::jobs::{Job, JobContext, JobError, enqueue_in_tx};
use crate::{AppState, Result};

/// An open transaction on the app's database.
pub(super) type Tx = sqlx::Transaction<'static, Db>;

/// Commits `tx` and queues `mail`, so that the message goes out only for a change that
/// committed.
pub(super) async fn commit_with(mut tx: Tx, mail: &SendEmail) -> Result<()> {
    enqueue_in_tx(&mut tx, mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a new token for `purpose` and returns the message carrying its link.
pub(super) async fn link_mail(
    state: &AppState,
    conn: &mut DbConn,
    user_id: Uuid,
    email: &str,
    purpose: TokenPurpose,
) -> Result<SendEmail> {
    let settings = &state.config.local_auth;
    let (token, hash) = refresh::generate();
    let (ttl, path) = match purpose {
        TokenPurpose::VerifyEmail => (settings.email_verification_ttl, "verify-email"),
        TokenPurpose::PasswordReset => (settings.password_reset_ttl, "reset-password"),
    };
    repo::insert_account_token(conn, user_id, purpose, &hash, db::now() + ttl).await?;
    let link = format!("{}/{path}?token={token}", state.config.email.site.app_url);
    let template = match purpose {
        TokenPurpose::VerifyEmail => EmailTemplate::VerifyEmail {
            link,
            expires_in_hours: ttl.as_secs().div_ceil(3600),
        },
        TokenPurpose::PasswordReset => EmailTemplate::PasswordReset {
            link,
            expires_in_minutes: ttl.as_secs().div_ceil(60),
        },
    };
    Ok(SendEmail::template(email, template))
}

/// Which link an owner asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRequest {
    /// A new email verification link.
    Verification,
    /// A password-reset link.
    PasswordReset,
}

/// Mails a link to the owner of `email`, if there is one that may get it.
///
/// The endpoints that take an address queue this job and answer at once, whether or not an
/// account has it: the lookup, the token and the mail happen here, so neither the answer nor
/// its timing tells an account exists, and a failing mail provider changes nothing either.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailAccountLink {
    /// The address, lowercased.
    pub email: String,
    /// Which link.
    pub link: LinkRequest,
}

impl Job for MailAccountLink {
    const NAME: &'static str = "mail_account_link";
    const QUEUE: &'static str = "email";
    const MAX_ATTEMPTS: u32 = 5;
    const TIMEOUT: Duration = Duration::from_secs(30);

    /// Asking again while a request is queued does not mail twice.
    fn unique_key(&self) -> Option<String> {
        Some(format!("{:?}:{}", self.link, self.email))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let state = &ctx.state;
        let Some(account) = repo::find_credentials_by_email(&state.db, &self.email).await? else {
            return Ok(());
        };
        let purpose = match self.link {
            LinkRequest::Verification if account.email_verified => return Ok(()),
            LinkRequest::Verification => TokenPurpose::VerifyEmail,
            LinkRequest::PasswordReset => TokenPurpose::PasswordReset,
        };
        if !account.is_active {
            return Ok(());
        }
        let mut tx = state.db.begin().await?;
        let mail = link_mail(state, &mut tx, account.id, &account.email, purpose)
            .await
            .map_err(JobError::retry)?;
        commit_with(tx, &mail).await.map_err(JobError::retry)?;
        Ok(())
    }
}
