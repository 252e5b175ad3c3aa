//! Delivery through Resend's HTTP API (`POST /emails`).

use reqwest::Client;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::http::{client, post_email_json};
use super::{Email, EmailError, Mailer, SendResult, is_valid_address};
use crate::config::Secret;

/// Sends through one Resend account.
#[derive(Clone)]
pub struct ResendMailer {
    client: Client,
    api_key: Secret,
    from: String,
    base_url: String,
}

impl ResendMailer {
    /// Resend's API.
    pub const BASE_URL: &str = "https://api.resend.com";

    /// A mailer sending as `from` with `api_key`; `base_url` is [`Self::BASE_URL`] except in tests.
    pub fn new(api_key: &Secret, from: &str, base_url: &str) -> Self {
        Self {
            client: client(),
            api_key: api_key.clone(),
            from: from.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The request body Resend documents: `to` is a list, both parts, the template as a tag.
    fn body(&self, email: &Email) -> Value {
        json!({
            "from": self.from,
            "to": [email.to],
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
            "tags": [{ "name": "template", "value": email.template }],
        })
    }
}

/// Resend's error body: `{"statusCode": 422, "name": "validation_error", "message": "..."}`.
fn detail(body: &Value) -> Option<String> {
    let message = body.get("message")?.as_str()?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("error");
    Some(format!("{name}: {message}"))
}

impl Mailer for ResendMailer {
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
                .post(format!("{}/emails", self.base_url))
                .header(AUTHORIZATION, format!("Bearer {}", self.api_key.expose()));
            let answer = post_email_json(request, &self.body(email), detail).await?;
            tracing::debug!(id = ?answer.get("id"), "email accepted by Resend");
            Ok(())
        })
    }
}
