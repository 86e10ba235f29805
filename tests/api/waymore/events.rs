//! Real-time events: plain SQL changes in the shop tables reach Waymore, in seed 000's shapes.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;

use super::{FakeWaymore, Step, UUID};
use crate::events::connected;
use crate::helpers::{fresh_database, spawn_app_on, waymore_settings, TestApp};

/// One delivery at a time: these tests read Waymore's events in one global commit order.
/// Concurrent delivery, which keeps only each entity's order, has tests of its own.
async fn events_app() -> (TestApp, FakeWaymore) {
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
async fn delivered(fake: &FakeWaymore, n: usize) -> Vec<Value> {
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

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap();
}

/// A product, a customer with an address and a cart, made before connecting: no events.
const SHOP: &str = "
    INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (778, 'TS', 't-shirt', 29.40, 10);
    INSERT INTO product_options (id, product_id, sku, size, color, stock_quantity) VALUES (1, 778, 'TS-S', 'S', 'White', 250);
    INSERT INTO customers (id, email, firstname, lastname) VALUES (1061, 'john@example.com', 'john', 'Doe');
    INSERT INTO customer_addresses (customer_id, is_default, city, country) VALUES (1061, true, 'New York', 'United States of America');
    INSERT INTO carts (id, customer_id) VALUES (5, 1061);
    INSERT INTO cart_items (cart_id, product_id, option_id, quantity) VALUES (5, 778, 1, 1);
    INSERT INTO orders (id, reference, customer_id, customer_email, status, total)
        VALUES (123, 'R123', 1061, 'john@example.com', 'pending', 29.40);";

async fn shop_then_connect(pool: &PgPool) {
    exec(pool, SHOP).await;
    connected(pool).await;
}

#[tokio::test]
async fn changes_made_before_connecting_are_not_sent() {
    let (app, fake) = events_app().await;
    exec(&app.pool, SHOP).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('before')",
    )
    .await;
    connected(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('after')",
    )
    .await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["data"]["search_string"], "after");
}

#[tokio::test]
async fn customer_add_carries_the_addresses_of_its_transaction() {
    let (app, fake) = events_app().await;
    connected(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO customers (id, email, firstname, lastname, phone, birthday) VALUES (7, 'ana@example.com', 'Ana', 'Silva', '0123', '2000-01-01');
        INSERT INTO customer_addresses (customer_id, is_default, address1, city, postcode, country, company) VALUES (7, true, 'Rua 1', 'Lisbon', '1100', 'Portugal', '');
        COMMIT;").await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "CustomerAdd");
    assert_eq!(
        events[0]["data"],
        json!({
            "customer": {"id": "7", "lastname": "Silva", "firstname": "Ana", "birthday": "2000-01-01", "email": "ana@example.com", "phone": "0123"},
            "addresses": [{"country": "Portugal", "city": "Lisbon", "address1": "Rua 1", "postcode": "1100", "company": ""}]
        })
    );
}

#[tokio::test]
async fn customer_update_is_one_event_for_fields_and_addresses_changed_together() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "BEGIN;
        UPDATE customers SET firstname = 'Johnny' WHERE id = 1061;
        UPDATE customer_addresses SET city = 'Boston' WHERE customer_id = 1061;
        INSERT INTO customer_addresses (customer_id, city) VALUES (1061, 'Albany');
        COMMIT;",
    )
    .await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "CustomerUpdate");
    assert_eq!(events[0]["data"]["customer"]["firstname"], "Johnny");
    assert_eq!(events[0]["data"]["addresses"][0]["city"], "Boston");
    assert_eq!(events[0]["data"]["addresses"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn cart_update_shows_the_cart_as_committed_and_an_empty_one_when_the_last_line_goes() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "BEGIN;
        UPDATE cart_items SET quantity = 2 WHERE cart_id = 5;
        INSERT INTO cart_items (cart_id, product_id, quantity) VALUES (5, 778, 1);
        COMMIT;",
    )
    .await;
    exec(&app.pool, "DELETE FROM cart_items WHERE cart_id = 5").await;
    let events = delivered(&fake, 2).await;
    assert_eq!(events[0]["event"], "CartUpdate");
    assert_eq!(
        events[0]["data"],
        json!({
            "customer_id": "1061",
            "cart_products": [
                {"product_id": "778", "option_id": "1", "quantity": "2"},
                {"product_id": "778", "option_id": null, "quantity": "1"}
            ],
            "cart_url": "https://shop.test/cart"
        })
    );
    assert_eq!(events[1]["data"]["cart_products"], json!([]));
}

#[tokio::test]
async fn product_add_carries_the_options_of_its_transaction_and_update_follows() {
    let (app, fake) = events_app().await;
    connected(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO categories (id, name) VALUES (1, 'Clothes'), (2, 'Men');
        INSERT INTO products (id, sku, name, description, short_description, price, stock_quantity, image_url, url)
            VALUES (9, 'P9', 't-shirt', 'printed t-shirt', 'printed', 29.4, 499, 'http://example.com/t.jpg', 'http://example.com/t.html');
        INSERT INTO product_categories VALUES (9, 1), (9, 2);
        INSERT INTO product_options (product_id, sku, size, color, stock_quantity, price) VALUES (9, 'P9-S', 'S', 'White', 250, 29.4), (9, 'P9-M', 'M', 'Red', 249, NULL);
        INSERT INTO discounts (product_id, price) VALUES (9, 23.52);
        COMMIT;").await;
    exec(
        &app.pool,
        "UPDATE products SET name = 'printed t-shirt' WHERE id = 9",
    )
    .await;
    let events = delivered(&fake, 2).await;
    assert_eq!(events[0]["event"], "ProductAdd");
    let data = &events[0]["data"];
    assert_eq!(data["product_id"], "9");
    assert_eq!(data["categories"], json!(["Clothes", "Men"]));
    assert_eq!(
        (data["stock_quantity"].as_i64(), data["price"].as_f64()),
        (Some(499), Some(29.4))
    );
    assert_eq!(data["image_link"], "http://example.com/t.jpg");
    assert_eq!(data["product_link"], "http://example.com/t.html");
    assert_eq!(data["discount"]["price"], 23.52);
    let options = data["product_options"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options[1]["size"], "M");
    assert_eq!(
        options[1]["price"], 29.4,
        "an option without a price has the product's"
    );
    assert_eq!(events[1]["event"], "ProductUpdate");
    assert_eq!(events[1]["data"]["name"], "printed t-shirt");
}

#[tokio::test]
async fn stock_changes_and_out_of_stock() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 4 WHERE id = 778",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE product_options SET stock_quantity = 99 WHERE id = 1",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 0 WHERE id = 778",
    )
    .await;
    let events = delivered(&fake, 4).await;
    let got: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["event"].clone(), e["data"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "stock_quantity": 4})
            ),
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "option_id": "1", "stock_quantity": 99})
            ),
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "stock_quantity": 0})
            ),
            (json!("ProductOutOfStock"), json!({"product_id": "778"})),
        ]
    );
}

#[tokio::test]
async fn order_add_holds_the_items_of_its_transaction_and_a_guest_is_customer_0() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO orders (id, reference, customer_email, status, payment_method, shipping_method, total, delivery_city, delivery_country)
            VALUES (12, 'R12', 'guest@example.com', 'pending', 'Bank transfer', 'My carrier', 103.47, 'myCity', 'Greece');
        INSERT INTO order_items (order_id, product_id, sku, name, quantity, price) VALUES (12, 778, 'TS', 't-shirt', 1, 50);
        INSERT INTO order_items (order_id, product_id, option_id, sku, name, quantity, price) VALUES (12, 778, 1, 'TS-S', 't-shirt', 2, 26.735);
        COMMIT;").await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderAdd");
    let data = &events[0]["data"];
    assert_eq!(data["customer_id"], 0);
    let details = &data["order_details"];
    assert_eq!(details["order_id"], "12");
    assert_eq!(details["order_status"], "Pending");
    assert_eq!(
        (
            details["shipping_method"].as_str(),
            details["payment_method"].as_str()
        ),
        (Some("My carrier"), Some("Bank transfer"))
    );
    assert_eq!(details["total_price"], 103.47);
    assert_eq!(
        (details["email"].as_str(), details["city"].as_str()),
        (Some("guest@example.com"), Some("myCity"))
    );
    for field in [
        "lastname",
        "firstname",
        "birthday",
        "company",
        "newsletter",
        "website",
        "address1",
        "address2",
        "postcode",
        "phone",
        "phone_mobile",
        "country",
    ] {
        assert!(details.get(field).is_some(), "order_details.{field}");
    }
    assert_eq!(
        data["order_products"],
        json!([
            {"product_id": "778", "quantity": "1", "option_id": null},
            {"product_id": "778", "quantity": "2", "option_id": "1"}
        ])
    );
}

#[tokio::test]
async fn order_status_update() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'processing' WHERE id = 123",
    )
    .await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderStatusUpdate");
    assert_eq!(
        events[0]["data"],
        json!({"customer_id": "1061", "order_id": "123", "order_status": "Processing"})
    );
}

#[tokio::test]
async fn order_payment_confirmed() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "UPDATE orders SET payment_state = 'confirmed', payment_confirmed_at = now() WHERE id = 123").await;
    exec(
        &app.pool,
        "UPDATE orders SET payment_method = 'card' WHERE id = 123",
    )
    .await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderPaymentConfirmed");
    assert_eq!(
        events[0]["data"],
        json!({"customer_id": "1061", "order_id": "123"})
    );
}

#[tokio::test]
async fn an_order_changed_in_the_transaction_that_adds_it_is_one_order_add() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO orders (id, reference, customer_email, status, total) VALUES (13, 'R13', 'g@example.com', 'pending', 5);
        UPDATE orders SET status = 'processing' WHERE id = 13;
        COMMIT;").await;
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderAdd");
    assert_eq!(
        events[0]["data"]["order_details"]["order_status"],
        "Processing"
    );
}

/// The events delivered, as (event, data).
fn events_and_data(events: &[Value]) -> Vec<(Value, Value)> {
    events
        .iter()
        .map(|e| (e["event"].clone(), e["data"].clone()))
        .collect()
}

#[tokio::test]
async fn wishlist_add_and_delete() {
    let (app, fake) = events_app().await;
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
    let events = delivered(&fake, 2).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("WishlistAdd"),
                json!({"product_id": "778", "customer_id": "1061"})
            ),
            (
                json!("WishlistDelete"),
                json!({"product_id": "778", "customer_id": "1061"})
            ),
        ]
    );
}

#[tokio::test]
async fn newsletter_subscriptions_of_guests_and_customers() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO newsletter_subscriptions (email) VALUES ('guest@example.com')",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE newsletter_subscriptions SET subscribed = false",
    )
    .await;
    exec(&app.pool, "INSERT INTO newsletter_subscriptions (email, customer_id) VALUES ('john@example.com', 1061)").await;
    let events = delivered(&fake, 3).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("Newsletter"),
                json!({"customer_id": "0", "email": "guest@example.com", "subscription": true})
            ),
            (
                json!("Newsletter"),
                json!({"customer_id": "0", "email": "guest@example.com", "subscription": false})
            ),
            (
                json!("Newsletter"),
                json!({"customer_id": "1061", "email": "john@example.com", "subscription": true})
            ),
        ]
    );
}

#[tokio::test]
async fn searches_of_visitors_and_customers() {
    let (app, fake) = events_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('blue car')",
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (customer_id, query) VALUES (1061, 'red car')",
    )
    .await;
    let events = delivered(&fake, 2).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("Search"),
                json!({"customer_id": "", "search_string": "blue car"})
            ),
            (
                json!("Search"),
                json!({"customer_id": "1061", "search_string": "red car"})
            ),
        ]
    );
}

#[tokio::test]
async fn events_of_different_entities_go_out_in_commit_order() {
    let (app, fake) = events_app().await;
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
    let events = delivered(&fake, 3).await;
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
    delivered(&fake, 1).await;
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
    let events = delivered(&fake, 30).await;
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
    let (app, fake) = events_app().await;
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
    let events = delivered(&fake, 8).await;
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
    let (app, fake) = events_app().await;
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
    let status = super::status(&app).await;
    assert_eq!(status["events"]["failed"], 1);
    assert!(status["events"]["lastError"]
        .as_str()
        .unwrap()
        .contains("400"));
    let retried = super::admin(&app, reqwest::Method::POST, "/waymore/events/retry", None).await;
    assert_eq!(
        retried.json::<Value>().await.unwrap(),
        json!({"retried": 1})
    );
    let events = delivered(&fake, 1).await;
    assert_eq!(events[0]["data"]["search_string"], "refused");
    assert_eq!(super::status(&app).await["events"]["delivered"], 1);
}

#[tokio::test]
async fn the_listener_reconnects_after_its_connection_is_killed_and_catches_up() {
    let (app, fake) = events_app().await;
    connected(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('first')",
    )
    .await;
    delivered(&fake, 1).await;
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
    let events = delivered(&fake, 2).await;
    assert_eq!(events[1]["data"]["search_string"], "while reconnecting");
}

#[tokio::test]
async fn two_processes_deliver_each_event_once_and_each_entity_in_order() {
    let (app, fake) = events_app().await;
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
    let events = delivered(&fake, 60).await;
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
