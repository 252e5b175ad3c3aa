//! Development mail: messages are logged and written to files, never delivered.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{Email, EmailError, Mailer, SendResult, is_valid_address};

/// Logs each message and, with a folder, writes it there as `.txt` and `.html` files.
#[derive(Clone, Debug)]
pub struct ConsoleMailer {
    from: String,
    dir: Option<PathBuf>,
}

impl ConsoleMailer {
    /// A mailer that writes into `dir` when given.
    pub fn new(from: &str, dir: Option<PathBuf>) -> Self {
        Self {
            from: from.to_owned(),
            dir,
        }
    }

    async fn write(&self, dir: &Path, email: &Email) -> std::io::Result<PathBuf> {
        tokio::fs::create_dir_all(dir).await?;
        // v7 ids sort by time, so a directory listing is in sending order.
        let stem = format!("{}-{}", Uuid::now_v7(), email.template);
        let text = format!(
            "From: {}\nTo: {}\nSubject: {}\n\n{}",
            self.from, email.to, email.subject, email.text
        );
        let text_path = dir.join(format!("{stem}.txt"));
        tokio::fs::write(&text_path, text).await?;
        tokio::fs::write(dir.join(format!("{stem}.html")), &email.html).await?;
        Ok(text_path)
    }
}

impl Mailer for ConsoleMailer {
    fn send<'a>(&'a self, email: &'a Email) -> SendResult<'a> {
        Box::pin(async move {
            if !is_valid_address(&email.to) {
                return Err(EmailError::Permanent(format!(
                    "invalid recipient address {:?}",
                    email.to
                )));
            }
            tracing::info!(
                to = %email.to,
                subject = %email.subject,
                template = %email.template,
                "email not delivered (console provider):\n{}",
                email.text
            );
            if let Some(dir) = &self.dir {
                // A folder that cannot be written is worth another try (disk full, say).
                let path = self.write(dir, email).await.map_err(|error| {
                    EmailError::Transient(format!("cannot write to {}: {error}", dir.display()))
                })?;
                tracing::info!("email written to {}", path.display());
            }
            Ok(())
        })
    }
}
