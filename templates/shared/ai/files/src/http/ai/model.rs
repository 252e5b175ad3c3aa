//! Bodies of the `/ai` routes and their validation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ai::catalog::{ModelSpec, Tier};
use crate::ai::{ChatRequest, Message, Role, TokenUsage};
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};

/// Most messages in one request.
pub const MAX_MESSAGES: usize = 200;
/// Most characters of all messages together.
pub const MAX_PROMPT_CHARS: usize = 400_000;
/// Largest `max_tokens` a request may ask for.
pub const MAX_OUTPUT_TOKENS: u32 = 64_000;

/// Body of `POST /ai/chat` and `POST /ai/chat/stream`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatBody {
    /// A model of the catalog, a tier (`fast`, `balanced`, `best`) or `auto` (the default).
    #[schema(example = "auto")]
    pub model: Option<String>,
    /// The conversation, oldest first; at least one message.
    pub messages: Vec<Message>,
    /// Most output tokens (default `AI_MAX_TOKENS`).
    #[schema(minimum = 1, maximum = 64000)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0 to 2.
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f32>,
}

impl Validate for ChatBody {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        check_request(&self.messages, self.max_tokens, self.temperature)
    }
}

/// The checks both chat bodies share.
pub fn check_request(
    messages: &[Message],
    max_tokens: Option<u32>,
    temperature: Option<f32>,
) -> Result<(), Vec<FieldError>> {
    let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    Checks::default()
        .check(
            !messages.is_empty(),
            &["body", "messages"],
            "must not be empty",
            "too_short",
        )
        .check(
            messages.len() <= MAX_MESSAGES,
            &["body", "messages"],
            &format!("must have at most {MAX_MESSAGES} messages"),
            "too_long",
        )
        .check(
            chars <= MAX_PROMPT_CHARS,
            &["body", "messages"],
            &format!("must have at most {MAX_PROMPT_CHARS} characters in all"),
            "too_long",
        )
        .check(
            messages.iter().any(|m| m.role == Role::User),
            &["body", "messages"],
            "must contain a user message",
            "missing_user_message",
        )
        .check(
            !messages.iter().any(|m| m.content.contains('\0')),
            &["body", "messages"],
            "must not contain NUL characters",
            "invalid_character",
        )
        .check(
            max_tokens.is_none_or(|n| (1..=MAX_OUTPUT_TOKENS).contains(&n)),
            &["body", "max_tokens"],
            &format!("must be between 1 and {MAX_OUTPUT_TOKENS}"),
            "out_of_range",
        )
        .check(
            temperature.is_none_or(|t| (0.0..=2.0).contains(&t)),
            &["body", "temperature"],
            "must be between 0 and 2",
            "out_of_range",
        )
        .finish()
}

/// The provider request of a validated body.
pub fn chat_request(
    messages: Vec<Message>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    default_max_tokens: u32,
) -> ChatRequest {
    ChatRequest {
        messages,
        max_tokens: max_tokens.unwrap_or(default_max_tokens),
        temperature,
    }
}

/// Tokens and cost of a call.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Cost in millionths of the currency unit.
    pub cost_micros: i64,
}

impl UsageReport {
    /// From a provider's token counts and the computed cost.
    pub fn new(usage: TokenUsage, cost_micros: i64) -> Self {
        Self {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost_micros,
        }
    }
}

/// Answer of `POST /ai/chat`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChatReply {
    /// The provider that answered.
    pub provider: String,
    /// The model that answered.
    pub model: String,
    /// The answer.
    pub message: Message,
    /// Why generation stopped (`stop`, `length`, `content_filter`).
    pub finish_reason: Option<String>,
    /// Tokens and cost.
    pub usage: UsageReport,
}

/// One provider in `GET /ai/status`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProviderReport {
    /// Provider id.
    pub id: String,
    /// Its circuit breaker: `closed` (calls go through), `open` (skipped for now) or
    /// `half_open` (one probe call decides).
    #[schema(example = "closed")]
    pub breaker: String,
}

/// Answer of `GET /ai/status`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AiStatus {
    /// The configured providers, in fallback order.
    pub providers: Vec<ProviderReport>,
    /// The models requests may name, with tier and prices.
    pub models: Vec<ModelSpec>,
    /// The tiers requests may name instead of a model.
    pub tiers: Vec<Tier>,
}
