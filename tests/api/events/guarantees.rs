//! What the event log promises every destination, checked through Waymore's (a real
//! partner's wire on loopback): commit order, every attempt recorded and pruned after the
//! retention, events committed while stopped, retries with a stable id and each entity's
//! order kept, a refusal failed and retried, the listener's reconnection, two processes.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::{acknowledged, connected, exec, one_at_a_time_app, shop_then_connect};
use crate::helpers::{fresh_database, spawn_app_on, waymore_settings};
use crate::waymore::{FakeWaymore, Step};

#[tokio::test]
async fn events_of_different_entities_go_out_in_commit_order() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO wishlist_items (customer_id, product_id) VALUES (1061, 778)",
    )
    .await;
    exec(
        &app.pool,
        "DELETE FROM wishlist_items WHERE customer_id = 1061",
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('after')",
    )
    .await;
    let events = acknowledged(&fake, 3).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["WishlistAdd", "WishlistDelete", "Search"]);
}

#[tokio::test]
async fn every_attempt_is_recorded_and_delivered_events_are_pruned_after_the_retention() {
    let fake = FakeWaymore::start().await;
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    connected(&pool).await;
    exec(
        &pool,
        "INSERT INTO search_queries (query) VALUES ('old'), ('new')",
    )
    .await;
    exec(
        &pool,
        "UPDATE deliveries SET state = 'delivered', finished_at = now() - interval '2 days'
                 WHERE event_id IN (SELECT id FROM events WHERE payload->>'query' = 'old');
         UPDATE events SET occurred_at = now() - interval '2 days' WHERE payload->>'query' = 'old'",
    )
    .await;
    fake.events.script(&[Step::Status(503)]);
    let uri = fake.server.uri();
    let _app = spawn_app_on(db, |s| {
        s.waymore = waymore_settings(&uri);
        s.delivery.retention = Duration::from_secs(86400);
    })
    .await;
    acknowledged(&fake, 1).await;
    let left: Vec<String> = sqlx::query_scalar("SELECT payload->>'query' FROM events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, ["new"], "the event delivered two days ago was pruned");
    let attempts: Vec<(bool, Option<i32>)> =
        sqlx::query_as("SELECT delivered, status FROM delivery_attempts ORDER BY attempted_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, [(false, Some(503)), (true, Some(200))]);
}

#[tokio::test]
async fn events_committed_while_the_dispatcher_is_stopped_are_delivered_when_it_starts() {
    let fake = FakeWaymore::start().await;
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    shop_then_connect(&pool).await;
    exec(
        &pool,
        "INSERT INTO search_queries (query) SELECT 'q' || g FROM generate_series(1, 30) g",
    )
    .await;
    let uri = fake.server.uri();
    let _app = spawn_app_on(db, |s| s.waymore = waymore_settings(&uri)).await;
    let events = acknowledged(&fake, 30).await;
    // Thirty entities: each one's event, in whatever order concurrent sends arrive.
    let mut searched: Vec<&str> = events
        .iter()
        .map(|e| e["data"]["search_string"].as_str().unwrap())
        .collect();
    searched.sort_by_key(|q| q[1..].parse::<u32>().unwrap());
    let expected: Vec<String> = (1..=30).map(|n| format!("q{n}")).collect();
    assert_eq!(searched, expected);
}

#[tokio::test]
async fn failures_are_retried_with_a_stable_event_id_and_each_entity_keeps_its_order() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    fake.events.script(&[
        Step::Status(500),
        Step::Hang,
        Step::Ok,
        Step::Status(503),
        Step::Status(429),
        Step::Ok,
        Step::Status(502),
    ]);
    for status in ["processing", "shipped", "delivered", "refunded"] {
        exec(
            &app.pool,
            &format!("UPDATE orders SET status = '{status}' WHERE id = 123"),
        )
        .await;
        exec(&app.pool, &format!("UPDATE products SET stock_quantity = stock_quantity + 1 WHERE id = 778; SELECT '{status}'")).await;
    }
    let events = acknowledged(&fake, 8).await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "OrderStatusUpdate")
        .map(|e| e["data"]["order_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["Processing", "Shipped", "Delivered", "Refunded"],
        "one order's events in commit order"
    );
    let stocks: Vec<i64> = events
        .iter()
        .filter(|e| e["event"] == "ProductStockUpdate")
        .map(|e| e["data"]["stock_quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(stocks, [11, 12, 13, 14]);

    // Every try of one event carried the same X-Event-Id, and each id was acknowledged once.
    let mut tries: HashMap<String, Vec<Value>> = HashMap::new();
    for request in fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/event")
    {
        let id = request
            .headers
            .get("x-event-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        tries
            .entry(id)
            .or_default()
            .push(serde_json::from_slice(&request.body).unwrap());
    }
    assert_eq!(tries.len(), 8, "eight distinct event ids");
    for bodies in tries.values() {
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "a retry sends the same event"
        );
    }
    assert!(fake.events.received() > 8, "the failures happened");
}

#[tokio::test]
async fn a_refused_event_is_recorded_as_failed_and_can_be_retried() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    fake.events.script(&[Step::Status(400)]);
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('refused')",
    )
    .await;
    for _ in 0..100 {
        let failed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'failed'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = crate::waymore::status(&app).await;
    assert_eq!(status["events"]["failed"], 1);
    assert!(status["events"]["lastError"]
        .as_str()
        .unwrap()
        .contains("400"));
    let retried =
        crate::waymore::admin(&app, reqwest::Method::POST, "/waymore/events/retry", None).await;
    assert_eq!(
        retried.json::<Value>().await.unwrap(),
        json!({"retried": 1})
    );
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["data"]["search_string"], "refused");
    assert_eq!(crate::waymore::status(&app).await["events"]["delivered"], 1);
}

#[tokio::test]
async fn the_listener_reconnects_after_its_connection_is_killed_and_catches_up() {
    let (app, fake) = one_at_a_time_app().await;
    connected(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('first')",
    )
    .await;
    acknowledged(&fake, 1).await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN %shop_events%') t",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the LISTEN connection was found and terminated");
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('while reconnecting')",
    )
    .await;
    // The poll is a minute in tests: delivery within seconds comes from the reconnection.
    let events = acknowledged(&fake, 2).await;
    assert_eq!(events[1]["data"]["search_string"], "while reconnecting");
}

#[tokio::test]
async fn two_processes_deliver_each_event_once_and_each_entity_in_order() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    let db = app.pool.connect_options().as_ref().clone();
    let uri = fake.server.uri();
    let _second = spawn_app_on(db, |s| s.waymore = waymore_settings(&uri)).await;
    for round in 1..=20 {
        exec(
            &app.pool,
            &format!(
                "UPDATE products SET stock_quantity = {round} WHERE id = 778;
             UPDATE product_options SET stock_quantity = {round} WHERE id = 1;
             INSERT INTO search_queries (query) VALUES ('q{round}');"
            ),
        )
        .await;
    }
    let events = acknowledged(&fake, 60).await;
    let product: Vec<(Option<&str>, i64)> = events
        .iter()
        .filter(|e| e["event"] == "ProductStockUpdate")
        .map(|e| {
            (
                e["data"]["option_id"].as_str(),
                e["data"]["stock_quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(Option<&str>, i64)> =
        (1..=20).flat_map(|r| [(None, r), (Some("1"), r)]).collect();
    assert_eq!(product, expected, "one product's events in commit order");
    let requests = fake.server.received_requests().await.unwrap();
    let mut ids: Vec<&str> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/event")
        .map(|r| r.headers.get("x-event-id").unwrap().to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 60, "no event was sent twice");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60, "sixty distinct events");
}
