//! `/api/v1/admin/users`: admin role required.

use axum::http::StatusCode;
use serde_json::json;

use crate::test_app;

#[tokio::test]
async fn admin_endpoints_return_403_for_a_regular_user() {
    let app = test_app!();
    let (id, token) = app.user("ada@example.com").await;
    let list = app.get("/api/v1/admin/users", Some(&token)).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    assert_eq!(list.body["code"], "forbidden");
    let patch = app
        .patch(
            &format!("/api/v1/admin/users/{id}"),
            Some(&token),
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_lists_users_with_paging() {
    let app = test_app!();
    let (_, admin) = app.admin().await;
    app.user("ada@example.com").await;
    app.user("bob@example.com").await;
    let response = app.get("/api/v1/admin/users?limit=2", Some(&admin)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["count"], 3);
    assert_eq!(response.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn admin_changes_role_and_activation() {
    let app = test_app!();
    let (_, admin) = app.admin().await;
    let (id, _) = app.user("ada@example.com").await;
    let uri = format!("/api/v1/admin/users/{id}");
    let promoted = app
        .patch(&uri, Some(&admin), json!({ "role": "admin" }))
        .await;
    assert_eq!(promoted.status, StatusCode::OK);
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(promoted.body["is_active"], true);
    let disabled = app
        .patch(&uri, Some(&admin), json!({ "is_active": false }))
        .await;
    assert_eq!(disabled.body["role"], "admin");
    assert_eq!(disabled.body["is_active"], false);
}

#[tokio::test]
async fn admin_update_validates_its_body() {
    let app = test_app!();
    let (_, admin) = app.admin().await;
    let (id, _) = app.user("ada@example.com").await;
    let uri = format!("/api/v1/admin/users/{id}");
    let empty = app.patch(&uri, Some(&admin), json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_role = app
        .patch(&uri, Some(&admin), json!({ "role": "root" }))
        .await;
    assert_eq!(unknown_role.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn admin_update_of_an_unknown_user_returns_404() {
    let app = test_app!();
    let (_, admin) = app.admin().await;
    let uri = format!("/api/v1/admin/users/{}", uuid::Uuid::now_v7());
    let response = app
        .patch(&uri, Some(&admin), json!({ "is_active": false }))
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}
