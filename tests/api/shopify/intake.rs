//! What the two URLs take and refuse, before anything is applied.

use super::*;
use crate::helpers::{assert_error, spawn_app, OLD_SHOPIFY_SECRET};

#[tokio::test]
async fn the_seed_payloads_are_verified_stored_as_received_and_answered() {
    let app = spawn_app().await;
    for (topic, id, body) in [
        ("orders/create", "w-order", order()),
        ("fulfillments/create", "w-fulfillment", fulfillment()),
        ("products/create", "w-product", product()),
    ] {
        let answer = send(&app, topic, id, &body).await;
        assert_eq!(answer["duplicate"], false, "{answer}");
        let inbox_id = answer["id"].as_i64().expect("inbox id");
        let (stored_topic, domain, triggered, version, stored_body): (String, String, String, String, String) =
            sqlx::query_as(
                "SELECT topic, shop_domain, to_char(triggered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'),
                        api_version, body
                 FROM shopify_webhooks WHERE id = $1 AND webhook_id = $2",
            )
            .bind(inbox_id)
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(
            (
                stored_topic.as_str(),
                domain.as_str(),
                triggered.as_str(),
                version.as_str()
            ),
            (topic, SHOP_DOMAIN, "2019-03-06T19:33:50", "2024-10")
        );
        assert_eq!(stored_body, body, "the body is kept byte for byte");
    }
}

#[tokio::test]
async fn a_body_signed_with_the_previous_secret_is_accepted_during_a_rotation() {
    let app = spawn_app().await;
    let body = product();
    let mut headers = headers("products/update", "w-rotated", &body);
    headers[1].1 = Some(sign(OLD_SHOPIFY_SECRET, body.as_bytes()));
    let response = post_raw(&app, "/shopify/webhooks/products", &headers, body).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(stored(&app).await, 1);
}

#[tokio::test]
async fn a_wrong_missing_or_mangled_signature_or_a_body_altered_by_one_byte_is_refused() {
    let app = spawn_app().await;
    let body = order();
    let mut altered = body.clone().into_bytes();
    let at = altered.iter().position(|b| *b == b'4').unwrap();
    altered[at] = b'5';
    let signed = sign(crate::helpers::SHOPIFY_SECRET, body.as_bytes());
    let cases: Vec<(&str, Option<String>, Vec<u8>)> = vec![
        (
            "wrong secret",
            Some(sign("not-the-secret", body.as_bytes())),
            body.clone().into_bytes(),
        ),
        ("altered body", Some(signed.clone()), altered),
        ("missing header", None, body.clone().into_bytes()),
        ("not base64", Some("%%%".into()), body.clone().into_bytes()),
        (
            "hex, not base64",
            Some("ab".repeat(32)),
            body.clone().into_bytes(),
        ),
        ("empty", Some(String::new()), body.clone().into_bytes()),
    ];
    for (case, signature, bytes) in cases {
        let mut headers = headers("orders/create", case, &body);
        headers[1].1 = signature;
        let response = post_raw(&app, "/shopify/webhooks/orders", &headers, bytes).await;
        let message = assert_error(response, 401, "UNAUTHORIZED").await;
        assert!(
            message.contains("X-Shopify-Hmac-Sha256"),
            "{case}: {message}"
        );
        assert!(!message.contains(crate::helpers::SHOPIFY_SECRET), "{case}");
    }
    assert_eq!(stored(&app).await, 0, "nothing stored");
}

#[tokio::test]
async fn a_topic_the_url_does_not_take_or_a_missing_header_is_refused() {
    let app = spawn_app().await;
    let body = order();
    let cases: Vec<(&str, &str, usize, Option<String>, &str)> = vec![
        (
            "products at the orders URL",
            "/shopify/webhooks/orders",
            0,
            Some("products/create".into()),
            "X-Shopify-Topic",
        ),
        (
            "orders at the products URL",
            "/shopify/webhooks/products",
            0,
            Some("orders/create".into()),
            "X-Shopify-Topic",
        ),
        (
            "unknown topic",
            "/shopify/webhooks/orders",
            0,
            Some("orders/delete".into()),
            "X-Shopify-Topic",
        ),
        (
            "no topic",
            "/shopify/webhooks/orders",
            0,
            None,
            "X-Shopify-Topic",
        ),
        (
            "no webhook id",
            "/shopify/webhooks/orders",
            3,
            None,
            "X-Shopify-Webhook-Id",
        ),
        (
            "blank webhook id",
            "/shopify/webhooks/orders",
            3,
            Some("  ".into()),
            "X-Shopify-Webhook-Id",
        ),
        (
            "bad trigger time",
            "/shopify/webhooks/orders",
            4,
            Some("yesterday".into()),
            "X-Shopify-Triggered-At",
        ),
        (
            "control characters",
            "/shopify/webhooks/orders",
            2,
            Some("a\tb".into()),
            "X-Shopify-Shop-Domain",
        ),
        (
            "long header",
            "/shopify/webhooks/orders",
            3,
            Some("x".repeat(300)),
            "X-Shopify-Webhook-Id",
        ),
    ];
    for (case, path, header, value, named) in cases {
        let mut headers = headers("orders/create", case, &body);
        headers[header].1 = value;
        let response = post_raw(&app, path, &headers, body.clone()).await;
        let message = assert_error(response, 400, "BAD_REQUEST").await;
        assert!(message.starts_with(named), "{case}: {message}");
    }
    assert_eq!(stored(&app).await, 0, "nothing stored");
}

#[tokio::test]
async fn malformed_json_a_payload_of_the_wrong_shape_or_an_oversize_body_is_refused() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = [
        ("malformed", r#"{"id": 1,"#.into(), 400),
        ("not an object", "[1, 2]".into(), 400),
        ("no id", r##"{"name": "#1"}"##.into(), 400),
        (
            "id as a float",
            r#"{"id": 8.2e17, "currency": "EUR"}"#.into(),
            400,
        ),
        (
            "id beyond 64 bits",
            r#"{"id": 98209829119461545080}"#.into(),
            400,
        ),
        (
            "amount not a number",
            order_with(serde_json::json!({"total_price": "lots"})),
            400,
        ),
        (
            "line item without quantity",
            r#"{"id": 1, "line_items": [{"id": 2}]}"#.into(),
            400,
        ),
        ("raw NUL", "{\"id\": 1, \"name\": \"\u{0}\"}".into(), 400),
        (
            "oversize",
            format!(r#"{{"id": 1, "note": "{}"}}"#, "x".repeat(70 * 1024)),
            413,
        ),
    ]
    .into_iter()
    .map(|(case, body, status): (&str, String, u16)| (case, body.into_bytes(), status))
    .chain([(
        "not UTF-8",
        b"{\"id\": 1, \"name\": \"\xff\"}".to_vec(),
        400,
    )])
    .collect();
    for (case, body, status) in cases {
        let headers = headers("orders/create", case, &body);
        let response = post_raw(&app, "/shopify/webhooks/orders", &headers, body).await;
        let code = if status == 413 {
            "PAYLOAD_TOO_LARGE"
        } else {
            "BAD_REQUEST"
        };
        let message = assert_error(response, status, code).await;
        if case == "amount not a number" {
            assert!(message.contains("total_price"), "{message}");
        }
    }
    assert_eq!(stored(&app).await, 0, "nothing stored");
}

#[tokio::test]
async fn the_same_webhook_id_twice_is_stored_and_applied_once() {
    let app = spawn_app().await;
    let first = send(&app, "orders/create", "w-twice", &order()).await;
    let second = send(&app, "orders/create", "w-twice", &order()).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert!(second["id"].is_null());
    settled(&app).await;
    assert_eq!(stored(&app).await, 1);
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items),
                (SELECT count(*) FROM customers)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts, (1, 2, 1));
}
