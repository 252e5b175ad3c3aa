//! The gateway: routes a request to a model, calls its provider behind that provider's
//! circuit breaker with a timeout per attempt, falls back to the same tier on another
//! provider when the failure is transient, and records every call in `ai_usage`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::catalog::ModelSpec;
use super::provider::{
    BoxFuture, ChatRequest, Completion, EventStream, LlmProvider, ProviderError, StreamEvent,
    TokenUsage,
};
use super::router::{self, Route, RouteError};
use super::usage::{self, UsageRecord};
use crate::config::AiConfig;
use crate::db::DbPool;
use crate::resilience::{BreakerState, CircuitBreaker};

/// Why the gateway could not answer.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No model fits the request.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// The user spent the daily budget; retry after the given time (next UTC midnight).
    #[error("daily AI budget used up")]
    OverBudget(Duration),
    /// Every candidate provider failed transiently or was skipped by its open breaker.
    #[error("every provider failed; the last one: {0}")]
    Unavailable(String),
    /// Every candidate was rate limited (the shortest `Retry-After`, when given).
    #[error("rate limited by every provider")]
    RateLimited(Option<Duration>),
    /// A provider refused the request itself: too long for the model (a 4xx such as 400),
    /// or our key or model name is wrong (401, 403, 404).
    #[error("the provider refused the request: {message}")]
    Rejected {
        /// The provider's status, when it answered with one.
        status: Option<u16>,
        /// What it said (for the logs).
        message: String,
    },
    /// The usage table could not be read.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A provider and its breaker.
struct Upstream {
    provider: Arc<dyn LlmProvider>,
    breaker: CircuitBreaker,
}

/// Settings of the gateway itself (the `AI_*` variables).
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// Per attempt, and per wait for the next streamed event.
    pub timeout: Duration,
    /// Output tokens when a request does not say.
    pub max_tokens: u32,
    /// Tokens per user and UTC day.
    pub daily_token_budget: Option<u64>,
    /// Cost per user and UTC day, in millionths.
    pub daily_cost_budget_micros: Option<i64>,
    /// Failures in a row that open a provider's breaker.
    pub breaker_threshold: u32,
    /// How long it stays open.
    pub breaker_cool_down: Duration,
}

impl From<&AiConfig> for GatewaySettings {
    fn from(config: &AiConfig) -> Self {
        Self {
            timeout: config.timeout,
            max_tokens: config.max_tokens,
            daily_token_budget: config.daily_token_budget,
            daily_cost_budget_micros: config.daily_cost_budget_micros,
            breaker_threshold: config.breaker_threshold,
            breaker_cool_down: config.breaker_cool_down,
        }
    }
}

/// The AI gateway; cheap to clone.
#[derive(Clone)]
pub struct AiGateway {
    inner: Arc<Inner>,
}

struct Inner {
    upstreams: HashMap<&'static str, Upstream>,
    /// Provider ids in catalog order, for the status report.
    order: Vec<&'static str>,
    models: Vec<ModelSpec>,
    settings: GatewaySettings,
}

/// A successful whole answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The model that answered.
    pub model: ModelSpec,
    /// Its answer.
    pub completion: Completion,
    /// What it cost, in millionths.
    pub cost_micros: i64,
}

/// What a forwarded stream carries to the HTTP layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayEvent {
    /// More text.
    Delta(String),
    /// The end of a complete answer.
    Done {
        /// Why generation stopped.
        finish_reason: Option<String>,
        /// Tokens used.
        usage: TokenUsage,
        /// Cost in millionths.
        cost_micros: i64,
    },
    /// The provider failed after part of the answer was sent: no fallback any more.
    Error(String),
}

/// A stream that started: its model, and its events as they arrive.
pub struct StartedStream {
    /// The model that answers.
    pub model: ModelSpec,
    /// The events; dropping the receiver cancels the provider call.
    pub events: mpsc::Receiver<GatewayEvent>,
}

/// One provider's report in `GET /ai/status`.
#[derive(Clone, Debug)]
pub struct ProviderStatus {
    /// Provider id.
    pub id: &'static str,
    /// Its breaker.
    pub breaker: BreakerState,
}

impl AiGateway {
    /// A gateway over `providers` (in fallback order) routing to `models`.
    pub fn new(
        providers: Vec<Arc<dyn LlmProvider>>,
        models: Vec<ModelSpec>,
        settings: GatewaySettings,
    ) -> Self {
        let order: Vec<&'static str> = providers.iter().map(|p| p.id()).collect();
        let upstreams = providers
            .into_iter()
            .map(|provider| {
                let breaker = CircuitBreaker::new(
                    provider.id(),
                    settings.breaker_threshold,
                    settings.breaker_cool_down,
                );
                (provider.id(), Upstream { provider, breaker })
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                upstreams,
                order,
                models,
                settings,
            }),
        }
    }

    /// The catalog models whose provider is configured.
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.inner
            .models
            .iter()
            .filter(|m| self.inner.upstreams.contains_key(m.provider.as_str()))
    }

    /// The configured providers and their breakers.
    pub fn providers(&self) -> Vec<ProviderStatus> {
        self.inner
            .order
            .iter()
            .map(|id| ProviderStatus {
                id,
                breaker: self.inner.upstreams[id].breaker.state(),
            })
            .collect()
    }

    /// The default output limit.
    pub fn max_tokens(&self) -> u32 {
        self.inner.settings.max_tokens
    }

    /// Refuses a user over the daily budget (429 until the next UTC midnight).
    pub async fn check_budget(&self, db: &DbPool, user_id: Uuid) -> Result<(), GatewayError> {
        let settings = &self.inner.settings;
        if settings.daily_token_budget.is_none() && settings.daily_cost_budget_micros.is_none() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        let midnight = now.replace_time(time::Time::MIDNIGHT);
        let (tokens, cost) = usage::spent_since(db, user_id, midnight).await?;
        let over_tokens = settings
            .daily_token_budget
            .is_some_and(|budget| u64::try_from(tokens).unwrap_or(0) >= budget);
        let over_cost = settings
            .daily_cost_budget_micros
            .is_some_and(|budget| cost >= budget);
        if over_tokens || over_cost {
            let reset = midnight + time::Duration::DAY - now;
            return Err(GatewayError::OverBudget(reset.unsigned_abs()));
        }
        Ok(())
    }

    fn candidates(
        &self,
        route: &Route,
        request: &ChatRequest,
    ) -> Result<Vec<ModelSpec>, RouteError> {
        let chosen = router::candidates(&self.inner.models, route, &request.messages, |p| {
            self.inner.upstreams.contains_key(p)
        })?;
        Ok(chosen.into_iter().cloned().collect())
    }

    /// Calls the candidates in order until one succeeds: each behind its provider's
    /// breaker and within the per-attempt timeout. A failure is recorded; a transient one
    /// moves on to the next candidate, any other ends the request.
    async fn first_success<T>(
        &self,
        db: &DbPool,
        (user_id, route, request): (Uuid, &Route, &ChatRequest),
        streamed: bool,
        call: impl for<'m> Fn(
            &'m dyn LlmProvider,
            &'m str,
            &'m ChatRequest,
        ) -> BoxFuture<'m, Result<T, ProviderError>>,
    ) -> Result<(T, Record), GatewayError> {
        let mut failures = Failures::default();
        for model in self.candidates(route, request)? {
            let upstream = &self.inner.upstreams[model.provider.as_str()];
            if !upstream.breaker.try_acquire() {
                failures.skipped(&model);
                continue;
            }
            let record = Record::new(user_id, model, Instant::now(), streamed);
            let attempt = call(upstream.provider.as_ref(), &record.model.id, request);
            let error = match tokio::time::timeout(self.inner.settings.timeout, attempt).await {
                Ok(Ok(value)) => {
                    upstream.breaker.record(true);
                    return Ok((value, record));
                }
                Ok(Err(error)) => error,
                Err(_) => ProviderError::Timeout,
            };
            // Only failures of the provider count against its breaker, not refusals of
            // one request.
            upstream.breaker.record(!error.is_transient());
            record
                .store(db, TokenUsage::default(), 0, error.outcome())
                .await;
            failures.failed(&record.model, error)?;
        }
        Err(failures.into_error())
    }

    /// A whole answer, falling back across providers on transient failures.
    pub async fn chat(
        &self,
        db: &DbPool,
        user_id: Uuid,
        route: &Route,
        request: &ChatRequest,
    ) -> Result<Answer, GatewayError> {
        let (completion, record) = self
            .first_success(
                db,
                (user_id, route, request),
                false,
                |provider, model, request| provider.chat(model, request),
            )
            .await?;
        let usage = completion.usage;
        let cost_micros = record
            .model
            .cost_micros(usage.input_tokens, usage.output_tokens);
        record.store(db, usage, cost_micros, "ok").await;
        Ok(Answer {
            model: record.model,
            completion,
            cost_micros,
        })
    }

    /// Starts a streamed answer. The fallback happens only until the first piece of the
    /// answer is in hand: an error before it (at connect, as a status, or as the stream's
    /// first event) moves on to the next candidate; after it, the error goes to the client
    /// as an event and nothing is retried.
    pub async fn stream(
        &self,
        db: &DbPool,
        user_id: Uuid,
        route: &Route,
        request: &ChatRequest,
    ) -> Result<StartedStream, GatewayError> {
        let ((first, events), record) = self
            .first_success(
                db,
                (user_id, route, request),
                true,
                |provider, model, request| {
                    Box::pin(async move {
                        let mut events = provider.stream(model, request).await?;
                        let first = events.next().await.unwrap_or_else(|| {
                            Err(ProviderError::Decode(
                                "the stream ended without an event".into(),
                            ))
                        })?;
                        Ok((first, events))
                    })
                },
            )
            .await?;
        let model = record.model.clone();
        let (sender, receiver) = mpsc::channel(16);
        let forward = Forward {
            db: db.clone(),
            record,
            timeout: self.inner.settings.timeout,
            sender,
        };
        tokio::spawn(forward.run(first, events));
        Ok(StartedStream {
            model,
            events: receiver,
        })
    }
}

/// The failures of the candidates tried so far.
#[derive(Default)]
struct Failures {
    last: Option<String>,
    all_rate_limited: bool,
    retry_after: Option<Duration>,
    tried: usize,
}

impl Failures {
    fn skipped(&mut self, model: &ModelSpec) {
        tracing::warn!(provider = %model.provider, "AI provider skipped: circuit open");
        self.last = Some(format!("{}: circuit open", model.provider));
        self.all_rate_limited = false;
        self.tried += 1;
    }

    /// Records a failure; a non-transient one ends the attempt at once.
    fn failed(&mut self, model: &ModelSpec, error: ProviderError) -> Result<(), GatewayError> {
        tracing::warn!(provider = %model.provider, model = %model.id, %error, "AI provider call failed");
        if !error.is_transient() {
            let status = match &error {
                ProviderError::Status { status, .. } => Some(*status),
                _ => None,
            };
            return Err(GatewayError::Rejected {
                status,
                message: error.to_string(),
            });
        }
        let first = self.tried == 0;
        self.tried += 1;
        match &error {
            ProviderError::Status {
                status: 429,
                retry_after,
                ..
            } => {
                self.all_rate_limited = first || self.all_rate_limited;
                self.retry_after = match (self.retry_after, retry_after) {
                    (Some(a), Some(b)) => Some(a.min(*b)),
                    (a, b) => a.or(*b),
                };
            }
            _ => self.all_rate_limited = false,
        }
        self.last = Some(format!("{}: {error}", model.provider));
        Ok(())
    }

    fn into_error(self) -> GatewayError {
        if self.all_rate_limited {
            GatewayError::RateLimited(self.retry_after)
        } else {
            GatewayError::Unavailable(self.last.unwrap_or_default())
        }
    }
}

/// What the usage row of one call needs besides its result.
struct Record {
    user_id: Uuid,
    model: ModelSpec,
    started: Instant,
    streamed: bool,
}

impl Record {
    fn new(user_id: Uuid, model: ModelSpec, started: Instant, streamed: bool) -> Self {
        Self {
            user_id,
            model,
            started,
            streamed,
        }
    }

    /// Stores the row; a failure is logged, never turned into a failed answer.
    async fn store(&self, db: &DbPool, usage: TokenUsage, cost_micros: i64, outcome: &str) {
        let record = UsageRecord {
            user_id: self.user_id,
            provider: &self.model.provider,
            model: &self.model.id,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost_micros,
            latency_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            streamed: self.streamed,
            outcome,
        };
        if let Err(error) = usage::insert_usage(db, &record).await {
            tracing::error!(%error, "could not record AI usage");
        }
    }
}

/// Moves a started stream's events to the client, then records its usage.
struct Forward {
    db: DbPool,
    record: Record,
    timeout: Duration,
    sender: mpsc::Sender<GatewayEvent>,
}

impl Forward {
    async fn run(self, first: StreamEvent, mut events: EventStream) {
        let mut next = Some(Ok(first));
        let (usage, outcome) = loop {
            let item = match next.take() {
                Some(item) => Some(item),
                None => tokio::select! {
                    // The client went away: dropping `events` closes the provider connection.
                    () = self.sender.closed() => break (TokenUsage::default(), "cancelled"),
                    item = tokio::time::timeout(self.timeout, events.next()) => {
                        item.unwrap_or(Some(Err(ProviderError::Timeout)))
                    }
                },
            };
            let event = match item {
                Some(Ok(StreamEvent::Delta(text))) => GatewayEvent::Delta(text),
                Some(Ok(StreamEvent::Finished {
                    finish_reason,
                    usage,
                })) => {
                    let cost_micros = self
                        .record
                        .model
                        .cost_micros(usage.input_tokens, usage.output_tokens);
                    let done = GatewayEvent::Done {
                        finish_reason,
                        usage,
                        cost_micros,
                    };
                    // Recorded before the client sees the end, so a finished stream is
                    // always in the usage table.
                    self.record.store(&self.db, usage, cost_micros, "ok").await;
                    let _ = self.sender.send(done).await;
                    return;
                }
                Some(Err(error)) => {
                    tracing::warn!(provider = %self.record.model.provider, %error, "AI stream failed");
                    let _ = self
                        .sender
                        .send(GatewayEvent::Error(error.outcome().to_owned()))
                        .await;
                    break (TokenUsage::default(), "stream_error");
                }
                None => break (TokenUsage::default(), "stream_error"),
            };
            if self.sender.send(event).await.is_err() {
                break (TokenUsage::default(), "cancelled");
            }
        };
        drop(events);
        self.record.store(&self.db, usage, 0, outcome).await;
    }
}
