//! Shopify webhook intake: the seed's three payloads, signed and posted over HTTP to the
//! running app; what is refused; how the stored webhooks become shop rows.

mod admin;
mod apply;
mod intake;
pub mod standin;

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::events::eventually;
use crate::helpers::{TestApp, SHOPIFY_SECRET};
use shopbridge::outbound::signature::hmac_sha256;

pub const SHOP_DOMAIN: &str = "shop-test.myshopify.com";

/// The seed's payloads, byte for byte (Shopify's `\/` escapes included).
pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/shopify/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("fixture")
}

pub fn order() -> String {
    fixture("order")
}
pub fn fulfillment() -> String {
    fixture("fulfillment")
}
pub fn product() -> String {
    fixture("product")
}

/// `X-Shopify-Hmac-Sha256` for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), body))
}

/// The URL that takes `topic`.
pub fn path_of(topic: &str) -> &'static str {
    if topic.starts_with("products/") {
        "/shopify/webhooks/products"
    } else {
        "/shopify/webhooks/orders"
    }
}

/// POSTs `body` as Shopify does, with the headers given (name, value); `None` leaves one out.
pub async fn post_raw(
    app: &TestApp,
    path: &str,
    headers: &[(&str, Option<String>)],
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json");
    for (name, value) in headers {
        if let Some(value) = value {
            request = request.header(*name, value);
        }
    }
    request.body(body).send().await.expect("request sent")
}

/// Shopify's headers for a webhook signed with the current secret.
pub fn headers(
    topic: &str,
    webhook_id: &str,
    body: impl AsRef<[u8]>,
) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("X-Shopify-Topic", Some(topic.to_owned())),
        (
            "X-Shopify-Hmac-Sha256",
            Some(sign(SHOPIFY_SECRET, body.as_ref())),
        ),
        ("X-Shopify-Shop-Domain", Some(SHOP_DOMAIN.to_owned())),
        ("X-Shopify-Webhook-Id", Some(webhook_id.to_owned())),
        (
            "X-Shopify-Triggered-At",
            Some("2019-03-06T19:33:50.000Z".to_owned()),
        ),
        ("X-Shopify-API-Version", Some("2024-10".to_owned())),
    ]
}

/// Sends a correctly signed webhook and expects it stored. A 503 (the process is
/// overloaded, as on a busy test machine) is sent again after its Retry-After, as Shopify
/// retries every answer but a 2xx.
pub async fn send(app: &TestApp, topic: &str, webhook_id: &str, body: &str) -> Value {
    for _ in 0..10 {
        let response = post_raw(
            app,
            path_of(topic),
            &headers(topic, webhook_id, body),
            body.to_owned(),
        )
        .await;
        if response.status().as_u16() == 503 {
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            continue;
        }
        assert_eq!(response.status().as_u16(), 200, "stored");
        return response.json().await.unwrap();
    }
    panic!("{topic} {webhook_id}: still 503 after ten tries");
}

pub async fn stored(app: &TestApp) -> i64 {
    crate::events::count(&app.pool, "SELECT count(*) FROM shopify_webhooks").await
}

/// Waits until no stored webhook is due any more (each is applied, failed, or waiting).
pub async fn settled(app: &TestApp) {
    eventually(Duration::from_secs(20), "every webhook applied", || async {
        crate::events::count(
            &app.pool,
            "SELECT count(*) FROM shopify_webhooks
             WHERE state = 'pending' AND waiting_for_order IS NULL",
        )
        .await
            == 0
    })
    .await;
}

/// The state and outcome (or error) of the webhook with `webhook_id`.
pub async fn state_of(app: &TestApp, webhook_id: &str) -> (String, Option<String>) {
    sqlx::query_as(
        "SELECT state::text, coalesce(last_error, outcome) FROM shopify_webhooks WHERE webhook_id = $1",
    )
    .bind(webhook_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The seed's order with fields replaced (`updated_at`, `total_price`, …).
pub fn order_with(changes: Value) -> String {
    let mut order: Value = serde_json::from_str(&self::order()).unwrap();
    for (key, value) in changes.as_object().unwrap() {
        order[key] = value.clone();
    }
    order.to_string()
}
