//! `seed`: creates the first admin from `ADMIN_EMAIL` and `ADMIN_PASSWORD`.

use anyhow::{Context, bail};

use crate::auth::{PasswordHasher, Role};
use crate::config::{Config, MIN_PASSWORD_LEN};
use crate::db;
use crate::http::auth::{is_email, repo};

/// What `seed` does when an account with `ADMIN_EMAIL` already exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Existing {
    /// Leave it as it is: an admin is reported (a deactivated one stays deactivated),
    /// any other account is refused, since whoever registered it chose its password.
    #[default]
    Keep,
    /// `--reset-existing`: make it an active admin with `ADMIN_PASSWORD` as its password
    /// and sign out its sessions.
    Reset,
}

/// Migrates, then creates the admin account. Running it again is harmless: it never
/// promotes an account it did not create and never re-activates a deactivated admin,
/// unless told to take the account over with [`Existing::Reset`].
pub async fn run(config: &Config, existing: Existing) -> anyhow::Result<()> {
    let settings = &config.local_auth;
    let (Some(email), Some(password)) = (&settings.admin_email, &settings.admin_password) else {
        bail!("set ADMIN_EMAIL and ADMIN_PASSWORD to create the first admin");
    };
    let email = email.trim().to_lowercase();
    if !is_email(&email) {
        bail!("ADMIN_EMAIL is not an email address");
    }
    if password.expose().chars().count() < MIN_PASSWORD_LEN {
        bail!("ADMIN_PASSWORD must be at least {MIN_PASSWORD_LEN} characters");
    }

    let pool = db::connect(&config.database).await?;
    db::migrate(&pool).await?;
    let hasher = PasswordHasher::default();
    let hash = || hasher.hash(password.expose().to_owned());
    match (
        repo::find_credentials_by_email(&pool, &email).await?,
        existing,
    ) {
        (None, _) => {
            let user = repo::insert_user(&pool, &email, &hash().await?, Role::Admin)
                .await
                .context("cannot create the admin")?;
            // The operator chose the address: no link to confirm, even when sign-in
            // requires a confirmed one.
            repo::mark_email_verified(&mut *pool.acquire().await?, user.id).await?;
            tracing::info!(user_id = %user.id, %email, "admin created");
        }
        (Some(account), Existing::Reset) => {
            repo::reset_to_admin(&pool, account.id, &hash().await?).await?;
            tracing::info!(user_id = %account.id, %email, "existing account reset to an admin with ADMIN_PASSWORD");
        }
        (Some(account), Existing::Keep) if account.role == Role::Admin => {
            if account.is_active {
                tracing::info!(user_id = %account.id, %email, "the admin already exists; nothing to do");
            } else {
                tracing::warn!(
                    user_id = %account.id,
                    %email,
                    "the admin exists but is deactivated; left so (reactivate it through the \
                     admin API, or run `seed --reset-existing`)"
                );
            }
        }
        (Some(_), Existing::Keep) => bail!(
            "an account with ADMIN_EMAIL {email} already exists and is not an admin; seed does \
             not promote accounts it did not create (whoever registered it chose the password). \
             Delete that account, choose another ADMIN_EMAIL, or run `seed --reset-existing` to \
             make it an admin with ADMIN_PASSWORD as its password (its sessions are signed out)"
        ),
    }
    Ok(())
}
