//! The shop event log and its delivery: concurrency with per-entity order, independent
//! destinations, outages, replay, disconnect, graceful stop, and the admin endpoints.

mod admin;
mod delivery;
mod guarantees;
mod kinds;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{fresh_database, spawn_app_on, test_vault, waymore_settings, TestApp};
use crate::waymore::{FakeWaymore, UUID};

/// Marks the shop connected, as `POST /waymore/connect` does, without starting an export:
/// the connection, and the account's UUID sealed with the destination's config.
pub async fn connected(pool: &PgPool) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO waymore_connection (uuid_hint, username, cart_url)
         VALUES ('8e10…6314', 'owner', 'https://shop.test/cart')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let mut account = serde_json::Map::new();
    account.insert("uuid".into(), UUID.into());
    shopbridge::delivery::destinations::seal_secrets(&mut tx, &test_vault(), "waymore", &account)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn exec<'e>(executor: impl sqlx::PgExecutor<'e>, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(executor)
        .await
        .unwrap();
}

/// The app talking to a fake Waymore, with the shop's 40 products, connected.
pub async fn connected_app() -> (TestApp, FakeWaymore) {
    connected_app_with(|_| {}).await
}

/// [`connected_app`] with settings of the test's own beside the fake Waymore's.
pub async fn connected_app_with(
    configure: impl FnOnce(&mut shopbridge::configuration::Settings),
) -> (TestApp, FakeWaymore) {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        configure(s);
    })
    .await;
    exec(
        &app.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity)
         SELECT g, 'P' || g, 'product ' || g, 10, 1 FROM generate_series(1, 40) g",
    )
    .await;
    connected(&app.pool).await;
    (app, fake)
}

/// Polls `check` every 20 ms until it holds; fails the test after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each product's stock values, in the order the fake acknowledged them.
pub fn stock_sequences(events: &[Value]) -> std::collections::BTreeMap<String, Vec<i64>> {
    let mut sequences = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for event in events.iter().filter(|e| e["event"] == "ProductStockUpdate") {
        sequences
            .entry(event["data"]["product_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["data"]["stock_quantity"].as_i64().unwrap());
    }
    sequences
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Deliveries recorded as delivered (the partner may have answered a moment before).
pub async fn delivered(pool: &PgPool) -> i64 {
    count(
        pool,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
    )
    .await
}

/// One delivery at a time: these tests read Waymore's events in one global commit order.
/// Concurrent delivery, which keeps only each entity's order, has tests of its own.
pub async fn one_at_a_time_app() -> (TestApp, FakeWaymore) {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.delivery.concurrency = 1;
    })
    .await;
    (app, fake)
}

/// Waits until the fake acknowledged `n` events; checks no more come; returns them.
pub async fn acknowledged(fake: &FakeWaymore, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        if fake.events.acknowledged().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = fake.events.acknowledged();
    assert_eq!(events.len(), n, "events delivered: {events:#?}");
    for event in &events {
        assert_eq!(event["uuid"], UUID);
        assert_eq!(
            event.as_object().unwrap().len(),
            3,
            "event, uuid, data: {event}"
        );
    }
    events
}

/// A product, a customer with an address and a cart, made before connecting: no events.
pub const SHOP: &str = "
    INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (778, 'TS', 't-shirt', 29.40, 10);
    INSERT INTO product_options (id, product_id, sku, size, color, stock_quantity) VALUES (1, 778, 'TS-S', 'S', 'White', 250);
    INSERT INTO customers (id, email, firstname, lastname) VALUES (1061, 'john@example.com', 'john', 'Doe');
    INSERT INTO customer_addresses (customer_id, is_default, city, country) VALUES (1061, true, 'New York', 'United States of America');
    INSERT INTO carts (id, customer_id) VALUES (5, 1061);
    INSERT INTO cart_items (cart_id, product_id, option_id, quantity) VALUES (5, 778, 1, 1);
    INSERT INTO orders (id, reference, customer_id, customer_email, status, total)
        VALUES (123, 'R123', 1061, 'john@example.com', 'pending', 29.40);";

pub async fn shop_then_connect(pool: &PgPool) {
    exec(pool, SHOP).await;
    connected(pool).await;
}
