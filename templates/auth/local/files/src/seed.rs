//! `seed`: creates the first admin from `ADMIN_EMAIL` and `ADMIN_PASSWORD`.

use anyhow::{Context, bail};

use crate::auth::{PasswordHasher, Role};
use crate::config::{Config, MIN_PASSWORD_LEN};
use crate::db;
use crate::http::auth::{is_email, repo};

/// Migrates, then creates the admin account, or promotes the existing account with
/// that email (its password is left alone), so running it twice is harmless.
pub async fn run(config: &Config) -> anyhow::Result<()> {
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
    if repo::promote_to_admin(&pool, &email).await? {
        tracing::info!(%email, "existing account is now an admin");
        return Ok(());
    }
    let hash = PasswordHasher::default()
        .hash(password.expose().to_owned())
        .await?;
    let user = repo::insert_user(&pool, &email, &hash, Role::Admin)
        .await
        .context("cannot create the admin")?;
    tracing::info!(user_id = %user.id, %email, "admin created");
    Ok(())
}
