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

#[tokio::test]
async fn head_is_answered_as_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/healthz", "/openapi.json"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let response = app.client.head(app.url("/no/such")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn a_body_in_an_unknown_content_encoding_is_refused_with_415() {
    let app = spawn_app().await;
    for coding in ["zstd", "x-bogus", "gzip, br"] {
        let response = app
            .client
            .post(app.url("/rfmcube/orders"))
            .header("api-key", crate::helpers::API_KEY)
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body("{}")
            .send()
            .await
            .unwrap();
        let message = assert_error(response, 415, "BAD_REQUEST").await;
        assert!(message.contains("Content-Encoding"), "{coding}: {message}");
    }
    let identity = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", crate::helpers::API_KEY)
        .header("content-type", "application/json")
        .header("content-encoding", "Identity")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(identity.status().as_u16(), 200);
}

#[tokio::test]
async fn authorization_schemes_are_matched_without_regard_to_case() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .get(app.url("/admin/destinations"))
            .header(
                "authorization",
                format!("{scheme} {}", crate::helpers::ADMIN_TOKEN),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
    }
}
