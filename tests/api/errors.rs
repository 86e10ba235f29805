//! Errors the framework produces on its own answer in the contract's envelope too.

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn unknown_route_is_not_found_in_the_envelope() {
    let app = spawn_app().await;
    let message = assert_error(app.get("/no/such/thing").await, 404, "NOT_FOUND").await;
    assert!(message.contains("/no/such/thing"), "{message}");
}

#[tokio::test]
async fn wrong_method_is_method_not_allowed_in_the_envelope() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    let message = assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
    assert!(message.contains("POST"), "{message}");
}

#[tokio::test]
async fn hostile_paths_never_produce_a_server_error_or_html() {
    let app = spawn_app().await;
    for path in [
        "/%00",
        "/healthz/../../etc/passwd",
        "/rfmcube/customers'%20OR%201=1--",
        "/%F0%9F%92%A9",
        "/docs/../../../../etc/passwd",
    ] {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{path} answered {status}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
    }
}
