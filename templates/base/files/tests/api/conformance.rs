//! Responses against the served OpenAPI document: every status a test observes through
//! [`crate::helpers::TestApp::send`] must be documented for the route that answered, so
//! generated clients and API fuzzers see what the server really does.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// Routes served outside the document: metrics, the document itself and the docs UI.
const UNDOCUMENTED: &[&str] = &["/metrics", "/openapi.json", "/docs"];

/// The document's path template matching `path` (`/projects/{id}` for `/projects/0193...`),
/// preferring literal segments (`/users/me` over `/users/{id}`).
pub fn matched_template<'a>(document: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// Why `status` for `method path` disagrees with `document`, or `None` when it agrees.
pub fn disagreement(
    document: &Value,
    method: &Method,
    path: &str,
    status: StatusCode,
) -> Option<String> {
    // Preflights and HEAD are answered by the CORS layer and axum, not by operations.
    if *method == Method::OPTIONS || *method == Method::HEAD {
        return None;
    }
    let Some(template) = matched_template(document, path) else {
        let undocumented = UNDOCUMENTED
            .iter()
            .any(|route| path == *route || path.starts_with(&format!("{route}/")));
        // The fallback answers 404 for unknown paths.
        return (!undocumented && status != StatusCode::NOT_FOUND)
            .then(|| format!("{method} {path} answered {status} but is not in the document"));
    };
    let operation = &document["paths"][template][method.as_str().to_lowercase()];
    if operation.is_null() {
        return (status != StatusCode::METHOD_NOT_ALLOWED).then(|| {
            format!("{method} {template} is not documented, yet answered {status} (not 405)")
        });
    }
    let responses = &operation["responses"];
    let documented = responses[status.as_str()].is_object() || responses["default"].is_object();
    (!documented).then(|| {
        let listed: Vec<&String> = responses
            .as_object()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        format!("{method} {template} answered {status}, the document lists only {listed:?}")
    })
}

/// Panics when the document does not list `status` for `method path`.
pub fn assert_documented(document: &Value, method: &Method, path: &str, status: StatusCode) {
    if let Some(problem) = disagreement(document, method, path, status) {
        panic!("OpenAPI document out of date: {problem}");
    }
}

#[test]
fn the_check_catches_an_undocumented_status_and_route() {
    let document = json!({ "paths": {
        "/items/{id}": { "get": { "responses": { "200": {}, "404": {} } } },
        "/items/mine": { "get": { "responses": { "200": {} } } },
    }});
    let get = Method::GET;
    assert_eq!(
        matched_template(&document, "/items/42"),
        Some("/items/{id}")
    );
    assert_eq!(
        matched_template(&document, "/items/mine"),
        Some("/items/mine")
    );
    assert!(disagreement(&document, &get, "/items/42", StatusCode::NOT_FOUND).is_none());
    assert!(disagreement(&document, &get, "/items/42", StatusCode::OK).is_none());
    assert!(
        disagreement(
            &document,
            &get,
            "/items/42",
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .is_some()
    );
    assert!(disagreement(&document, &get, "/items/mine", StatusCode::NOT_FOUND).is_some());
    assert!(disagreement(&document, &Method::POST, "/items/42", StatusCode::OK).is_some());
    assert!(
        disagreement(
            &document,
            &Method::POST,
            "/items/42",
            StatusCode::METHOD_NOT_ALLOWED
        )
        .is_none()
    );
    assert!(disagreement(&document, &get, "/other", StatusCode::NOT_FOUND).is_none());
    assert!(disagreement(&document, &get, "/other", StatusCode::OK).is_some());
    assert!(disagreement(&document, &get, "/metrics", StatusCode::OK).is_none());
}
