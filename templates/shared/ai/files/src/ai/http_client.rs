//! What the providers' HTTP calls share: the [`WireFormat`] a provider describes and the
//! [`LlmProvider`] that follows from it, sending a request, turning an error answer into a
//! [`ProviderError`] without keeping more of it than the message, and decoding a streamed
//! body into [`StreamEvent`]s.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::RETRY_AFTER;
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::provider::{
    BoxFuture, ChatRequest, Completion, EventStream, LlmProvider, ProviderError, StreamEvent,
};
use super::sse::{SseEvent, SseParser};

/// One provider's HTTP dialect: how a request is written, how a whole answer and a stream
/// are read. Every such provider is an [`LlmProvider`]: sending, error answers and the
/// event-stream loop are the same for all.
pub trait WireFormat: Send + Sync {
    /// The whole answer's JSON.
    type Answer: DeserializeOwned + Send;
    /// Reads this provider's stream events.
    type Decoder: StreamDecoder;

    /// Its id in the model catalog and in usage records.
    fn id(&self) -> &'static str;

    /// The request (URL, key header, body) for `model`, streamed or not.
    fn request(&self, model: &str, request: &ChatRequest, stream: bool) -> RequestBuilder;

    /// The answer as a [`Completion`].
    fn completion(answer: Self::Answer) -> Result<Completion, ProviderError>;

    /// A decoder for one stream.
    fn decoder(&self) -> Self::Decoder;
}

impl<W: WireFormat> LlmProvider for W {
    fn id(&self) -> &'static str {
        WireFormat::id(self)
    }

    fn chat<'a>(
        &'a self,
        model: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let response = send(self.request(model, request, false)).await?;
            W::completion(json(response).await?)
        })
    }

    fn stream<'a>(
        &'a self,
        model: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<EventStream, ProviderError>> {
        Box::pin(async move {
            let response = send(self.request(model, request, true)).await?;
            Ok(decode_stream(response, self.decoder()))
        })
    }
}

/// Largest error or answer body read from a provider.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The shared HTTP client: rustls, a connect timeout; per-attempt timeouts are the gateway's.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("the TLS backend initialises")
}

/// Sends `request`; a non-2xx answer becomes [`ProviderError::Status`].
pub async fn send(request: RequestBuilder) -> Result<Response, ProviderError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .map(Duration::from_secs);
    let body = read_body(response).await.unwrap_or_default();
    Err(ProviderError::Status {
        status: status.as_u16(),
        retry_after,
        message: error_message(&body),
    })
}

/// Reads and parses a JSON answer.
pub async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ProviderError> {
    let body = read_body(response).await?;
    serde_json::from_slice(&body).map_err(|error| ProviderError::Decode(error.to_string()))
}

/// The message of an error body: every supported wire format puts it at `error.message`;
/// anything else is summarised by its size only.
pub fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{} bytes without an error message", body.len()))
}

async fn read_body(mut response: Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ProviderError::Decode("answer larger than 4 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest failure as a provider error (timeouts stay timeouts).
pub fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout
    } else {
        // Without the URL: it may carry a key (Gemini accepts one in the query string).
        ProviderError::Transport(error.without_url().to_string())
    }
}

/// Turns one provider's stream events into [`StreamEvent`]s.
pub trait StreamDecoder: Send + 'static {
    /// The events one SSE event means (often none, e.g. a ping).
    fn event(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, ProviderError>;

    /// The body ended: the final events, or an error when the stream was cut short.
    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError>;
}

/// An event's JSON data; `what` names it in the error.
pub fn event_json<T: DeserializeOwned>(event: &SseEvent, what: &str) -> Result<T, ProviderError> {
    serde_json::from_str(&event.data)
        .map_err(|error| ProviderError::Decode(format!("{what}: {error}")))
}

/// An error reported inside a stream after the 200 (`{"message": ...}` in every format),
/// as the status it stands for.
pub fn stream_error(status: u16, error: &Value) -> ProviderError {
    ProviderError::Status {
        status,
        retry_after: None,
        message: error["message"]
            .as_str()
            .unwrap_or("error event")
            .to_owned(),
    }
}

/// The end of a body that needs an end marker: nothing more when it came, an error (the
/// answer was cut off) when it did not.
pub fn end_marker(seen: bool, marker: &str) -> Result<Vec<StreamEvent>, ProviderError> {
    if seen {
        Ok(Vec::new())
    } else {
        Err(ProviderError::Transport(format!(
            "the stream ended before {marker}"
        )))
    }
}

struct Decoding<D> {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    parser: SseParser,
    decoder: D,
    ready: VecDeque<Result<StreamEvent, ProviderError>>,
    finished: bool,
}

/// The events of a streamed answer. Dropping the stream drops the connection, which is
/// how a client that goes away cancels the provider's generation.
pub fn decode_stream<D: StreamDecoder>(response: Response, decoder: D) -> EventStream {
    let state = Decoding {
        body: response.bytes_stream().boxed(),
        parser: SseParser::default(),
        decoder,
        ready: VecDeque::new(),
        finished: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.ready.pop_front() {
                // After an error nothing more is read.
                if item.is_err() {
                    state.finished = true;
                    state.ready.clear();
                }
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            let mut events = Vec::new();
            match state.body.next().await {
                Some(Ok(chunk)) => {
                    if let Err(error) = state.parser.feed(&chunk, &mut events) {
                        state.ready.push_back(Err(ProviderError::Decode(error)));
                        continue;
                    }
                }
                Some(Err(error)) => {
                    state.ready.push_back(Err(transport(error)));
                    continue;
                }
                None => {
                    state.parser.finish(&mut events);
                    state.finished = true;
                }
            }
            let ended = state.finished;
            state.finished = false;
            for event in events {
                match state.decoder.event(event) {
                    Ok(decoded) => state.ready.extend(decoded.into_iter().map(Ok)),
                    Err(error) => state.ready.push_back(Err(error)),
                }
            }
            if ended {
                match state.decoder.end() {
                    Ok(decoded) => state.ready.extend(decoded.into_iter().map(Ok)),
                    Err(error) => state.ready.push_back(Err(error)),
                }
                state.finished = true;
            }
        }
    })
    .boxed()
}
