//! `/api/v1/app/users/me`.

use axum::http::StatusCode;

use crate::test_app;

#[tokio::test]
async fn me_returns_the_callers_account_without_credentials() {
    let app = test_app!();
    let (id, token) = app.user("ada@example.com").await;
    let response = app.get("/api/v1/app/users/me", Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["id"], id.to_string());
    assert_eq!(response.body["email"], "ada@example.com");
    assert_eq!(response.body["role"], "user");
    assert!(response.body.get("password_hash").is_none());
}

#[tokio::test]
async fn me_without_a_token_returns_401_with_www_authenticate() {
    let app = test_app!();
    let response = app.get("/api/v1/app/users/me", None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    assert_eq!(response.body["code"], "unauthorized");
}
