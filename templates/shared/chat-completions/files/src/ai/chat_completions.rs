//! The chat completions wire format: `POST {base}/chat/completions` with a bearer key,
//! answers in `choices[0].message`, streams of `chat.completion.chunk` events ending with
//! `data: [DONE]`, usage in the last chunk when `stream_options.include_usage` is set.

use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_client::{StreamDecoder, WireFormat, end_marker, event_json, stream_error};
use super::provider::{ChatRequest, Completion, ProviderError, StreamEvent, TokenUsage};
use super::sse::SseEvent;
use crate::config::ProviderSettings;

/// How the request names its output limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenLimit {
    /// `max_completion_tokens`: required by reasoning models, which refuse `max_tokens`.
    MaxCompletionTokens,
    /// `max_tokens`: what most compatible servers (Ollama, vLLM...) read.
    MaxTokens,
}

/// A provider speaking the chat completions format.
pub struct ChatCompletions {
    id: &'static str,
    client: Client,
    settings: ProviderSettings,
    token_limit: TokenLimit,
}

impl ChatCompletions {
    /// A provider with this id, at `settings.base_url` (e.g. `https://host/v1`).
    pub fn new(
        id: &'static str,
        client: Client,
        settings: ProviderSettings,
        token_limit: TokenLimit,
    ) -> Self {
        Self {
            id,
            client,
            settings,
            token_limit,
        }
    }

    /// The request body.
    pub fn body(&self, model: &str, request: &ChatRequest, stream: bool) -> Value {
        let mut body = json!({
            "model": model,
            "messages": request.messages,
        });
        let limit = match self.token_limit {
            TokenLimit::MaxCompletionTokens => "max_completion_tokens",
            TokenLimit::MaxTokens => "max_tokens",
        };
        body[limit] = json!(request.max_tokens);
        if let Some(temperature) = request.temperature {
            body["temperature"] = json!(temperature);
        }
        if stream {
            body["stream"] = json!(true);
            // Without it the stream carries no token counts.
            body["stream_options"] = json!({ "include_usage": true });
        }
        body
    }
}

/// A `chat.completion` object.
#[derive(Deserialize)]
pub struct Answer {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[derive(Clone, Copy, Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl From<Usage> for TokenUsage {
    fn from(usage: Usage) -> Self {
        Self {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
        }
    }
}

impl WireFormat for ChatCompletions {
    type Answer = Answer;
    type Decoder = ChunkDecoder;

    fn id(&self) -> &'static str {
        self.id
    }

    fn request(&self, model: &str, request: &ChatRequest, stream: bool) -> RequestBuilder {
        let request = self
            .client
            .post(format!("{}/chat/completions", self.settings.base_url))
            .json(&self.body(model, request, stream));
        match &self.settings.api_key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    fn completion(answer: Answer) -> Result<Completion, ProviderError> {
        let choice = answer
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Decode("no choices".into()))?;
        Ok(Completion {
            content: choice.message.content.unwrap_or_default(),
            finish_reason: choice.finish_reason,
            usage: answer.usage.map(TokenUsage::from).unwrap_or_default(),
        })
    }

    fn decoder(&self) -> ChunkDecoder {
        ChunkDecoder::default()
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
struct Delta {
    content: Option<String>,
}

/// Reads `chat.completion.chunk` events until `[DONE]`.
#[derive(Default)]
pub struct ChunkDecoder {
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl StreamDecoder for ChunkDecoder {
    fn event(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        if self.done {
            return Ok(Vec::new());
        }
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(vec![StreamEvent::Finished {
                finish_reason: self.finish_reason.take(),
                usage: self.usage.map(TokenUsage::from).unwrap_or_default(),
            }]);
        }
        let chunk: Chunk = event_json(&event, "chunk")?;
        if let Some(error) = chunk.error {
            // A failure after the 200, e.g. the server overloaded mid-answer.
            return Err(stream_error(500, &error));
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let mut events = Vec::new();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|text| !text.is_empty()) {
                events.push(StreamEvent::Delta(text));
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(events)
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        end_marker(self.done, "[DONE]")
    }
}
