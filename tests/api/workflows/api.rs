//! The workflow endpoints as seed 004 shows them, and their errors.

use serde_json::{json, Value};

use super::{post, trigger_id, workflow};
use crate::helpers::spawn_app;
use crate::integrations::{admin, admin_get};

const MANAGED_DELIVERY: &str = "7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a01";

#[tokio::test]
async fn triggers_are_listed_per_entity_type_with_stable_guids() {
    let app = spawn_app().await;
    for (entity, codes) in [
        (
            "Order",
            vec![
                "order_created",
                "order_status_changed",
                "order_payment_confirmed",
            ],
        ),
        (
            "Shipment",
            vec!["shipment_created", "shipment_shipped", "shipment_delivered"],
        ),
        (
            "Customer",
            vec![
                "customer_created",
                "customer_updated",
                "cart_opened",
                "client_logged",
                "offer_opened",
            ],
        ),
        (
            "Product",
            vec![
                "product_created",
                "product_updated",
                "product_out_of_stock",
                "product_back_in_stock",
            ],
        ),
    ] {
        let response = admin_get(&app, &format!("/api/workflows/triggers/{entity}")).await;
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], true);
        let listed: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["code"].as_str().unwrap())
            .collect();
        for code in codes {
            assert!(listed.contains(&code), "{entity}: {code} in {listed:?}");
        }
        for trigger in body["data"].as_array().unwrap() {
            for field in ["guid", "name", "code", "description"] {
                assert!(trigger[field].is_string(), "{trigger}");
            }
        }
    }
    let again = spawn_app().await;
    assert_eq!(
        trigger_id(&app, "Order", "order_created").await,
        trigger_id(&again, "Order", "order_created").await,
        "the same guid in every shopbridge"
    );
    let unknown = admin_get(&app, "/api/workflows/triggers/Invoice").await;
    assert_eq!(unknown.status().as_u16(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_seed_example_configures_lists_toggles_and_deletes_a_workflow() {
    let app = spawn_app().await;
    let trigger = trigger_id(&app, "Shipment", "shipment_delivered").await;
    let response = post(
        &app,
        "/api/workflows/configure",
        &json!({
            "name": "Customer Delivery Notification",
            "entityType": "Shipment",
            "triggerId": trigger,
            "action": {"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
            "conditions": {"status": "delivered"}
        }),
    )
    .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["name"], "Customer Delivery Notification");
    assert_eq!(body["data"]["isActive"], true);
    let guid = body["data"]["guid"].as_str().unwrap().to_owned();

    let listed: Value = admin_get(&app, "/api/workflows/Shipment/configured?managed=false")
        .await
        .json()
        .await
        .unwrap();
    let mine = listed["data"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(mine[0]["guid"], guid);
    assert_eq!(mine[0]["entityType"], "Shipment");
    assert_eq!(mine[0]["trigger"], "shipment_delivered");
    assert_eq!(mine[0]["action"], "send_email");
    assert_eq!(mine[0]["isActive"], true);
    assert_eq!(mine[0]["isManaged"], false);
    let all: Value = admin_get(&app, "/api/workflows/Shipment/configured?managed=true")
        .await
        .json()
        .await
        .unwrap();
    let managed: Vec<&Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["isManaged"] == true)
        .collect();
    assert!(!managed.is_empty(), "the shipped defaults are listed");
    assert!(
        managed.iter().all(|w| w["isActive"] == false),
        "off by default"
    );

    let toggled: Value = admin_get(&app, &format!("/api/workflows/configured/{guid}/toggle"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        toggled,
        json!({"data": {"guid": guid, "isActive": false}, "success": true})
    );

    let deleted = admin(
        app.client
            .delete(app.url(&format!("/api/workflows/configured/{guid}"))),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(
        deleted.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    let gone = admin_get(&app, &format!("/api/workflows/configured/{guid}/toggle")).await;
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(
        gone.json::<Value>().await.unwrap()["error"]["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_managed_workflow_toggles_but_is_not_deleted() {
    let app = spawn_app().await;
    let on: Value = admin_get(
        &app,
        &format!("/api/workflows/configured/{MANAGED_DELIVERY}/toggle"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(on["data"]["isActive"], true);
    let refused = admin(
        app.client
            .delete(app.url(&format!("/api/workflows/configured/{MANAGED_DELIVERY}"))),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"]["code"],
        "CONFLICT"
    );
}

#[tokio::test]
async fn a_bad_workflow_is_a_configuration_error_naming_the_field() {
    let app = spawn_app().await;
    let delivered = trigger_id(&app, "Shipment", "shipment_delivered").await;
    let created = trigger_id(&app, "Order", "order_created").await;
    let email =
        json!({"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"});
    let cases = [
        (
            json!({"name": "x", "entityType": "Shipment", "triggerId": delivered, "action": email, "conditions": {"total": {"gte": 100}}}),
            "conditions.total",
        ),
        (
            json!({"name": "x", "entityType": "Shipment", "triggerId": delivered, "action": email, "conditions": {"status": {"like": "d%"}}}),
            "conditions.status",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": delivered, "action": email}),
            "triggerId",
        ),
        (
            json!({"name": "x", "entityType": "Invoice", "triggerId": delivered, "action": email}),
            "entityType",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": "nope", "action": email}),
            "triggerId",
        ),
        (
            json!({"name": "", "entityType": "Order", "triggerId": created, "action": email}),
            "name",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "send_fax"}}),
            "action",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "send_email", "recipient": "customer", "template": "nope"}}),
            "action.template",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "send_email", "recipient": "not an address", "template": "order_confirmation"}}),
            "action.recipient",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "webhook", "url": "http://10.0.0.7/hook"}}),
            "action.url",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "update_status", "status": "teleported"}}),
            "action.status",
        ),
        (
            json!({"name": "x", "entityType": "Order", "triggerId": created, "action": {"type": "send_push", "title": ""}}),
            "action.title",
        ),
    ];
    for (body, field) in cases {
        let response = post(&app, "/api/workflows/configure", &body).await;
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["success"], false);
        assert_eq!(error["error"]["code"], "CONFIGURATION_ERROR", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{field}: {message}");
    }
    let malformed = admin(app.client.post(app.url("/api/workflows/configure")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
}

#[tokio::test]
async fn resume_answers_not_found_and_nothing_to_resume() {
    let app = spawn_app().await;
    let guid = workflow(
        &app,
        "Order",
        "order_created",
        json!({"type": "update_status", "status": "processing"}),
        json!({}),
    )
    .await;
    let nothing = admin_get(
        &app,
        &format!("/api/workflows/resume-workflow?workflowId={guid}"),
    )
    .await;
    assert_eq!(nothing.status().as_u16(), 409);
    let unknown = admin_get(
        &app,
        "/api/workflows/resume-workflow?workflowId=7d0c5e1a-0000-4000-8000-000000000000",
    )
    .await;
    assert_eq!(unknown.status().as_u16(), 404);
    let missing = admin_get(&app, "/api/workflows/resume-workflow").await;
    assert_eq!(missing.status().as_u16(), 400);
    let unauthorised = app
        .client
        .get(app.url("/api/workflows/triggers/Order"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
}
