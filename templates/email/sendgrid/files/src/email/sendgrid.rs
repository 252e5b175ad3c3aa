//! Delivery through Twilio SendGrid's v3 HTTP API (`POST /v3/mail/send`).

use reqwest::Client;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::http::{client, post_email_json};
use super::{Email, EmailError, Mailer, SendResult, is_valid_address};
use crate::config::{Secret, sender_address, sender_name};

/// Sends through one SendGrid account.
#[derive(Clone)]
pub struct SendGridMailer {
    client: Client,
    api_key: Secret,
    from: String,
    base_url: String,
}

impl SendGridMailer {
    /// SendGrid's API (the EU subuser endpoint is `https://api.eu.sendgrid.com`).
    pub const BASE_URL: &str = "https://api.sendgrid.com";

    /// A mailer sending as `from` with `api_key`; `base_url` is [`Self::BASE_URL`] except in tests.
    pub fn new(api_key: &Secret, from: &str, base_url: &str) -> Self {
        Self {
            client: client(),
            api_key: api_key.clone(),
            from: from.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The request body SendGrid documents: one personalization, the sender as an object,
    /// `text/plain` before `text/html` (the order it requires), the template as a category.
    fn body(&self, email: &Email) -> Value {
        let mut from = json!({ "email": sender_address(&self.from) });
        if let Some(name) = sender_name(&self.from) {
            from["name"] = name.into();
        }
        json!({
            "personalizations": [{ "to": [{ "email": email.to }] }],
            "from": from,
            "subject": email.subject,
            "content": [
                { "type": "text/plain", "value": email.text },
                { "type": "text/html", "value": email.html },
            ],
            "categories": [email.template],
        })
    }
}

/// SendGrid's error body: `{"errors": [{"message": "...", "field": "...", "help": ...}]}`.
fn detail(body: &Value) -> Option<String> {
    let errors = body.get("errors")?.as_array()?;
    let messages: Vec<String> = errors
        .iter()
        .filter_map(|error| {
            let message = error.get("message")?.as_str()?;
            Some(match error.get("field").and_then(Value::as_str) {
                Some(field) => format!("{field}: {message}"),
                None => message.to_owned(),
            })
        })
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

impl Mailer for SendGridMailer {
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
                .post(format!("{}/v3/mail/send", self.base_url))
                .header(AUTHORIZATION, format!("Bearer {}", self.api_key.expose()));
            // 202 Accepted with an empty body; the message id is in a header we do not need.
            post_email_json(request, &self.body(email), detail).await?;
            Ok(())
        })
    }
}
