//! The mass export: every object once, in order, in parts, through failures and crashes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use sqlx::PgPool;

use shopbridge::configuration::JobSettings;
use shopbridge::demo::{self, DemoSize};
use shopbridge::jobs::{RunOutcome, Runner};
use shopbridge::waymore::client::WaymoreClient;
use shopbridge::waymore::export::{self, MassExport};

use super::{admin, app_with, connect, export_finished, FakeWaymore, Step, UUID};
use crate::helpers::{assert_error, fresh_database, spawn_app_on, test_vault, waymore_settings};

const SHOP: DemoSize = DemoSize {
    customers: 60,
    orders: 150,
};
const ORDER: [&str; 5] = ["customers", "subscribers", "products", "wishlist", "orders"];

/// The id of an object, as the entity's shape carries it.
fn object_id(entity: &str, object: &Value) -> String {
    match entity {
        "customers" => object["customer"]["id"].as_str().unwrap().to_owned(),
        "products" => object["product_id"].as_str().unwrap().to_owned(),
        "orders" => object["order_details"]["order_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        "subscribers" => object["email"].as_str().unwrap().to_owned(),
        _ => format!(
            "{}/{}",
            object["customer_id"].as_str().unwrap(),
            object["product_id"].as_str().unwrap()
        ),
    }
}

/// Every id each entity should deliver, from the database.
async fn expected(pool: &PgPool) -> HashMap<&'static str, HashSet<String>> {
    let queries = [
        ("customers", "SELECT id::text FROM customers"),
        ("subscribers", "SELECT email FROM newsletter_subscriptions"),
        ("products", "SELECT id::text FROM products"),
        (
            "wishlist",
            "SELECT customer_id || '/' || product_id FROM wishlist_items",
        ),
        ("orders", "SELECT id::text FROM orders"),
    ];
    let mut all = HashMap::new();
    for (entity, sql) in queries {
        let ids: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
        all.insert(entity, ids.into_iter().collect());
    }
    all
}

/// Asserts the acknowledged parts deliver every object exactly once, entity after entity,
/// in parts of at most `batch` objects; returns the objects per entity.
fn assert_delivered_once(
    parts: &[Value],
    expected: &HashMap<&'static str, HashSet<String>>,
    batch: usize,
) -> HashMap<String, Vec<Value>> {
    let mut by_entity: HashMap<String, Vec<Value>> = HashMap::new();
    let mut last_position = 0;
    for part in parts {
        assert_eq!(part["uuid"], UUID);
        let data = part["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "one entity per request");
        let name = data[0]["name"].as_str().unwrap();
        let position = ORDER.iter().position(|e| *e == name).expect("known entity");
        assert!(
            position >= last_position,
            "{name} came after {}",
            ORDER[last_position]
        );
        last_position = position;
        let objects = data[0]["object"].as_array().unwrap();
        assert!(
            !objects.is_empty() && objects.len() <= batch,
            "part of {} objects",
            objects.len()
        );
        by_entity
            .entry(name.to_owned())
            .or_default()
            .extend(objects.iter().cloned());
    }
    for entity in ORDER {
        let objects = by_entity.get(entity).cloned().unwrap_or_default();
        let ids: Vec<String> = objects.iter().map(|o| object_id(entity, o)).collect();
        let unique: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "{entity}: an object arrived twice");
        assert_eq!(
            &unique, &expected[entity],
            "{entity}: objects missing or extra"
        );
    }
    by_entity
}

async fn seeded_app(fake: &FakeWaymore, batch: u32) -> crate::helpers::TestApp {
    let app = app_with(fake, batch).await;
    demo::seed(&app.pool, SHOP).await.unwrap();
    app
}

#[tokio::test]
async fn every_object_arrives_once_in_entity_order_in_parts_of_the_batch_size() {
    let fake = FakeWaymore::start().await;
    let app = seeded_app(&fake, 7).await;
    connect(&app).await;
    let status = export_finished(&app).await;
    assert_eq!(status["export"]["state"], "completed");
    let expected = expected(&app.pool).await;
    let by_entity = assert_delivered_once(&fake.data.acknowledged(), &expected, 7);
    for entity in status["export"]["entities"].as_array().unwrap() {
        assert_eq!(entity["sent"], entity["total"], "{entity}");
        assert_eq!(entity["done"], true);
    }

    // The shapes of seed 000.
    let customer = by_entity["customers"]
        .iter()
        .find(|c| c["cart"].get("cart_products").is_some())
        .expect("a customer with a cart");
    for field in ["id", "lastname", "firstname", "birthday", "email", "phone"] {
        assert!(
            customer["customer"][field].is_string(),
            "customer.{field}: {customer}"
        );
    }
    for field in ["country", "city", "address1", "postcode", "company"] {
        assert!(
            customer["addresses"][0][field].is_string(),
            "addresses[].{field}"
        );
    }
    let line = &customer["cart"]["cart_products"][0];
    assert!(
        line["product_id"].is_string() && line["quantity"].is_string(),
        "{line}"
    );
    assert!(
        by_entity["customers"]
            .iter()
            .any(|c| c["cart"] == serde_json::json!({})),
        "empty cart is {{}}"
    );

    let product = by_entity["products"]
        .iter()
        .find(|p| !p["product_options"].as_array().unwrap().is_empty())
        .unwrap();
    for field in [
        "product_id",
        "name",
        "description",
        "short_description",
        "image_link",
        "product_link",
    ] {
        assert!(product[field].is_string(), "product.{field}");
    }
    assert!(
        product["categories"].is_array()
            && product["stock_quantity"].is_i64()
            && product["price"].is_number()
    );
    assert!(product["discount"].is_object());
    let option = &product["product_options"][0];
    assert!(
        option["option_id"].is_string()
            && option["size"].is_string()
            && option["color"].is_string()
    );
    assert!(option["price"].is_number() && option["discount"].is_object());
    let discounted = by_entity["products"]
        .iter()
        .find(|p| p["discount"].get("price").is_some())
        .expect("a discounted product");
    for field in ["price", "date_start", "date_end", "quantity"] {
        assert!(
            discounted["discount"].get(field).is_some(),
            "discount.{field}"
        );
    }

    let order = &by_entity["orders"][0];
    for field in [
        "customer_id",
        "order_id",
        "order_status",
        "shipping_method",
        "payment_method",
        "total_price",
    ] {
        assert!(
            order["order_details"][field].is_string(),
            "order_details.{field}: {order}"
        );
    }
    let item = &order["order_products"][0];
    assert!(
        item["product_id"].is_string()
            && item["quantity"].is_string()
            && item.get("option_id").is_some()
    );
    let guest_ids: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM orders WHERE customer_id IS NULL")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let guest = by_entity["orders"]
        .iter()
        .find(|o| guest_ids.contains(&o["order_details"]["order_id"].as_str().unwrap().to_owned()))
        .unwrap();
    assert_eq!(
        guest["order_details"]["customer_id"], "0",
        "a guest order's customer_id is 0"
    );

    let subscriber = &by_entity["subscribers"][0];
    assert!(
        subscriber["customer_id"].is_string()
            && subscriber["email"].is_string()
            && subscriber["subscription"].is_boolean()
    );
    let wish = &by_entity["wishlist"][0];
    assert!(wish["product_id"].is_string() && wish["customer_id"].is_string());
}

#[tokio::test]
async fn errors_and_timeouts_are_retried_and_nothing_is_lost_or_doubled() {
    let fake = FakeWaymore::start().await;
    fake.data.script(&[
        Step::Status(500),
        Step::Status(502),
        Step::Hang,
        Step::Ok,
        Step::Status(503),
        Step::Hang,
        Step::Status(429),
    ]);
    let app = seeded_app(&fake, 25).await;
    connect(&app).await;
    let status = export_finished(&app).await;
    assert_eq!(status["export"]["state"], "completed", "{status}");
    assert!(
        fake.data.received() > fake.data.acknowledged().len(),
        "the failures happened"
    );
    assert_delivered_once(&fake.data.acknowledged(), &expected(&app.pool).await, 25);
}

#[tokio::test]
async fn a_failed_export_reports_why_and_resumes_where_it_stopped() {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = 20;
        s.waymore.max_attempts = 2;
    })
    .await;
    demo::seed(&app.pool, SHOP).await.unwrap();
    fake.data
        .script(&[Step::Ok, Step::Ok, Step::Status(500), Step::Status(500)]);
    connect(&app).await;
    let failed = export_finished(&app).await;
    assert_eq!(failed["export"]["state"], "failed");
    let reason = failed["export"]["lastError"].as_str().unwrap();
    assert!(
        reason.contains("customers") && reason.contains("500"),
        "{reason}"
    );
    assert_eq!(failed["export"]["entities"][0]["sent"], 40);

    let resumed = admin(&app, Method::POST, "/waymore/export", None).await;
    assert_eq!(resumed.status().as_u16(), 202);
    let resumed: Value = resumed.json().await.unwrap();
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["exportId"], failed["export"]["id"]);
    let done = export_finished(&app).await;
    assert_eq!(done["export"]["state"], "completed");
    assert_delivered_once(&fake.data.acknowledged(), &expected(&app.pool).await, 20);
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_export_without_retrying() {
    let fake = FakeWaymore::start().await;
    fake.data.script(&[Step::Status(400)]);
    let uri = fake.server.uri();
    // One part at a time: no other part is in flight beside the refused one.
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = 50;
        s.waymore.export_concurrency = 1;
    })
    .await;
    demo::seed(&app.pool, SHOP).await.unwrap();
    connect(&app).await;
    let status = export_finished(&app).await;
    assert_eq!(status["export"]["state"], "failed");
    assert_eq!(fake.data.received(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn more_parts_in_flight_than_database_connections_still_complete_each_part_once() {
    let fake = FakeWaymore::start().await;
    fake.data.set_delay(Duration::from_millis(20));
    let uri = fake.server.uri();
    // Eight parts sending, eight more built ahead, and three connections for all of them.
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = 10;
        s.waymore.export_concurrency = 8;
        s.database.max_connections = 3;
    })
    .await;
    demo::seed(&app.pool, SHOP).await.unwrap();
    connect(&app).await;
    let status = export_finished(&app).await;
    assert_eq!(status["export"]["state"], "completed");
    assert_delivered_once(&fake.data.acknowledged(), &expected(&app.pool).await, 10);
}

#[tokio::test]
async fn a_second_export_while_one_runs_conflicts() {
    let fake = FakeWaymore::start().await;
    fake.data.script(&[Step::Hang]);
    let app = seeded_app(&fake, 50).await;
    connect(&app).await;
    let response = admin(&app, Method::POST, "/waymore/export", None).await;
    assert_error(response, 409, "CONFLICT").await;
}

/// A database with the shop, connected, and an export waiting. No app runs on it, so no
/// export worker but the test's own can take the export.
async fn waiting_export(batch: u32) -> (PgPool, FakeWaymore, WaymoreClient) {
    let fake = FakeWaymore::start().await;
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    demo::seed(&pool, SHOP).await.unwrap();
    crate::events::connected(&pool).await;
    let mut settings = waymore_settings(&fake.server.uri());
    settings.batch_size = batch;
    let client = WaymoreClient::new(settings);
    let definition = MassExport::new(pool.clone(), client.clone());
    export::start(&pool, &definition, batch).await.unwrap();
    (pool, fake, client)
}

/// An export runner of the test's own, as a `serve` process has one.
fn exporter(
    pool: &PgPool,
    client: &WaymoreClient,
    settings: JobSettings,
) -> std::sync::Arc<Runner<MassExport>> {
    Runner::new(
        pool.clone(),
        MassExport::new(pool.clone(), client.clone()),
        settings,
        test_vault(),
    )
}

/// Waits until the export's acknowledged objects number `n`, or fails the test after 30 s.
async fn sent_reaches(pool: &PgPool, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sent: i64 = sqlx::query_scalar("SELECT sum(sent)::bigint FROM job_stages")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(sent <= n, "{sent} objects acknowledged, expected {n}");
        if sent == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{sent} of {n} acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the fake's data URL received `n` requests, or fails the test after 30 s.
async fn received_at_least(fake: &FakeWaymore, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.data.received() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "Waymore received {} of {n} parts",
            fake.data.received()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_process_stopped_mid_export_resumes_and_sends_each_part_once() {
    let (pool, fake, client) = waiting_export(9).await;
    let mut settings = client.settings().clone();
    // One part at a time, so "three acknowledged" is exact; a short lease, so the stopped
    // runner's claim expires within the test.
    settings.export_concurrency = 1;
    let settings = JobSettings {
        lease: Duration::from_secs(1),
        ..settings.export()
    };
    // Three parts are acknowledged; then Waymore stops answering until the stop, so no
    // part is acknowledged between the check below and the stop.
    fake.data.script(&[Step::Ok, Step::Ok, Step::Ok]);
    fake.data.set_holding(true);
    let first = exporter(&pool, &client, settings.clone());
    let running = tokio::spawn(async move { first.run_once().await });
    received_at_least(&fake, 4).await;
    // The fourth part may go out before the third's acknowledgement is written.
    sent_reaches(&pool, 27).await;
    running.abort();
    let _ = running.await;
    fake.data.set_holding(false);

    let second = exporter(&pool, &client, settings);
    let mut outcome = second.run_once().await.unwrap();
    for _ in 0..50 {
        if outcome != RunOutcome::Busy {
            break;
        }
        // The stopped runner's lease expires.
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = second.run_once().await.unwrap();
    }
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_delivered_once(&fake.data.acknowledged(), &expected(&pool).await, 9);
}

#[tokio::test]
async fn only_one_process_runs_an_export_at_a_time() {
    let (pool, fake, client) = waiting_export(50).await;
    let settings = client.settings().clone();
    fake.data.script(&[Step::Hang]);
    let first = exporter(&pool, &client, settings.export());
    let running = tokio::spawn(async move { first.run_once().await });
    received_at_least(&fake, 1).await;
    let second = exporter(&pool, &client, settings.export());
    assert_eq!(second.run_once().await.unwrap(), RunOutcome::Busy);
    assert!(matches!(
        running.await.unwrap().unwrap(),
        RunOutcome::Completed(_)
    ));
    assert_delivered_once(&fake.data.acknowledged(), &expected(&pool).await, 50);
}

#[tokio::test]
async fn parallel_parts_acknowledged_out_of_order_resume_exactly_after_a_crash() {
    let (pool, fake, client) = waiting_export(9).await;
    let mut settings = client.settings().clone();
    settings.export_concurrency = 4;
    let settings = JobSettings {
        lease: Duration::from_secs(1),
        ..settings.export()
    };
    // The second part hangs while the parts around it are acknowledged: out of order. Then
    // Waymore stops answering until the crash (the parts sent after those, and every
    // retry), so none is acknowledged between the check below and the crash however slow
    // the machine (a part in flight at a crash may go out again).
    fake.data
        .script(&[Step::Ok, Step::Hang, Step::Ok, Step::Ok, Step::Ok]);
    fake.data.set_holding(true);
    let first = exporter(&pool, &client, settings.clone());
    let running = tokio::spawn(async move { first.run_once().await });
    received_at_least(&fake, 5).await;
    let acknowledged: usize = fake
        .data
        .acknowledged()
        .iter()
        .map(|p| p["data"][0]["object"].as_array().unwrap().len())
        .sum();
    sent_reaches(&pool, acknowledged as i64).await;
    running.abort();
    let _ = running.await;
    fake.data.set_holding(false);
    let before_crash: HashSet<String> = fake
        .data
        .acknowledged()
        .iter()
        .flat_map(|p| p["data"][0]["object"].as_array().unwrap().clone())
        .map(|o| object_id("customers", &o))
        .collect();

    let second = exporter(&pool, &client, settings);
    let mut outcome = second.run_once().await.unwrap();
    for _ in 0..50 {
        if outcome != RunOutcome::Busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = second.run_once().await.unwrap();
    }
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_delivered_once(&fake.data.acknowledged(), &expected(&pool).await, 9);
    let mut sends: HashMap<String, usize> = HashMap::new();
    for request in fake.server.received_requests().await.unwrap() {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if body["data"][0]["name"] == "customers" {
            for object in body["data"][0]["object"].as_array().unwrap() {
                *sends.entry(object_id("customers", object)).or_default() += 1;
            }
        }
    }
    for id in &before_crash {
        assert_eq!(
            sends[id], 1,
            "customer {id} was acknowledged before the crash: sent once"
        );
    }
}

#[tokio::test]
async fn a_retried_part_s_error_is_cleared_by_the_next_part_waymore_acknowledges() {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = 20;
        s.waymore.export_concurrency = 1;
    })
    .await;
    demo::seed(&app.pool, SHOP).await.unwrap();
    fake.data
        .script(&[Step::Status(500), Step::Ok, Step::Ok, Step::Hang]);
    connect(&app).await;
    received_at_least(&fake, 4).await;
    let status = super::status(&app).await;
    assert_eq!(status["export"]["state"], "running");
    assert_eq!(status["export"]["entities"][0]["sent"], 40);
    assert_eq!(
        status["export"]["lastError"],
        Value::Null,
        "the partner healed: {status}"
    );
}
