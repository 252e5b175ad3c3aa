//! A fast, fixed OpenAI-compatible upstream for bench/ai.py.
//!
//! `POST /v1/chat/completions` answers a whole `chat.completion` at once; with
//! `"stream": true` it sends the role chunk and a first delta at once, then one delta every
//! `MOCK_INTERVAL_MS` (default 1000) until `MOCK_CHUNKS` (default 60) deltas were sent, then
//! the finish chunk, the usage chunk and `[DONE]`. Listens on `127.0.0.1:$PORT`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

const ANSWER: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1741569952,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}}"#;

fn chunk(choices: Value, usage: Value) -> Bytes {
    let chunk = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
        "created": 1741569952, "model": "bench-model", "choices": choices, "usage": usage});
    Bytes::from(format!("data: {chunk}\n\n"))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn completions(body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    if request["stream"] != true {
        return ([(header::CONTENT_TYPE, "application/json")], ANSWER).into_response();
    }
    let chunks = env_number("MOCK_CHUNKS", 60);
    let interval = Duration::from_millis(env_number("MOCK_INTERVAL_MS", 1000));
    let head = futures_util::stream::iter([
        chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]), Value::Null),
        chunk(json!([{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]), Value::Null),
    ]);
    let deltas = futures_util::stream::iter(1..chunks).then(move |_| async move {
        tokio::time::sleep(interval).await;
        chunk(json!([{"index": 0, "delta": {"content": "lo"}, "finish_reason": null}]), Value::Null)
    });
    let tail = futures_util::stream::iter([
        chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), Value::Null),
        chunk(json!([]), json!({"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks})),
        Bytes::from_static(b"data: [DONE]\n\n"),
    ]);
    let body = head.chain(deltas).chain(tail).map(Ok::<_, Infallible>);
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(body)).into_response()
}

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8090".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind");
    let app = Router::new().route("/v1/chat/completions", post(completions));
    axum::serve(listener, app).await.expect("serve");
}
