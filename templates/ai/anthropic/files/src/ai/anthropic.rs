//! Anthropic's Messages API: `POST {base}/messages` with `x-api-key` and
//! `anthropic-version`, system prompt apart from the messages, text content blocks, and a
//! stream of typed events (`message_start` ... `message_stop`) that may carry an `error`
//! event after the HTTP 200.

use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_client::{StreamDecoder, WireFormat, end_marker, event_json, stream_error};
use super::provider::{ChatRequest, Completion, ProviderError, Role, StreamEvent, TokenUsage};
use super::sse::SseEvent;
use crate::config::ProviderSettings;

/// The API version this adapter speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The Anthropic provider.
pub struct Anthropic {
    client: Client,
    settings: ProviderSettings,
}

impl Anthropic {
    /// A provider at `settings.base_url` (`https://api.anthropic.com/v1` by default).
    pub fn new(client: Client, settings: ProviderSettings) -> Self {
        Self { client, settings }
    }

    /// The request body: system messages go to `system`, the others stay in order.
    pub fn body(model: &str, request: &ChatRequest, stream: bool) -> Value {
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let mut body = json!({
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if let Some(temperature) = request.temperature {
            // Anthropic's range is 0 to 1.
            body["temperature"] = json!(temperature.min(1.0));
        }
        if stream {
            body["stream"] = json!(true);
        }
        body
    }
}

/// A Messages API answer.
#[derive(Deserialize)]
pub struct Answer {
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Usage,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Clone, Copy, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

/// Anthropic's stop reasons in OpenAI's words.
fn finish_reason(stop_reason: Option<String>) -> Option<String> {
    stop_reason.map(|reason| {
        match reason.as_str() {
            "end_turn" | "stop_sequence" => "stop",
            "max_tokens" => "length",
            "refusal" => "content_filter",
            other => other,
        }
        .to_owned()
    })
}

impl WireFormat for Anthropic {
    type Answer = Answer;
    type Decoder = EventDecoder;

    fn id(&self) -> &'static str {
        "anthropic"
    }

    fn request(&self, model: &str, request: &ChatRequest, stream: bool) -> RequestBuilder {
        let request = self
            .client
            .post(format!("{}/messages", self.settings.base_url))
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&Self::body(model, request, stream));
        match &self.settings.api_key {
            Some(key) => request.header("x-api-key", key.expose()),
            None => request,
        }
    }

    fn completion(answer: Answer) -> Result<Completion, ProviderError> {
        let content = answer
            .content
            .iter()
            .filter(|block| block.kind == "text")
            .map(|block| block.text.as_str())
            .collect();
        Ok(Completion {
            content,
            finish_reason: finish_reason(answer.stop_reason),
            usage: TokenUsage {
                input_tokens: answer.usage.input_tokens,
                output_tokens: answer.usage.output_tokens,
            },
        })
    }

    fn decoder(&self) -> EventDecoder {
        EventDecoder::default()
    }
}

/// Reads the typed events: usage from `message_start` (input) and `message_delta`
/// (output, cumulative), text from `content_block_delta`, the end at `message_stop`.
#[derive(Default)]
pub struct EventDecoder {
    usage: Usage,
    stop_reason: Option<String>,
    done: bool,
}

/// The HTTP status an `error` event stands for, so it is handled like one.
fn error_status(kind: &str) -> u16 {
    match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        _ => 400,
    }
}

impl StreamDecoder for EventDecoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        let data: Value = event_json(&event, "event")?;
        let kind = data["type"].as_str().unwrap_or_default();
        match kind {
            "message_start" => {
                let usage = &data["message"]["usage"];
                self.usage.input_tokens = usage["input_tokens"].as_u64().unwrap_or(0);
                self.usage.output_tokens = usage["output_tokens"].as_u64().unwrap_or(0);
            }
            "content_block_delta" if data["delta"]["type"] == "text_delta" => {
                let text = data["delta"]["text"].as_str().unwrap_or_default();
                if !text.is_empty() {
                    return Ok(vec![StreamEvent::Delta(text.to_owned())]);
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(output) = data["usage"]["output_tokens"].as_u64() {
                    self.usage.output_tokens = output;
                }
                if let Some(input) = data["usage"]["input_tokens"].as_u64() {
                    self.usage.input_tokens = input;
                }
            }
            "message_stop" => {
                self.done = true;
                return Ok(vec![StreamEvent::Finished {
                    finish_reason: finish_reason(self.stop_reason.take()),
                    usage: TokenUsage {
                        input_tokens: self.usage.input_tokens,
                        output_tokens: self.usage.output_tokens,
                    },
                }]);
            }
            "error" => {
                let error = &data["error"];
                let status = error_status(error["type"].as_str().unwrap_or_default());
                return Err(stream_error(status, error));
            }
            // ping, content_block_start/stop, and event types added later.
            _ => {}
        }
        Ok(Vec::new())
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        end_marker(self.done, "message_stop")
    }
}
