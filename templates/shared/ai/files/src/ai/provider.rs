//! The provider trait every AI provider implements, and the types that cross it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A boxed future, so the trait stays usable as `dyn LlmProvider`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The events of a streamed completion, ending with [`StreamEvent::Finished`] or an error.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The end user.
    User,
    /// The model.
    Assistant,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

/// What a provider is asked, whatever its wire format.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Most output tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f32>,
}

/// Tokens a call consumed, as the provider reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens (reasoning tokens included where the provider bills them).
    pub output_tokens: u64,
}

/// A whole answer.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The generated text.
    pub content: String,
    /// Why generation stopped, in OpenAI's words (`stop`, `length`, `content_filter`).
    pub finish_reason: Option<String>,
    /// Tokens used.
    pub usage: TokenUsage,
}

/// One event of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// The end, with the usage the stream's final events reported.
    Finished {
        /// Why generation stopped (see [`Completion::finish_reason`]).
        finish_reason: Option<String>,
        /// Tokens used by the whole call.
        usage: TokenUsage,
    },
}

/// Why a provider call failed. The texts are for logs only: they may quote the provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with an error status (or an error event meaning one).
    #[error("provider answered {status}: {message}")]
    Status {
        /// HTTP status, or the status an in-stream error event stands for.
        status: u16,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
        /// The provider's error message.
        message: String,
    },
    /// The provider could not be reached or the connection broke.
    #[error("transport error: {0}")]
    Transport(String),
    /// The provider did not answer in time.
    #[error("timed out")]
    Timeout,
    /// The answer did not have the documented shape.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ProviderError {
    /// Whether another provider may succeed where this one failed: rate limits, server
    /// errors (including 529, "overloaded"), timeouts and connection failures.
    /// Other answers (400, 401, 404...) would fail the same way anywhere, or need a fix.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Transport(_) | Self::Timeout => true,
            Self::Decode(_) => false,
        }
    }

    /// The short word stored as the outcome of a failed call in `ai_usage`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Status { status: 429, .. } => "rate_limited",
            Self::Status { status, .. } if *status >= 500 => "upstream_error",
            Self::Status { .. } => "rejected",
            Self::Transport(_) => "unreachable",
            Self::Timeout => "timeout",
            Self::Decode(_) => "bad_response",
        }
    }
}

/// An AI provider: one wire format, one account.
pub trait LlmProvider: Send + Sync {
    /// Its id in the model catalog (`AI_MODELS`) and in usage records.
    fn id(&self) -> &'static str;

    /// One whole answer.
    fn chat<'a>(
        &'a self,
        model: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;

    /// A streamed answer; resolves once the provider accepted the request (2xx headers).
    fn stream<'a>(
        &'a self,
        model: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<EventStream, ProviderError>>;
}
