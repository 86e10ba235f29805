//! The webhook and update_status actions, the loop guard, executions and the dry run.

use std::time::Duration;

use serde_json::{json, Value};

use super::{executions, order_status, post, workflow, SHOP};
use crate::events::{count, eventually, exec};
use crate::helpers::spawn_app;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn a_webhook_action_posts_matching_events_signed_and_records_the_others_as_skipped() {
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    let app = spawn_app().await;
    let guid = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "webhook", "url": format!("{}/hook", sink.uri()), "secret": SECRET}),
        json!({"status": {"from": "processing", "to": "shipped"}}),
    )
    .await;
    exec(&app.pool, SHOP).await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'shipped' WHERE id = 10",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'delivered' WHERE id = 10",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "both executions recorded",
        || async {
            executions(&app, &guid)
                .await
                .iter()
                .filter(|e| e["state"] != "waiting")
                .count()
                == 2
        },
    )
    .await;
    let requests = sink.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "only the matching change");
    let request = &requests[0];
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(&request.body, &request.headers)
        .expect("signed the Standard Webhooks way");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["name"], "order.status_changed");
    assert_eq!(body["payload"]["status"], "shipped");

    let listed = executions(&app, &guid).await;
    assert_eq!(listed[0]["state"], "skipped", "newest first: {listed:?}");
    assert!(
        listed[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("condition not met: status is \"delivered\""),
        "{listed:?}"
    );
    assert_eq!(listed[1]["state"], "succeeded");
    assert_eq!(listed[1]["action"], "webhook");
    assert!(listed[1]["attempts"][0]["answer"]
        .as_str()
        .unwrap()
        .contains("204"));
    let skipped = crate::integrations::admin_get(
        &app,
        &format!("/api/workflows/configured/{guid}/executions?state=skipped"),
    )
    .await;
    let skipped: Value = skipped.json().await.unwrap();
    assert_eq!(skipped["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_webhook_action_given_no_secret_signs_with_one_made_for_it_and_rotates_like_a_destination(
) {
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&sink)
        .await;
    let app = spawn_app().await;
    exec(&app.pool, SHOP).await;
    let trigger = super::trigger_id(&app, "Order", "order_status_changed").await;
    let configure = |guid: Option<&str>, action: Value| {
        json!({"guid": guid, "name": "To the CRM", "entityType": "Order", "triggerId": trigger,
               "action": action})
    };
    let url = format!("{}/hook", sink.uri());
    let created = post(
        &app,
        "/api/workflows/configure",
        &configure(None, json!({"type": "webhook", "url": url})),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let made = created["data"]["secret"].as_str().unwrap().to_owned();
    assert!(made.starts_with("whsec_"), "{created}");
    let guid = created["data"]["guid"].as_str().unwrap().to_owned();
    let read = super::get_json(&app, &format!("/api/workflows/configured/{guid}/secret")).await;
    assert_eq!(read["data"]["secrets"], json!([made]));
    let listed = super::get_json(&app, "/api/workflows/Order/configured?managed=false").await;
    assert_eq!(listed["data"][0]["actionConfig"]["secret"], "configured");
    assert!(
        !listed.to_string().contains(&made),
        "the listing never shows it"
    );

    let received = |n: usize| {
        let sink = &sink;
        async move {
            eventually(Duration::from_secs(10), "the change received", || async {
                sink.received_requests().await.unwrap().len() >= n
            })
            .await;
            sink.received_requests().await.unwrap().pop().unwrap()
        }
    };
    exec(
        &app.pool,
        "UPDATE orders SET status = 'shipped' WHERE id = 10",
    )
    .await;
    let request = received(1).await;
    standardwebhooks::Webhook::new(&made)
        .unwrap()
        .verify(&request.body, &request.headers)
        .expect("signed with the secret made for it");

    let rotated = post(
        &app,
        "/api/workflows/configure",
        &configure(
            Some(&guid),
            json!({"type": "webhook", "url": url, "secrets": [SECRET, made]}),
        ),
    )
    .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    assert!(
        rotated["data"].get("secret").is_none(),
        "nothing made: {rotated}"
    );
    exec(
        &app.pool,
        "UPDATE orders SET status = 'delivered' WHERE id = 10",
    )
    .await;
    let request = received(2).await;
    for secret in [SECRET, made.as_str()] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&request.body, &request.headers)
            .expect("while rotating, both secrets sign");
    }

    let kept = post(
        &app,
        "/api/workflows/configure",
        &configure(Some(&guid), json!({"type": "webhook", "url": url})),
    )
    .await;
    assert_eq!(kept.status(), 200);
    let read = super::get_json(&app, &format!("/api/workflows/configured/{guid}/secret")).await;
    assert_eq!(
        read["data"]["secrets"],
        json!([SECRET, made]),
        "a change without secrets keeps them"
    );
    let both = post(
        &app,
        "/api/workflows/configure",
        &configure(
            Some(&guid),
            json!({"type": "webhook", "url": url, "secret": SECRET, "secrets": [SECRET]}),
        ),
    )
    .await;
    assert_eq!(both.status(), 400);
}

#[tokio::test]
async fn two_workflows_that_set_each_other_s_status_stop_after_one_round() {
    let app = spawn_app().await;
    exec(&app.pool, SHOP).await;
    let to_shipped = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "update_status", "status": "shipped"}),
        json!({"status": "delivered"}),
    )
    .await;
    let to_delivered = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "update_status", "status": "delivered"}),
        json!({"status": "shipped"}),
    )
    .await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'delivered' WHERE id = 10",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the guard stopped the pair",
        || async {
            executions(&app, &to_shipped).await.iter().any(|e| {
                e["state"] == "skipped"
                    && e["reason"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("loop guard")
            })
        },
    )
    .await;
    // The pair ran once each: shipped by the first, delivered again by the second, and the
    // first saw its own write in that change's cause.
    let first = executions(&app, &to_shipped).await;
    let second = executions(&app, &to_delivered).await;
    assert_eq!(
        first.iter().filter(|e| e["state"] == "succeeded").count(),
        1,
        "{first:?}"
    );
    assert_eq!(
        second.iter().filter(|e| e["state"] == "succeeded").count(),
        1,
        "{second:?}"
    );
    let status = order_status(&app).await;
    assert_eq!(status, "delivered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changes = count(
        &app.pool,
        "SELECT count(*) FROM events WHERE name = 'order.status_changed'",
    )
    .await;
    assert_eq!(
        changes, 3,
        "the shop's change and one write of each workflow, no more"
    );
}

#[tokio::test]
async fn update_status_sets_a_shipment_s_order_and_a_delivered_shipment_fires_once() {
    let app = spawn_app().await;
    exec(&app.pool, SHOP).await;
    let guid = workflow(
        &app,
        "Shipment",
        "shipment_delivered",
        json!({"type": "update_status", "status": "delivered", "target": "order"}),
        json!({"carrier": "UPS"}),
    )
    .await;
    exec(
        &app.pool,
        "UPDATE shipments SET status = 'delivered' WHERE id = 100",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE shipments SET tracking_number = '1Z000' WHERE id = 100",
    )
    .await;
    eventually(Duration::from_secs(10), "the order delivered", || async {
        let status = order_status(&app).await;
        status == "delivered"
    })
    .await;
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM events WHERE name = 'shipment.delivered'"
        )
        .await,
        1
    );
    let listed = executions(&app, &guid).await;
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0]["attempts"][0]["answer"]
            .as_str()
            .unwrap()
            .contains("processing → delivered"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn the_dry_run_shows_what_would_happen_and_changes_nothing() {
    let app = spawn_app().await;
    exec(&app.pool, SHOP).await;
    let guid = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "update_status", "status": "canceled"}),
        json!({"status": "shipped"}),
    )
    .await;
    crate::integrations::admin_get(&app, &format!("/api/workflows/configured/{guid}/toggle")).await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'shipped' WHERE id = 10",
    )
    .await;
    let event: i64 =
        sqlx::query_scalar("SELECT max(id) FROM events WHERE name = 'order.status_changed'")
            .fetch_optional(&app.pool)
            .await
            .unwrap()
            .flatten()
            .unwrap_or_default();
    // Off, the workflow took no event; the dry run takes a sample payload.
    assert_eq!(event, 0);
    let run = post(&app, &format!("/api/workflows/configured/{guid}/test"),
        &json!({"payload": {"order_id": 10, "status": "shipped", "previous_status": "processing"}, "entityId": "10"})).await;
    assert_eq!(run.status().as_u16(), 200);
    let run: Value = run.json().await.unwrap();
    assert_eq!(run["data"]["matched"], true, "{run}");
    assert_eq!(
        run["data"]["action"],
        json!({"type": "update_status", "table": "orders", "id": 10, "from": "shipped", "to": "canceled"})
    );
    let unmatched: Value = post(
        &app,
        &format!("/api/workflows/configured/{guid}/test"),
        &json!({"payload": {"order_id": 10, "status": "pending"}, "entityId": "10"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(unmatched["data"]["matched"], false);
    assert!(unmatched["data"]["unmet"]
        .as_str()
        .unwrap()
        .contains("status"));
    let status = order_status(&app).await;
    assert_eq!(status, "shipped", "nothing written");
    let missing = post(
        &app,
        &format!("/api/workflows/configured/{guid}/test"),
        &json!({"eventId": 999999}),
    )
    .await;
    assert_eq!(missing.status().as_u16(), 404);
    let neither = post(
        &app,
        &format!("/api/workflows/configured/{guid}/test"),
        &json!({}),
    )
    .await;
    assert_eq!(neither.status().as_u16(), 400);
}

#[tokio::test]
async fn finished_executions_are_pruned_after_the_retention_and_paused_ones_kept() {
    let app = spawn_app().await;
    let guid = workflow(
        &app,
        "Order",
        "order_created",
        json!({"type": "update_status", "status": "processing"}),
        json!({}),
    )
    .await;
    exec(
        &app.pool,
        &format!(
            "INSERT INTO workflow_executions
                 (workflow_guid, event_id, event_name, entity_type, entity_id, action, state,
                  updated_at)
             SELECT '{guid}', g, 'order.created', 'order', g::text, 'update_status', state,
                    now() - interval '8 days'
             FROM generate_series(1, 4) g,
                  LATERAL (SELECT (ARRAY['succeeded', 'failed', 'skipped', 'paused'])[g] AS state) s"
        ),
    )
    .await;
    let pruned =
        shopbridge::workflows::executions::prune(&app.pool, Duration::from_secs(7 * 86400))
            .await
            .unwrap();
    assert_eq!(pruned, 3);
    let left: Vec<Value> = executions(&app, &guid).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["state"], "paused");
}

#[tokio::test]
async fn two_processes_run_each_execution_once_and_each_order_s_in_order() {
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_millis(20)))
        .mount(&sink)
        .await;
    let db = crate::helpers::fresh_database().await;
    let first = crate::helpers::spawn_app_on(db.clone(), |_| {}).await;
    let _second = crate::helpers::spawn_app_on(db, |_| {}).await;
    workflow(
        &first,
        "Order",
        "order_status_changed",
        json!({"type": "webhook", "url": format!("{}/hook", sink.uri())}),
        json!({}),
    )
    .await;
    exec(
        &first.pool,
        "INSERT INTO orders (id, reference, customer_email, status, total)
         SELECT g, 'R-' || g, 'c' || g || '@example.com', 'pending', 10
         FROM generate_series(1, 10) g",
    )
    .await;
    for status in ["processing", "shipped", "delivered"] {
        exec(
            &first.pool,
            &format!("UPDATE orders SET status = '{status}'"),
        )
        .await;
    }
    eventually(Duration::from_secs(15), "30 changes received", || async {
        sink.received_requests().await.unwrap().len() >= 30
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bodies: Vec<Value> = sink
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 30, "each execution once");
    let mut per_order: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for body in &bodies {
        per_order
            .entry(body["entity"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["payload"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_order.len(), 10);
    for (order, statuses) in per_order {
        assert_eq!(
            statuses,
            ["processing", "shipped", "delivered"],
            "order {order}"
        );
    }
}
