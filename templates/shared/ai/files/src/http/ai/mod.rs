//! `/api/v1/app/ai`: the AI gateway for signed-in users. Status, chat, chat streamed as
//! Server-Sent Events, and an OpenAI-compatible `chat/completions`.

mod admin;
mod completions;
mod model;

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::ai::catalog::Tier;
use crate::ai::router::{Route, RouteError};
use crate::ai::{Answer, ChatRequest, GatewayError, GatewayEvent, Message, Role, StartedStream};
use crate::auth::AuthUser;
use crate::error::{ErrorBody, FieldError};
use crate::http::extract::ValidatedJson;
use crate::resilience::BreakerState;
use crate::{AppError, AppState, Result};
pub use admin::admin_router;
use model::{AiStatus, ChatBody, ChatReply, ProviderReport, UsageReport};

/// AI routes, relative to `/api/v1/app`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ai_status))
        .routes(routes!(chat))
        .routes(routes!(chat_stream))
        .routes(routes!(completions::create_chat_completion))
}

/// The configured providers (with their circuit breakers) and the models requests may name.
#[utoipa::path(get, path = "/ai/status", tag = "ai", security(("bearer" = [])),
    responses(
        (status = 200, description = "Providers, breakers and models", body = AiStatus),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ))]
async fn ai_status(State(state): State<AppState>, _user: AuthUser) -> Json<AiStatus> {
    let providers = state
        .ai
        .providers()
        .into_iter()
        .map(|provider| ProviderReport {
            id: provider.id.to_owned(),
            breaker: match provider.breaker {
                BreakerState::Closed => "closed",
                BreakerState::HalfOpen => "half_open",
                BreakerState::Open => "open",
            }
            .to_owned(),
        })
        .collect();
    Json(AiStatus {
        providers,
        models: state.ai.models().cloned().collect(),
        tiers: Tier::ALL.to_vec(),
    })
}

/// Send a conversation, get the next message. `model` names a model, a tier or `auto`;
/// a provider that fails transiently is replaced by the same tier on another provider.
#[utoipa::path(post, path = "/ai/chat", tag = "ai", security(("bearer" = [])),
    request_body = ChatBody,
    responses(
        (status = 200, description = "The answer, its model and usage", body = ChatReply),
        (status = 400, description = "Malformed JSON, or the provider refused the request", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Invalid fields or unknown model", body = ErrorBody),
        (status = 429, description = "Over the rate limit, the daily AI budget, or every provider's rate limit; `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "Every provider failed or is skipped by its circuit breaker", body = ErrorBody),
    ))]
async fn chat(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<ChatBody>,
) -> Result<Json<ChatReply>> {
    let answer = Call::checked(&state, &user, body)
        .await?
        .answer(&state)
        .await?;
    Ok(Json(ChatReply {
        provider: answer.model.provider,
        model: answer.model.id,
        message: Message {
            role: Role::Assistant,
            content: answer.completion.content,
        },
        finish_reason: answer.completion.finish_reason,
        usage: UsageReport::new(answer.completion.usage, answer.cost_micros),
    }))
}

/// The same as `POST /ai/chat`, streamed as Server-Sent Events: `start`
/// (`{"provider","model"}`), then `delta` (`{"content"}`) as text arrives, then `done`
/// (`{"finish_reason","usage"}`) or `error` (`{"code","detail"}`). Fallback to another
/// provider happens only before the first `delta`.
#[utoipa::path(post, path = "/ai/chat/stream", tag = "ai", security(("bearer" = [])),
    request_body = ChatBody,
    responses(
        (status = 200, description = "A `text/event-stream` of `start`, `delta`, `done` or `error` events", body = String, content_type = "text/event-stream"),
        (status = 400, description = "Malformed JSON, or the provider refused the request", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "Invalid fields or unknown model", body = ErrorBody),
        (status = 429, description = "Over the rate limit, the daily AI budget, or every provider's rate limit; `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "Every provider failed or is skipped by its circuit breaker", body = ErrorBody),
    ))]
async fn chat_stream(
    State(state): State<AppState>,
    user: AuthUser,
    ValidatedJson(body): ValidatedJson<ChatBody>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let started = Call::checked(&state, &user, body)
        .await?
        .stream(&state)
        .await?;
    let start = Event::default()
        .event("start")
        .data(json!({"provider": started.model.provider, "model": started.model.id}).to_string());
    let events = gateway_events(started).map(|event| match event {
        GatewayEvent::Delta(content) => Event::default()
            .event("delta")
            .data(json!({ "content": content }).to_string()),
        GatewayEvent::Done {
            finish_reason,
            usage,
            cost_micros,
        } => Event::default().event("done").data(
            json!({
                "finish_reason": finish_reason,
                "usage": UsageReport::new(usage, cost_micros),
            })
            .to_string(),
        ),
        GatewayEvent::Error(code) => Event::default().event("error").data(
            json!({"code": code, "detail": "the AI provider failed during the answer"}).to_string(),
        ),
    });
    Ok(event_stream(
        futures_util::stream::once(async { start }).chain(events),
    ))
}

/// A call a user may make: within the daily budget, routed, its limits filled in. The
/// same for `chat`, `chat/stream` and the OpenAI-compatible `chat/completions`.
struct Call {
    user_id: Uuid,
    route: Route,
    request: ChatRequest,
}

impl Call {
    /// Checks the user's budget (429 when spent) and builds the provider request.
    async fn checked(state: &AppState, user: &AuthUser, body: ChatBody) -> Result<Self> {
        state
            .ai
            .check_budget(&state.db, user.id)
            .await
            .map_err(app_error)?;
        Ok(Self {
            user_id: user.id,
            route: Route::parse(body.model.as_deref()),
            request: model::chat_request(
                body.messages,
                body.max_tokens,
                body.temperature,
                state.ai.max_tokens(),
            ),
        })
    }

    /// The whole answer.
    async fn answer(&self, state: &AppState) -> Result<Answer> {
        state
            .ai
            .chat(&state.db, self.user_id, &self.route, &self.request)
            .await
            .map_err(app_error)
    }

    /// The answer as it is generated.
    async fn stream(&self, state: &AppState) -> Result<StartedStream> {
        state
            .ai
            .stream(&state.db, self.user_id, &self.route, &self.request)
            .await
            .map_err(app_error)
    }
}

/// The events of a started stream; dropping it (the client went away) cancels the call.
fn gateway_events(started: StartedStream) -> impl Stream<Item = GatewayEvent> + Send {
    let mut receiver = started.events;
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// `events` as a `text/event-stream`, with a keep-alive comment every 15 s of silence.
fn event_stream(
    events: impl Stream<Item = Event> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(events.map(Ok)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Maps the gateway's errors to the API's, leaking nothing of the provider's answer.
fn app_error(error: GatewayError) -> AppError {
    match error {
        GatewayError::Route(error @ RouteError::UnknownModel(_))
        | GatewayError::Route(error @ RouteError::NoModel(_)) => {
            AppError::Validation(vec![FieldError::new(
                &["body", "model"],
                error.to_string(),
                "unknown_model",
            )])
        }
        GatewayError::OverBudget(reset) => AppError::RateLimited(reset),
        GatewayError::RateLimited(retry_after) => {
            AppError::RateLimited(retry_after.unwrap_or(Duration::from_secs(30)))
        }
        GatewayError::Rejected {
            status: Some(400 | 413 | 422),
            ..
        } => AppError::BadRequest(
            "the AI provider refused the request (too long for the model, or an unsupported value)"
                .into(),
        ),
        GatewayError::Rejected { message, .. } => {
            // Our key, model name or the provider's answer is wrong: an operator's problem.
            tracing::error!(%message, "AI provider refused the gateway's request");
            AppError::ServiceUnavailable("the AI provider is misconfigured, retry later")
        }
        GatewayError::Unavailable(last) => {
            tracing::error!(%last, "no AI provider could answer");
            AppError::ServiceUnavailable("the AI providers are unavailable, retry later")
        }
        GatewayError::Database(error) => AppError::Database(error),
    }
}
