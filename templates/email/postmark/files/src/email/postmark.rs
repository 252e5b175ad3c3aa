//! Delivery through Postmark's HTTP API (`POST /email`).

use reqwest::Client;
use reqwest::header::ACCEPT;
use serde_json::{Value, json};

use super::http::{client, post_email_json};
use super::{Email, EmailError, Mailer, SendResult, is_valid_address};
use crate::config::Secret;

/// Sends through one Postmark server, on its transactional (`outbound`) stream.
#[derive(Clone)]
pub struct PostmarkMailer {
    client: Client,
    server_token: Secret,
    from: String,
    base_url: String,
}

impl PostmarkMailer {
    /// Postmark's API.
    pub const BASE_URL: &str = "https://api.postmarkapp.com";

    /// A mailer sending as `from` with a server token; `base_url` is [`Self::BASE_URL`]
    /// except in tests.
    pub fn new(server_token: &Secret, from: &str, base_url: &str) -> Self {
        Self {
            client: client(),
            server_token: server_token.clone(),
            from: from.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The request body Postmark documents (PascalCase fields).
    fn body(&self, email: &Email) -> Value {
        json!({
            "From": self.from,
            "To": email.to,
            "Subject": email.subject,
            "HtmlBody": email.html,
            "TextBody": email.text,
            "Tag": email.template,
            "MessageStream": "outbound",
        })
    }
}

/// Postmark's error body: `{"ErrorCode": 300, "Message": "..."}` (406: inactive recipient).
fn detail(body: &Value) -> Option<String> {
    let message = body.get("Message")?.as_str()?;
    let code = body.get("ErrorCode").and_then(Value::as_i64).unwrap_or(0);
    Some(format!("error code {code}: {message}"))
}

impl Mailer for PostmarkMailer {
    fn send<'a>(&'a self, email: &'a Email) -> SendResult<'a> {
        Box::pin(async move {
            if !is_valid_address(&email.to) {
                return Err(EmailError::Permanent(format!(
                    "invalid recipient address {:?}",
                    email.to
                )));
            }
            let request = self
                .client
                .post(format!("{}/email", self.base_url))
                .header(ACCEPT, "application/json")
                .header("X-Postmark-Server-Token", self.server_token.expose());
            let answer = post_email_json(request, &self.body(email), detail).await?;
            tracing::debug!(id = ?answer.get("MessageID"), "email accepted by Postmark");
            Ok(())
        })
    }
}
