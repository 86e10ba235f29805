//! Workflows (seed 004): the API as the seed shows it, and every action against a real
//! partner on loopback.

mod actions;
mod api;
mod email;
mod push;

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::integrations::admin;

pub async fn post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    admin(app.client.post(app.url(path)))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The JSON an admin GET answers.
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    admin(app.client.get(app.url(path)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The status of the shop's order 10.
pub async fn order_status(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = 10")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The guid of a trigger, by code, as the triggers endpoint lists it.
pub async fn trigger_id(app: &TestApp, entity: &str, code: &str) -> String {
    let listed = get_json(app, &format!("/api/workflows/triggers/{entity}")).await;
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == code)
        .unwrap_or_else(|| panic!("no trigger {code} in {listed}"))["guid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a workflow; its guid.
pub async fn workflow(
    app: &TestApp,
    entity: &str,
    trigger: &str,
    action: Value,
    conditions: Value,
) -> String {
    let trigger = trigger_id(app, entity, trigger).await;
    let response = post(
        app,
        "/api/workflows/configure",
        &json!({"name": format!("{entity} {trigger}"), "entityType": entity, "triggerId": trigger,
                "action": action, "conditions": conditions}),
    )
    .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["data"]["guid"].as_str().unwrap().to_owned()
}

pub async fn executions(app: &TestApp, guid: &str) -> Vec<Value> {
    let listed = get_json(app, &format!("/api/workflows/configured/{guid}/executions")).await;
    listed["data"].as_array().unwrap().clone()
}

/// Waits up to 15 s for one of the workflow's executions to be in `state`.
pub async fn until_state(app: &TestApp, guid: &str, state: &str) {
    crate::events::eventually(
        std::time::Duration::from_secs(15),
        &format!("an execution {state}"),
        || async {
            executions(app, guid)
                .await
                .iter()
                .any(|e| e["state"] == state)
        },
    )
    .await;
}

/// A customer (id 1) with an order (id 10) and its shipment (id 100), pending.
pub const SHOP: &str = "
    INSERT INTO customers (id, email, firstname) VALUES (1, 'ann@example.com', 'Ann <Admin>');
    INSERT INTO orders (id, reference, customer_id, customer_email, status, total)
        VALUES (10, 'R-10', 1, 'ann@example.com', 'processing', 120.50);
    INSERT INTO shipments (id, order_id, status, carrier, tracking_number)
        VALUES (100, 10, 'pending', 'UPS', '1Z999');";
