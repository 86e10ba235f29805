//! Bad input: a 4xx in the envelope naming the field, never a 500, never HTML.

use serde_json::json;

use super::{post, post_ok};
use crate::helpers::{assert_error, spawn_app, OLD_API_KEY};

const PATHS: [&str; 2] = ["/rfmcube/customers", "/rfmcube/orders"];

#[tokio::test]
async fn a_missing_or_wrong_api_key_is_unauthorized() {
    let app = spawn_app().await;
    for path in PATHS {
        let none = app
            .client
            .post(app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let message = assert_error(none, 401, "UNAUTHORIZED").await;
        assert!(message.contains("api-key"), "{message}");
        let wrong = app
            .client
            .get(app.url(path))
            .header("api-key", "guess")
            .send()
            .await
            .unwrap();
        assert_error(wrong, 401, "UNAUTHORIZED").await;
        let not_ascii = app
            .client
            .get(app.url(path))
            .header(
                "api-key",
                reqwest::header::HeaderValue::from_bytes(b"cl\xc3\xa9").unwrap(),
            )
            .send()
            .await
            .unwrap();
        let message = assert_error(not_ascii, 401, "UNAUTHORIZED").await;
        assert!(message.contains("not valid"), "{message}");
    }
}

#[tokio::test]
async fn a_rotated_out_key_still_listed_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", OLD_API_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn unauthenticated_requests_learn_nothing_about_their_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rfmcube/customers"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn invalid_fields_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let cases = [
        (json!({"from": "yesterday"}), "from"),
        (json!({"to": "2025-02-30T00:00:00Z"}), "to"),
        (
            json!({"from": "2025-03-02T00:00:00Z", "to": "2025-03-01T00:00:00Z"}),
            "from",
        ),
        (
            json!({"from": "2025-03-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}),
            "from",
        ),
        (json!({"pageSize": 0}), "pageSize"),
        (json!({"pageSize": 1001}), "pageSize"),
        (json!({"pageSize": -5}), "pageSize"),
        (json!({"pageSize": "10"}), "pageSize"),
        (json!({"pageSize": 1.5}), "pageSize"),
        (json!({"pageSize": 1e300}), "pageSize"),
        (json!({"page": 0}), "page"),
        (json!({"page": 99999999999999999i64}), "page"),
        (json!({"page": true}), "page"),
        (json!({"dateField": "deletedAt"}), "dateField"),
        (json!({"dateField": 3}), "dateField"),
        (json!({"from": 20250301}), "from"),
        (json!({"cursor": 12}), "cursor"),
        (json!({"cursor": "eyJ2IjoxfQ.AAAA"}), "cursor"),
    ];
    for path in PATHS {
        for (body, field) in &cases {
            let message = assert_error(post(&app, path, body).await, 400, "BAD_REQUEST").await;
            assert!(
                message.starts_with(&format!("{field}:")),
                "{body} → {message}"
            );
        }
    }
}

#[tokio::test]
async fn query_parameters_are_validated_like_the_body() {
    let app = spawn_app().await;
    for (query, field) in [
        ("pageSize=abc", "pageSize"),
        ("pageSize=5000", "pageSize"),
        ("page=-1", "page"),
        ("from=2025-03-01", "from"),
        ("dateField=modifiedAt", "dateField"),
        ("pageSize=99999999999999999999999", "pageSize"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/rfmcube/orders?{query}")))
            .header("api-key", crate::helpers::API_KEY)
            .send()
            .await
            .unwrap();
        let message = assert_error(response, 400, "BAD_REQUEST").await;
        assert!(
            message.starts_with(&format!("{field}:")),
            "{query} → {message}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    for body in [
        "{",
        "[1,2",
        "{\"pageSize\": }",
        "null",
        "[]",
        "\"text\"",
        "{\"a\":1}}",
    ] {
        let response = app
            .client
            .post(app.url("/rfmcube/orders"))
            .header("api-key", crate::helpers::API_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "BAD_REQUEST").await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", crate::helpers::API_KEY)
        .header("content-type", "text/plain")
        .body("pageSize=5")
        .send()
        .await
        .unwrap();
    let message = assert_error(response, 400, "BAD_REQUEST").await;
    assert!(message.contains("application/json"), "{message}");
}

#[tokio::test]
async fn an_empty_body_means_all_defaults() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", crate::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn an_oversize_body_is_payload_too_large() {
    let app = spawn_app().await;
    let huge = format!("{{\"cursor\": \"{}\"}}", "x".repeat(200 * 1024));
    let response = app
        .client
        .post(app.url("/rfmcube/customers"))
        .header("api-key", crate::helpers::API_KEY)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn hostile_strings_never_produce_a_server_error() {
    let app = spawn_app().await;
    let hostile = [
        "'; DROP TABLE customers; --",
        "2025-03-01T00:00:00Z' OR '1'='1",
        "\u{0000}",
        "💥🔥",
        "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ",
        "%00%27",
        "9999999999-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:60Z",
    ];
    for path in PATHS {
        for value in hostile {
            for field in ["from", "to", "dateField", "cursor"] {
                let response = post(&app, path, &json!({ field: value })).await;
                let status = response.status().as_u16();
                assert!(
                    status == 200 || status == 400,
                    "{field}={value:?} answered {status}"
                );
            }
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    post_ok(&app, "/rfmcube/customers", &json!({})).await;
}
