//! `POST /ai/chat/completions`: OpenAI's chat completions API in front of the gateway, so
//! OpenAI client libraries work with the app's tokens, budgets and routing (base URL
//! `https://HOST/api/v1/app/ai`, the user's access token as API key).

use axum::Json;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{ChatBody, check_request};
use super::{Call, event_stream, gateway_events};
use crate::ai::{GatewayEvent, Message, Role, TokenUsage};
use crate::auth::AuthUser;
use crate::error::{ErrorBody, FieldError};
use crate::http::extract::{Validate, ValidatedJson};
use crate::{AppError, AppState, Result};

/// OpenAI's request body (the fields the gateway uses; others are ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateChatCompletion {
    /// A model of the catalog, a tier (`fast`, `balanced`, `best`) or `auto`.
    #[schema(example = "auto")]
    pub model: String,
    /// The conversation; `developer` counts as `system`; text content only.
    pub messages: Vec<CompletionMessage>,
    /// Most output tokens (older name).
    pub max_tokens: Option<u32>,
    /// Most output tokens (newer name; wins over `max_tokens`).
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature, 0 to 2.
    pub temperature: Option<f32>,
    /// Stream the answer as `chat.completion.chunk` events ending with `data: [DONE]`.
    pub stream: Option<bool>,
    /// `{"include_usage": true}` adds a last chunk with the usage.
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a final chunk with `usage` and no choices.
    pub include_usage: Option<bool>,
}

/// A message in OpenAI's shape.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompletionMessage {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: CompletionRole,
    /// A string, or an array of `{"type": "text", "text": ...}` parts.
    pub content: CompletionContent,
}

/// The roles the gateway accepts (tool calls are not supported).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompletionRole {
    /// Instructions.
    System,
    /// Instructions (OpenAI's newer name).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
}

/// Message content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CompletionContent {
    /// Plain text.
    Text(String),
    /// Content parts; only text parts are accepted.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ContentPart {
    /// Must be `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: Option<String>,
}

impl CompletionMessage {
    fn to_message(&self) -> Option<Message> {
        let role = match self.role {
            CompletionRole::System | CompletionRole::Developer => Role::System,
            CompletionRole::User => Role::User,
            CompletionRole::Assistant => Role::Assistant,
        };
        let content = match &self.content {
            CompletionContent::Text(text) => text.clone(),
            CompletionContent::Parts(parts) => parts
                .iter()
                .map(|part| {
                    (part.kind == "text")
                        .then_some(part.text.as_deref())
                        .flatten()
                })
                .collect::<Option<Vec<&str>>>()?
                .concat(),
        };
        Some(Message { role, content })
    }
}

impl CreateChatCompletion {
    fn messages(&self) -> Option<Vec<Message>> {
        self.messages
            .iter()
            .map(CompletionMessage::to_message)
            .collect()
    }

    fn max_tokens(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

impl Validate for CreateChatCompletion {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let Some(messages) = self.messages() else {
            return Err(vec![FieldError::new(
                &["body", "messages"],
                "only text content parts are supported",
                "unsupported_content",
            )]);
        };
        check_request(&messages, self.max_tokens(), self.temperature)
    }
}

/// OpenAI's `chat.completion` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-...`.
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    /// The model that answered.
    pub model: String,
    /// One choice.
    pub choices: Vec<CompletionChoice>,
    /// Tokens used.
    pub usage: CompletionUsage,
}

/// A choice of a `chat.completion`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionChoice {
    /// Always 0.
    pub index: u32,
    /// The answer.
    pub message: Message,
    /// `stop`, `length` or `content_filter`.
    pub finish_reason: Option<String>,
    /// Not provided.
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<Value>,
}

/// OpenAI's `usage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionUsage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

impl From<TokenUsage> for CompletionUsage {
    fn from(usage: TokenUsage) -> Self {
        Self {
            prompt_tokens: usage.input_tokens,
            completion_tokens: usage.output_tokens,
            total_tokens: usage.input_tokens + usage.output_tokens,
        }
    }
}

/// OpenAI-compatible chat completions: a `chat.completion` object, or with `stream: true`
/// a `text/event-stream` of `chat.completion.chunk` objects ending with `data: [DONE]` (an
/// error after the first chunk arrives as `data: {"error": {...}}` instead).
#[utoipa::path(post, path = "/ai/chat/completions", tag = "ai", security(("bearer" = [])),
    request_body = CreateChatCompletion,
    responses(
        (status = 200, description = "A `chat.completion`, or a stream of `chat.completion.chunk` events", content(
            (ChatCompletion = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 400, description = "Malformed JSON, or the provider refused the request", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Invalid fields, unsupported content or unknown model", body = ErrorBody),
        (status = 429, description = "Over the rate limit, the daily AI budget, or every provider's rate limit; `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "Every provider failed or is skipped by its circuit breaker", body = ErrorBody),
    ))]
pub async fn create_chat_completion(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<CreateChatCompletion>,
) -> Result<Response> {
    let messages = body
        .messages()
        .ok_or_else(|| AppError::BadRequest("unsupported content".into()))?;
    let chat = ChatBody {
        model: Some(body.model.clone()),
        messages,
        max_tokens: body.max_tokens(),
        temperature: body.temperature,
    };
    let call = Call::checked(&state, &user, chat).await?;
    let id = format!("chatcmpl-{}", Uuid::now_v7().simple());
    let created = OffsetDateTime::now_utc().unix_timestamp();
    if !body.stream.unwrap_or(false) {
        let answer = call.answer(&state).await?;
        return Ok(Json(ChatCompletion {
            id,
            object: "chat.completion",
            created,
            model: answer.model.id,
            choices: vec![CompletionChoice {
                index: 0,
                message: Message {
                    role: Role::Assistant,
                    content: answer.completion.content,
                },
                finish_reason: answer.completion.finish_reason,
                logprobs: None,
            }],
            usage: answer.completion.usage.into(),
        })
        .into_response());
    }
    let include_usage = body
        .stream_options
        .as_ref()
        .and_then(|options| options.include_usage)
        .unwrap_or(false);
    let started = call.stream(&state).await?;
    let chunk = Chunk {
        id,
        created,
        model: started.model.id.clone(),
        include_usage,
    };
    let first = chunk.data(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
    );
    let events = gateway_events(started).flat_map(move |event| {
        let data = match event {
            GatewayEvent::Delta(content) => {
                vec![chunk.data(
                    json!([{"index": 0, "delta": {"content": content}, "finish_reason": null}]),
                )]
            }
            GatewayEvent::Done {
                finish_reason,
                usage,
                ..
            } => {
                let mut data = vec![
                    chunk.data(json!([{"index": 0, "delta": {}, "finish_reason": finish_reason}])),
                ];
                if include_usage {
                    let mut last = chunk.value(json!([]));
                    last["usage"] = json!(CompletionUsage::from(usage));
                    data.push(last.to_string());
                }
                data.push("[DONE]".to_owned());
                data
            }
            GatewayEvent::Error(code) => vec![
                json!({"error": {
                    "message": "the AI provider failed during the answer",
                    "type": code,
                }})
                .to_string(),
            ],
        };
        futures_util::stream::iter(data)
    });
    let data = futures_util::stream::once(async { first }).chain(events);
    Ok(event_stream(data.map(|data| Event::default().data(data))).into_response())
}

/// What every chunk of one stream repeats.
struct Chunk {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
}

impl Chunk {
    fn value(&self, choices: Value) -> Value {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        // With `include_usage`, OpenAI sends `usage: null` on every chunk but the last.
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    fn data(&self, choices: Value) -> String {
        self.value(choices).to_string()
    }
}
