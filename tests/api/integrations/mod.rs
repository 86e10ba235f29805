//! Seed 004's integrations API: providers configured, disabled and removed at run time,
//! their secrets sealed at rest, and Web Push subscriptions.

mod configure;
mod runtime;
mod secrets;
mod vapid;

use serde_json::{json, Value};

use crate::helpers::{TestApp, ADMIN_TOKEN};
use crate::shopify::standin::TOKEN;

/// The catalog's providers, by their stable ids.
pub const SHOPIFY: &str = "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c001";
pub const WAYMORE: &str = "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c002";
pub const RFMCUBE: &str = "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c003";
pub const ONE: &str = "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c004";
pub const WEBHOOK: &str = "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c005";

/// The seed's configure example, with Shopify's real id for `provider-uuid`, and a store
/// (a stand-in's address) and its Admin API token for the placeholders.
pub fn seed_configure_example(store_url: &str) -> Value {
    json!({
        "providerId": SHOPIFY,
        "providerType": "ecommerce",
        "credentials": {
            "apiKey": TOKEN,
            "apiSecret": "your-api-secret",
            "storeUrl": store_url
        },
        "settings": {
            "autoImportOrders": true,
            "syncProducts": true,
            "pushTracking": true
        }
    })
}

/// The request with the admin token.
pub fn admin(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(ADMIN_TOKEN)
}

pub async fn configure(app: &TestApp, body: &Value) -> reqwest::Response {
    admin(
        app.client
            .post(app.url("/api/integrations/provider/configure")),
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

/// Configures and expects it done: the integration's guid.
pub async fn configured(app: &TestApp, body: &Value) -> String {
    let response = configure(app, body).await;
    assert_eq!(response.status().as_u16(), 201, "configured");
    let body: Value = response.json().await.unwrap();
    body["data"]["guid"].as_str().unwrap().to_owned()
}

pub async fn admin_get(app: &TestApp, path: &str) -> reqwest::Response {
    admin(app.client.get(app.url(path))).send().await.unwrap()
}

pub async fn remove(app: &TestApp, guid: &str) -> reqwest::Response {
    admin(app.client.delete(app.url(&format!(
        "/api/integrations/providers/ecommerce/remove/{guid}"
    ))))
    .send()
    .await
    .unwrap()
}
