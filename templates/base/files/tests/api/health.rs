//! `/health/*` and `/metrics`.

use axum::http::StatusCode;

use crate::test_app;

#[tokio::test]
async fn live_answers_ok_without_touching_dependencies() {
    let app = test_app!();
    for path in ["/health/live", "/health"] {
        let response = app.get(path, None).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body["status"], "ok");
    }
}

#[tokio::test]
async fn ready_reports_each_dependency() {
    let app = test_app!();
    let response = app.get("/health/ready", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["database"]["status"], "ok");
    // A shared store that is unreachable leaves the app degraded, not down.
    let cache = response.body["cache"]["status"].as_str().unwrap_or("ok");
    let expected = if cache == "ok" { "ok" } else { "degraded" };
    assert_eq!(response.body["status"], expected, "{response:?}");
}

#[tokio::test]
async fn ready_returns_503_when_the_database_is_down() {
    let app = test_app!();
    app.state.db.close().await;
    let response = app.get("/health/ready", None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.body["status"], "error");
    assert_eq!(response.body["database"]["status"], "error");
}

#[tokio::test]
async fn metrics_are_labelled_by_matched_route_not_raw_path() {
    let app = test_app!();
    let id = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/app/projects/{id}"), None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let text = response.body.as_str().expect("text body");
    assert!(
        text.contains(r#"route="/api/v1/app/projects/{id}""#),
        "{text}"
    );
    assert!(!text.contains(&id.to_string()));
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_configured() {
    let token = "metrics-token-0123456789abcdef0123456789";
    let app = test_app!(&[("METRICS_TOKEN", token)]);
    assert_eq!(
        app.get("/metrics", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/metrics", Some("metrics-token-0123456789abcdef012345678X"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let response = app.get("/metrics", Some(token)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.as_str().is_some(), "{:?}", response.body);
}
