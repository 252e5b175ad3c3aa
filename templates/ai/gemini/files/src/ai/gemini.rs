//! Google's Gemini API: `POST {base}/models/{model}:generateContent` with `x-goog-api-key`,
//! `contents` of `user`/`model` turns with text parts and a separate `systemInstruction`;
//! streams from `:streamGenerateContent?alt=sse`, each event a whole response object, usage
//! in `usageMetadata` (the last one counts), no end marker.

use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_client::{StreamDecoder, WireFormat, event_json, stream_error};
use super::provider::{ChatRequest, Completion, ProviderError, Role, StreamEvent, TokenUsage};
use super::sse::SseEvent;
use crate::config::ProviderSettings;

/// The Gemini provider.
pub struct Gemini {
    client: Client,
    settings: ProviderSettings,
}

impl Gemini {
    /// A provider at `settings.base_url` (`https://generativelanguage.googleapis.com/v1beta`).
    pub fn new(client: Client, settings: ProviderSettings) -> Self {
        Self { client, settings }
    }

    /// The request body: system messages become `systemInstruction`, the assistant is
    /// the `model` role.
    pub fn body(request: &ChatRequest) -> Value {
        let system: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| json!({ "text": m.content }))
            .collect();
        let contents: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| {
                let role = if m.role == Role::Assistant {
                    "model"
                } else {
                    "user"
                };
                json!({"role": role, "parts": [{"text": m.content}]})
            })
            .collect();
        let mut config = json!({ "maxOutputTokens": request.max_tokens });
        if let Some(temperature) = request.temperature {
            config["temperature"] = json!(temperature);
        }
        let mut body = json!({"contents": contents, "generationConfig": config});
        if !system.is_empty() {
            body["systemInstruction"] = json!({ "parts": system });
        }
        body
    }
}

/// A `GenerateContentResponse`: the whole answer, and each event of a stream.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
    /// Thought summaries are not part of the answer.
    #[serde(default)]
    thought: bool,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    /// Thinking tokens, billed as output.
    #[serde(default)]
    thoughts_token_count: u64,
}

impl From<UsageMetadata> for TokenUsage {
    fn from(usage: UsageMetadata) -> Self {
        Self {
            input_tokens: usage.prompt_token_count,
            output_tokens: usage.candidates_token_count + usage.thoughts_token_count,
        }
    }
}

impl Response {
    fn text(&self) -> String {
        self.candidates
            .first()
            .and_then(|c| c.content.as_ref())
            .map(|content| {
                content
                    .parts
                    .iter()
                    .filter(|part| !part.thought)
                    .filter_map(|part| part.text.as_deref())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn finish_reason(&self) -> Option<String> {
        let reason = self.candidates.first()?.finish_reason.as_deref()?;
        Some(
            match reason {
                "STOP" => "stop",
                "MAX_TOKENS" => "length",
                "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
                    "content_filter"
                }
                other => other,
            }
            .to_owned(),
        )
    }
}

impl WireFormat for Gemini {
    type Answer = Response;
    type Decoder = ChunkDecoder;

    fn id(&self) -> &'static str {
        "gemini"
    }

    fn request(&self, model: &str, request: &ChatRequest, stream: bool) -> RequestBuilder {
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        let request = self
            .client
            .post(format!(
                "{}/models/{model}:{method}",
                self.settings.base_url
            ))
            .json(&Self::body(request));
        match &self.settings.api_key {
            Some(key) => request.header("x-goog-api-key", key.expose()),
            None => request,
        }
    }

    fn completion(answer: Response) -> Result<Completion, ProviderError> {
        let usage = answer.usage_metadata.map(Into::into).unwrap_or_default();
        if answer.candidates.is_empty() && answer.prompt_feedback.is_some() {
            // The prompt itself was blocked.
            return Ok(Completion {
                content: String::new(),
                finish_reason: Some("content_filter".into()),
                usage,
            });
        }
        Ok(Completion {
            content: answer.text(),
            finish_reason: answer.finish_reason(),
            usage,
        })
    }

    fn decoder(&self) -> ChunkDecoder {
        ChunkDecoder::default()
    }
}

/// Reads response chunks; the stream simply ends, so the end is where it finishes.
#[derive(Default)]
pub struct ChunkDecoder {
    usage: Option<UsageMetadata>,
    finish_reason: Option<String>,
    chunks: usize,
}

impl StreamDecoder for ChunkDecoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        let value: Value = event_json(&event, "chunk")?;
        if let Some(error) = value.get("error") {
            let status = error["code"]
                .as_u64()
                .and_then(|code| u16::try_from(code).ok())
                .unwrap_or(500);
            return Err(stream_error(status, error));
        }
        let chunk: Response = serde_json::from_value(value)
            .map_err(|error| ProviderError::Decode(format!("chunk: {error}")))?;
        self.chunks += 1;
        if chunk.usage_metadata.is_some() {
            self.usage = chunk.usage_metadata;
        }
        if let Some(reason) = chunk.finish_reason() {
            self.finish_reason = Some(reason);
        }
        let text = chunk.text();
        Ok(if text.is_empty() {
            Vec::new()
        } else {
            vec![StreamEvent::Delta(text)]
        })
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        // Without a finish reason the answer was cut off, not finished.
        if self.chunks == 0 || self.finish_reason.is_none() {
            return Err(ProviderError::Transport(
                "the stream ended before a finish reason".into(),
            ));
        }
        Ok(vec![StreamEvent::Finished {
            finish_reason: self.finish_reason.take(),
            usage: self.usage.map(Into::into).unwrap_or_default(),
        }])
    }
}
