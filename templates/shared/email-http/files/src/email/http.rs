//! What the email APIs have in common: a JSON POST with a timeout, and a failed answer
//! turned into a permanent or transient [`EmailError`] with the provider's own message.

use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use super::EmailError;

/// How long one API call may take before it counts as a transient failure.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client of a mailer (rustls, with a timeout).
pub(super) fn client() -> Client {
    Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("a client with rustls and timeouts builds")
}

/// Sends `request` with `body` as JSON; on a 2xx answer returns its JSON body (`Null` when
/// empty or not JSON: the message was accepted either way). `detail` picks the provider's
/// error message out of an error body.
pub(super) async fn post_email_json(
    request: RequestBuilder,
    body: &Value,
    detail: fn(&Value) -> Option<String>,
) -> Result<Value, EmailError> {
    let response = request
        .json(body)
        .send()
        .await
        .map_err(|error| EmailError::Transient(format!("request failed: {error}")))?;
    let status = response.status();
    // A body that cannot be read is reported as empty: the status still decides.
    let bytes = response.bytes().await.unwrap_or_default();
    let json = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(json);
    }
    let message = detail(&json).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&bytes);
        text.chars().take(200).collect()
    });
    Err(EmailError::from_status(status.as_u16(), message))
}
