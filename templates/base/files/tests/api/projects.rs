//! `/api/v1/app/projects`: CRUD scoped to the owner.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::test_app;

const PROJECTS: &str = "/api/v1/app/projects";

/// A signed-in user with one project, "Apollo": her token and the project's URI.
async fn apollo(app: &TestApp) -> (String, String) {
    let (_, token) = app.user("ada@example.com").await;
    let created = app
        .post(PROJECTS, Some(&token), json!({ "name": "Apollo" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let uri = format!("{PROJECTS}/{}", created.body["id"].as_str().unwrap());
    (token, uri)
}

#[tokio::test]
async fn create_project_returns_201_with_the_project() {
    let app = test_app!();
    let (user_id, token) = app.user("ada@example.com").await;
    let response = app
        .post(
            PROJECTS,
            Some(&token),
            json!({ "name": "  Apollo ", "description": "moon" }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["name"], "Apollo");
    assert_eq!(response.body["description"], "moon");
    assert_eq!(response.body["owner_id"], user_id.to_string());
    assert!(response.body["created_at"].is_string());
}

#[tokio::test]
async fn create_project_returns_422_for_an_empty_name() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let response = app
        .post(PROJECTS, Some(&token), json!({ "name": "   " }))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.body["detail"][0]["loc"], json!(["body", "name"]));
    assert_eq!(response.body["detail"][0]["type"], "too_short");
}

#[tokio::test]
async fn text_with_a_nul_character_is_a_422_not_a_database_error() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let create = app
        .post(PROJECTS, Some(&token), json!({ "name": "a\u{0}b" }))
        .await;
    assert_eq!(create.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(create.body["detail"][0]["type"], "invalid_character");
    let search = app
        .get(&format!("{PROJECTS}?search=a%00"), Some(&token))
        .await;
    assert_eq!(search.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn create_project_requires_a_token() {
    let app = test_app!();
    let response = app.post(PROJECTS, None, json!({ "name": "Apollo" })).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn list_projects_pages_newest_first_with_a_total_count() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    for name in ["one", "two", "three"] {
        app.post(PROJECTS, Some(&token), json!({ "name": name }))
            .await;
    }
    let first = app.get(&format!("{PROJECTS}?limit=2"), Some(&token)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["count"], 3);
    let names: Vec<_> = first.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("three"), json!("two")]);
    let second = app
        .get(&format!("{PROJECTS}?limit=2&offset=2"), Some(&token))
        .await;
    assert_eq!(second.body["data"][0]["name"], "one");
    assert_eq!(second.body["count"], 3);
}

#[tokio::test]
async fn list_projects_searches_names_ignoring_case_and_wildcards() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    for name in ["Apollo", "Gemini", "100% done", "1000 done"] {
        app.post(PROJECTS, Some(&token), json!({ "name": name }))
            .await;
    }
    let apollo = app
        .get(&format!("{PROJECTS}?search=APOL"), Some(&token))
        .await;
    assert_eq!(apollo.body["count"], 1);
    assert_eq!(apollo.body["data"][0]["name"], "Apollo");
    let percent = app
        .get(&format!("{PROJECTS}?search=0%25"), Some(&token))
        .await;
    assert_eq!(percent.body["count"], 1, "{:?}", percent.body);
    assert_eq!(percent.body["data"][0]["name"], "100% done");
}

#[tokio::test]
async fn list_projects_rejects_out_of_range_paging_with_422() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let response = app
        .get(&format!("{PROJECTS}?limit=1000&offset=-1"), Some(&token))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let locs: Vec<_> = response.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [json!(["query", "limit"]), json!(["query", "offset"])]
    );
    let not_a_number = app
        .get(&format!("{PROJECTS}?limit=ten"), Some(&token))
        .await;
    assert_eq!(not_a_number.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn list_projects_shows_only_the_callers_projects() {
    let app = test_app!();
    let (_, ada) = app.user("ada@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    app.post(PROJECTS, Some(&ada), json!({ "name": "Ada's" }))
        .await;
    let response = app.get(PROJECTS, Some(&bob)).await;
    assert_eq!(response.body["count"], 0);
    assert_eq!(response.body["data"], json!([]));
}

#[tokio::test]
async fn get_project_returns_the_callers_project() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let created = app
        .post(PROJECTS, Some(&token), json!({ "name": "Apollo" }))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let response = app.get(&format!("{PROJECTS}/{id}"), Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, created.body);
}

#[tokio::test]
async fn another_users_project_is_not_found() {
    let app = test_app!();
    let (_, ada) = app.user("ada@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let created = app
        .post(PROJECTS, Some(&ada), json!({ "name": "Apollo" }))
        .await;
    let uri = format!("{PROJECTS}/{}", created.body["id"].as_str().unwrap());
    assert_eq!(
        app.get(&uri, Some(&bob)).await.status,
        StatusCode::NOT_FOUND
    );
    let patch = app.patch(&uri, Some(&bob), json!({ "name": "Mine" })).await;
    assert_eq!(patch.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&uri, Some(&bob)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&uri, Some(&ada)).await.body["name"], "Apollo");
}

#[tokio::test]
async fn a_malformed_project_id_returns_422() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let response = app
        .get(&format!("{PROJECTS}/not-a-uuid"), Some(&token))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.body["detail"][0]["loc"], json!(["path"]));
}

#[tokio::test]
async fn update_project_changes_only_the_given_fields() {
    let app = test_app!();
    let (_, token) = app.user("ada@example.com").await;
    let created = app
        .post(
            PROJECTS,
            Some(&token),
            json!({ "name": "Apollo", "description": "moon" }),
        )
        .await;
    let uri = format!("{PROJECTS}/{}", created.body["id"].as_str().unwrap());
    let renamed = app
        .patch(&uri, Some(&token), json!({ "name": "Artemis" }))
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.body["name"], "Artemis");
    assert_eq!(renamed.body["description"], "moon");
    let cleared = app
        .patch(&uri, Some(&token), json!({ "description": null }))
        .await;
    assert_eq!(cleared.body["name"], "Artemis");
    assert_eq!(cleared.body["description"], json!(null));
}

#[tokio::test]
async fn update_project_returns_422_for_an_empty_name() {
    let app = test_app!();
    let (token, uri) = apollo(&app).await;
    let response = app.patch(&uri, Some(&token), json!({ "name": "" })).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_returns_422() {
    let app = test_app!();
    let (token, uri) = apollo(&app).await;
    // serde reads a JSON array as a struct's fields in order: `[null, null]` would be `{}`.
    for body in [
        json!([null, null]),
        json!(["Renamed", null]),
        json!([]),
        json!("Apollo"),
    ] {
        let patched = app.patch(&uri, Some(&token), body.clone()).await;
        assert_eq!(patched.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(patched.body["code"], "validation_error", "{body}");
    }
    let created = app
        .post(PROJECTS, Some(&token), json!(["Apollo", null]))
        .await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unchanged = app.get(&uri, Some(&token)).await;
    assert_eq!(unchanged.body["name"], "Apollo");
}

#[tokio::test]
async fn delete_project_hides_it_from_every_endpoint() {
    let app = test_app!();
    let (token, uri) = apollo(&app).await;
    let deleted = app.delete(&uri, Some(&token)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&uri, Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&uri, Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(PROJECTS, Some(&token)).await.body["count"], 0);
}
