//! Rfmcube's push API (seed 002), against a stand-in that enforces the key, the platform,
//! the size and 60 requests per window: the initial synchronisation, the incremental sync
//! from the event log, deletions, the consistency check, and what each refusal does.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::PgPool;

use shopbridge::configuration::JobSettings;
use shopbridge::delivery::destinations::{self, DestinationName};
use shopbridge::demo::{self, DemoSize};
use shopbridge::events::EventPattern;
use shopbridge::jobs::{self, JobState, RunOutcome, Runner};
use shopbridge::outbound::address::{Allowlist, Guard, SystemLookup};
use shopbridge::outbound::Client;
use shopbridge::retry::RetryPolicy;
use shopbridge::rfmcube::push;
use shopbridge::rfmcube::push::destination::RfmcubeKind;
use shopbridge::rfmcube::push::import::InitialSync;

use super::standin::{StandIn, PUSH_KEY};
use crate::events::{eventually, exec};
use crate::helpers::{
    fresh_database, rfmcube_push_settings, spawn_app_on, test_vault, TestApp, ADMIN_TOKEN, LOOPBACK,
};

const SHOP: DemoSize = DemoSize {
    customers: 60,
    orders: 240,
};

/// A shop with the demo data and three guest orders of one guest, and a pool on it.
async fn shop() -> (sqlx::postgres::PgConnectOptions, PgPool) {
    let db = fresh_database().await;
    let pool = PgPool::connect_with(db.clone()).await.unwrap();
    demo::seed(&pool, SHOP).await.unwrap();
    exec(
        &pool,
        "INSERT INTO orders (reference, customer_email, status, total, delivery_province, created_at)
         SELECT 'G-' || n, CASE n WHEN 2 THEN 'Repeat.Guest@example.org' ELSE 'repeat.guest@example.org' END,
                'delivered', 10 * n, 'MI', timestamptz '2025-01-01 10:00:00+00' + n * interval '1 day'
         FROM generate_series(1, 3) n",
    )
    .await;
    (db, pool)
}

/// The app pushing to `standin` with the connector's key from the environment.
async fn pushing(
    db: &sqlx::postgres::PgConnectOptions,
    standin: &StandIn,
    customize: impl FnOnce(&mut shopbridge::configuration::Settings),
) -> TestApp {
    let url = standin.url();
    spawn_app_on(db.clone(), |settings| {
        settings.rfmcube_push = rfmcube_push_settings(&url);
        settings.rfmcube_push.api_key = Some(PUSH_KEY.into());
        customize(settings);
    })
    .await
}

async fn job_state(pool: &PgPool, kind: &str) -> Option<JobState> {
    jobs::latest(pool, kind).await.unwrap().map(|job| job.state)
}

async fn synced(pool: &PgPool) {
    eventually(
        Duration::from_secs(30),
        "the initial sync completed",
        || async { job_state(pool, "rfmcube.import").await == Some(JobState::Completed) },
    )
    .await;
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn admin(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
}

/// Every customer and order of the shop is at the stand-in, each order arrived once.
async fn assert_complete(standin: &StandIn, pool: &PgPool) {
    let customers: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM customers ORDER BY customers.id")
            .fetch_all(pool)
            .await
            .unwrap();
    let orders: Vec<String> = sqlx::query_scalar("SELECT id::text FROM orders ORDER BY orders.id")
        .fetch_all(pool)
        .await
        .unwrap();
    let state = standin.state();
    for id in &customers {
        assert!(state.customers.contains_key(id), "customer {id} arrived");
    }
    let mut arrived: Vec<&String> = state.orders.keys().collect();
    arrived.sort_by_key(|id| id.parse::<i64>().unwrap());
    assert_eq!(
        arrived,
        orders.iter().collect::<Vec<_>>(),
        "every order arrived"
    );
    assert!(
        orders.iter().all(|id| state.order_arrivals[id] == 1),
        "each order arrived once"
    );
}

#[tokio::test]
async fn the_initial_sync_sends_every_customer_with_its_orders_and_guests_by_email() {
    let standin = StandIn::start().await;
    let (db, pool) = shop().await;
    let app = pushing(&db, &standin, |_| {}).await;
    synced(&app.pool).await;
    assert_complete(&standin, &pool).await;

    {
        let state = standin.state();
        let guest = &state.customers["guest:repeat.guest@example.org"];
        assert!(guest.get("id").is_none(), "a guest has no id: {guest}");
        let guest_import = state
            .calls
            .iter()
            .flat_map(|(_, body)| body["customers"].as_array().cloned().unwrap_or_default())
            .find(|c| c["email"] == "repeat.guest@example.org")
            .expect("the guest was imported");
        assert_eq!(
            guest_import["orders"].as_array().unwrap().len(),
            3,
            "the guest's orders, whatever the email's case, in one entry: {guest_import}"
        );
        let (_, first) = state.calls.first().unwrap();
        assert_eq!(first["overwriteDescriptors"], false);
        assert_eq!(first["triggerIntegrations"], false);
        assert_eq!(first["recalculateStats"], false);
        let customer = &first["customers"][0];
        assert!(customer["id"].is_string() && customer["email"].is_string());
        assert!(customer["createdAt"].as_str().unwrap().ends_with('Z'));
        let order = state
            .orders
            .values()
            .find(|o| !o["items"][0].is_null())
            .unwrap();
        assert!(order["amount"].is_number(), "{order}");
        assert!(order["status"].is_string() && order["statusLabel"].is_string());
        assert!(order["updatedAt"].as_str().unwrap().ends_with('Z'));
        assert!(order["delivery"].get("province").is_some());
        let item = &order["items"][0];
        assert!(item["item_id"].is_number() && item.get("product_id").is_some());
        assert!(item.get("brand").is_some());
        assert_eq!(state.throttled, 0, "no request drew a 429");
    }

    let status: Value = admin(&app, Method::GET, "/admin/rfmcube/push")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["configured"], true);
    assert_eq!(status["import"]["state"], "completed");
    assert_eq!(status["sentCustomers"], json!(SHOP.customers));
    assert_eq!(
        status["sentOrders"],
        json!(count(&pool, "SELECT count(*) FROM orders").await)
    );
}

/// The push destination and a waiting initial sync, configured as `connect` does, with no
/// process to run it.
async fn configured_without_a_runner(pool: &PgPool, url: &str) {
    let settings = rfmcube_push_settings(url);
    let kind = RfmcubeKind::new(pool.clone(), http(&settings), settings);
    let events: Vec<EventPattern> = push::EVENTS
        .iter()
        .map(|e| EventPattern::try_from((*e).to_owned()).unwrap())
        .collect();
    destinations::add(
        pool,
        &test_vault(),
        &DestinationName::parse(push::DESTINATION).unwrap(),
        &kind,
        &events,
        json!({"url": url, "api_key": PUSH_KEY}),
    )
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let definition = runner(pool, url, Duration::from_secs(1));
    jobs::start_in(&mut tx, definition.definition(), 10)
        .await
        .unwrap()
        .ok()
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_sync_stopped_mid_way_resumes_on_another_runner_with_nothing_skipped() {
    let standin = StandIn::start().await;
    let (_, pool) = shop().await;
    configured_without_a_runner(&pool, &standin.url()).await;
    // Slow processes: the first runner is stopped while a part waits for its process.
    standin.state.lock().unwrap().process_delay = Duration::from_millis(300);
    let first = runner(&pool, &standin.url(), Duration::from_secs(1));
    let running = tokio::spawn(async move { first.run_once().await });
    eventually(
        Duration::from_secs(10),
        "three parts acknowledged",
        || async {
            count(
                &pool,
                "SELECT sent FROM job_stages WHERE stage = 'customers'",
            )
            .await
                >= 30
        },
    )
    .await;
    running.abort();
    let _ = running.await;

    standin.state.lock().unwrap().process_delay = Duration::from_millis(10);
    let second = runner(&pool, &standin.url(), Duration::from_secs(1));
    let mut outcome = second.run_once().await.unwrap();
    while outcome == RunOutcome::Busy {
        // The stopped runner's lease expires.
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = second.run_once().await.unwrap();
    }
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_complete_allowing_repeats(&standin, &pool).await;
    let imported: usize = standin
        .calls_to("import")
        .iter()
        .flat_map(|body| body["customers"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["id"].is_string())
        .count();
    let again = imported - SHOP.customers as usize;
    assert!(
        again <= 10,
        "at most the part in flight is sent again: {again}"
    );
}

/// Every customer and order of the shop is at the stand-in.
async fn assert_complete_allowing_repeats(standin: &StandIn, pool: &PgPool) {
    let customers: Vec<String> = sqlx::query_scalar("SELECT id::text FROM customers")
        .fetch_all(pool)
        .await
        .unwrap();
    let orders: Vec<String> = sqlx::query_scalar("SELECT id::text FROM orders")
        .fetch_all(pool)
        .await
        .unwrap();
    let state = standin.state();
    assert!(customers.iter().all(|id| state.customers.contains_key(id)));
    assert!(
        orders.iter().all(|id| state.orders.contains_key(id)),
        "nothing skipped"
    );
}

fn http(settings: &shopbridge::configuration::RfmcubePushSettings) -> Client {
    let guard = Guard::new(
        Allowlist::parse(LOOPBACK).unwrap(),
        std::sync::Arc::new(SystemLookup),
    );
    Client::guarded(settings.timeout, guard)
}

fn runner(pool: &PgPool, url: &str, lease: Duration) -> std::sync::Arc<Runner<InitialSync>> {
    let mut settings = rfmcube_push_settings(url);
    settings.batch_size = 10;
    let job = JobSettings {
        retry: RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(1),
        },
        concurrency: 1,
        lease,
    };
    let definition = InitialSync::new(pool.clone(), http(&settings), settings);
    Runner::new(pool.clone(), definition, job, test_vault())
}

/// The app pushing to `standin`, its initial sync done.
async fn synced_app(
    standin: &StandIn,
    customize: impl FnOnce(&mut shopbridge::configuration::Settings),
) -> (TestApp, PgPool) {
    let (db, pool) = shop().await;
    let app = pushing(&db, standin, customize).await;
    synced(&app.pool).await;
    (app, pool)
}

async fn delivered(pool: &PgPool) {
    eventually(
        Duration::from_secs(60),
        "every change delivered",
        || async {
            count(
                pool,
                "SELECT count(*) FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id
             WHERE ds.name = 'rfmcube' AND d.state <> 'delivered'",
            )
            .await
                == 0
        },
    )
    .await;
}

async fn hold(pool: &PgPool) {
    exec(
        pool,
        "UPDATE destinations SET held = true, hold_reason = 'test' WHERE name = 'rfmcube'",
    )
    .await;
}

async fn release(app: &TestApp) {
    let released = admin(app, Method::POST, "/admin/destinations/rfmcube/release").await;
    assert!(released.status().is_success());
}

/// The calls made after the first `skip`.
fn calls_after(standin: &StandIn, skip: usize) -> Vec<(String, Value)> {
    standin.state().calls[skip..].to_vec()
}

#[tokio::test]
async fn changes_arrive_as_merges_in_each_entity_s_order() {
    let standin = StandIn::start().await;
    let (app, pool) = synced_app(&standin, |_| {}).await;
    let before = standin.state().calls.len();
    for status in ["processing", "shipped", "delivered"] {
        exec(
            &pool,
            &format!("UPDATE orders SET status = '{status}' WHERE id = 7"),
        )
        .await;
        delivered(&app.pool).await;
    }
    exec(&pool, "UPDATE customers SET firstname = 'Ada' WHERE id = 3").await;
    delivered(&app.pool).await;
    let calls = calls_after(&standin, before);
    let statuses: Vec<&Value> = calls
        .iter()
        .filter(|(path, _)| path == "merge_order")
        .map(|(_, body)| &body["order"]["status"])
        .collect();
    assert_eq!(
        statuses,
        ["processing", "shipped", "delivered"],
        "{calls:?}"
    );
    let order = &calls[0].1["order"];
    assert_eq!(order["id"], "7");
    assert!(order["customerEmail"].is_string() && order.get("customerId").is_some());
    assert_eq!(calls[3].0, "merge_customer");
    assert_eq!(calls[3].1["customer"]["firstname"], "Ada");
    assert_eq!(calls[3].1["triggerIntegrations"], false);
}

#[tokio::test]
async fn changes_still_queued_for_an_entity_go_as_one_call_with_its_latest_state() {
    let standin = StandIn::start().await;
    let (app, pool) = synced_app(&standin, |_| {}).await;
    hold(&pool).await;
    for name in ["One", "Two", "Three"] {
        exec(
            &pool,
            &format!("UPDATE customers SET firstname = '{name}' WHERE id = 5"),
        )
        .await;
    }
    let before = standin.state().calls.len();
    release(&app).await;
    delivered(&app.pool).await;
    let calls = calls_after(&standin, before);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "merge_customer");
    assert_eq!(calls[0].1["customer"]["firstname"], "Three");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event_id
             WHERE e.name = 'customer.updated' AND d.last_status IS NULL AND d.state = 'delivered'"
        )
        .await,
        2,
        "the first two were superseded, not sent"
    );
}

#[tokio::test]
async fn a_backlog_of_changed_orders_goes_through_import_and_arrives_complete() {
    let standin = StandIn::start().await;
    let db = fresh_database().await;
    let pool = PgPool::connect_with(db.clone()).await.unwrap();
    demo::seed(
        &pool,
        DemoSize {
            customers: 1000,
            orders: 5000,
        },
    )
    .await
    .unwrap();
    let app = pushing(&db, &standin, |_| {}).await;
    synced(&app.pool).await;
    hold(&pool).await;
    exec(&pool, "UPDATE orders SET total = total + 1").await;
    let before = standin.state().calls.len();
    let released: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    release(&app).await;
    delivered(&app.pool).await;
    eventually(
        Duration::from_secs(30),
        "the imports' processes looked at and what they hold recorded as sent",
        || async {
            let recorded: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM rfmcube_push_sent WHERE entity = 'order' AND sent_at > $1",
            )
            .bind(released)
            .fetch_one(&pool)
            .await
            .unwrap();
            recorded >= 5000
        },
    )
    .await;
    let totals: Vec<(String, f64)> = sqlx::query_as("SELECT id::text, total::float8 FROM orders")
        .fetch_all(&pool)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "every order's new total arrived",
        || async {
            let state = standin.state();
            totals
                .iter()
                .all(|(id, total)| state.orders[id]["amount"].as_f64() == Some(*total))
        },
    )
    .await;
    let calls = calls_after(&standin, before);
    let imports = calls.iter().filter(|(path, _)| path == "import").count();
    let merges = calls
        .iter()
        .filter(|(path, _)| path.starts_with("merge"))
        .count();
    assert!(
        calls.len() < 1000 && imports > merges,
        "5,000 changes in {} calls: {imports} imports, {merges} merges",
        calls.len()
    );
    assert_eq!(standin.state().throttled, 0);
}

#[tokio::test]
async fn changes_beyond_a_batch_go_in_the_next_slots() {
    let standin = StandIn::start().await;
    let (app, pool) = synced_app(&standin, |s| s.rfmcube_push.batch_size = 3).await;
    hold(&pool).await;
    exec(
        &pool,
        "UPDATE orders SET shipping_method = 'courier ' || id WHERE id <= 40",
    )
    .await;
    let before = standin.state().calls.len();
    release(&app).await;
    delivered(&app.pool).await;
    let calls = calls_after(&standin, before);
    assert!(
        calls.len() >= 40 / 3,
        "batches of at most 3: {}",
        calls.len()
    );
    eventually(Duration::from_secs(10), "every change arrived", || async {
        let state = standin.state();
        (1..=40).all(|id| {
            state.orders[&id.to_string()]["shippingMethod"] == format!("courier {id}").as_str()
        })
    })
    .await;
}

#[tokio::test]
async fn two_processes_share_the_limit_and_never_draw_a_429() {
    let standin = StandIn::start().await;
    let (db, pool) = shop().await;
    let first = pushing(&db, &standin, |_| {}).await;
    let second = pushing(&db, &standin, |_| {}).await;
    synced(&first.pool).await;
    for id in 1..=150 {
        exec(
            &pool,
            &format!("UPDATE orders SET status = 'shipped' WHERE id = {id}"),
        )
        .await;
    }
    delivered(&second.pool).await;
    assert_eq!(standin.state().throttled, 0, "no 429");
    assert!(
        standin.busiest_window() <= 60,
        "{}",
        standin.busiest_window()
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM jobs WHERE kind = 'rfmcube.import'"
        )
        .await,
        1,
        "the two processes configured one sync"
    );
}

#[tokio::test]
async fn a_deleted_customer_is_deleted_at_rfmcube_and_its_orders_are_not_sent_again() {
    let standin = StandIn::start().await;
    let (app, pool) = synced_app(&standin, |_| {}).await;
    let email: String = sqlx::query_scalar("SELECT email FROM customers WHERE id = 9")
        .fetch_one(&pool)
        .await
        .unwrap();
    let orders = count(&pool, "SELECT count(*) FROM orders WHERE customer_id = 9").await;
    assert!(orders > 0, "the customer has orders");
    let before = standin.state().calls.len();
    exec(&pool, "DELETE FROM customers WHERE id = 9").await;
    delivered(&app.pool).await;
    let calls = calls_after(&standin, before);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "delete_customer");
    assert_eq!(calls[0].1, json!({"id": "9", "email": email}));
    assert!(!standin.state().customers.contains_key("9"));

    // The shop keeps its orders as guest orders: a check sends nothing of them.
    let started = admin(&app, Method::POST, "/admin/rfmcube/push/check").await;
    assert_eq!(started.status().as_u16(), 202);
    checked(&pool).await;
    assert_eq!(calls_after(&standin, before).len(), 1, "nothing more sent");
}

async fn checked(pool: &PgPool) {
    eventually(Duration::from_secs(30), "the check completed", || async {
        job_state(pool, "rfmcube.check").await == Some(JobState::Completed)
    })
    .await;
}

#[tokio::test]
async fn the_consistency_check_sends_again_what_changed_behind_the_event_log_s_back() {
    let standin = StandIn::start().await;
    let (app, pool) = synced_app(&standin, |_| {}).await;
    exec(
        &pool,
        "BEGIN; SET LOCAL session_replication_role = replica;
         UPDATE customers SET lastname = 'Changed Quietly' WHERE id = 11;
         UPDATE order_items SET quantity = quantity + 1
         WHERE order_id = (SELECT min(id) FROM orders WHERE customer_id = 12);
         COMMIT;",
    )
    .await;
    let before = standin.state().calls.len();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM events").await,
        0,
        "no event"
    );
    let started = admin(&app, Method::POST, "/admin/rfmcube/push/check").await;
    assert_eq!(started.status().as_u16(), 202);
    checked(&pool).await;
    let calls = calls_after(&standin, before);
    let sent: Vec<&Value> = calls
        .iter()
        .filter(|(path, _)| path == "import")
        .flat_map(|(_, body)| body["customers"].as_array().unwrap())
        .map(|c| &c["id"])
        .collect();
    assert_eq!(sent, ["11", "12"], "only what differs");
    assert_eq!(
        standin.state().customers["11"]["lastname"],
        "Changed Quietly"
    );

    let again = admin(&app, Method::POST, "/admin/rfmcube/push/check").await;
    assert_eq!(again.status().as_u16(), 202);
    eventually(
        Duration::from_secs(30),
        "the second check completed",
        || async {
            count(
                &pool,
                "SELECT count(*) FROM jobs WHERE kind = 'rfmcube.check' AND state = 'completed'",
            )
            .await
                == 2
        },
    )
    .await;
    assert_eq!(
        calls_after(&standin, before).len(),
        calls.len(),
        "nothing differs now"
    );
}

/// The app pushing to a stand-in that refuses it, once the push is held; its status.
async fn held(standin: &StandIn) -> (TestApp, PgPool, Value) {
    let (db, pool) = shop().await;
    let app = pushing(&db, standin, |_| {}).await;
    eventually(Duration::from_secs(10), "held", || async {
        count(
            &pool,
            "SELECT count(*) FROM destinations WHERE name = 'rfmcube' AND held",
        )
        .await
            == 1
    })
    .await;
    let status: Value = admin(&app, Method::GET, "/admin/rfmcube/push")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["held"], true);
    (app, pool, status)
}

#[tokio::test]
async fn a_connector_of_another_platform_holds_the_push_until_released() {
    let standin = StandIn::start().await;
    standin.state.lock().unwrap().platform_ok = false;
    let (app, pool, status) = held(&standin).await;
    assert!(
        status["holdReason"]
            .as_str()
            .unwrap()
            .contains("Use the Rfmcube API"),
        "{status}"
    );
    assert_ne!(
        status["import"]["state"], "failed",
        "the sync waits, it does not fail"
    );

    standin.state.lock().unwrap().platform_ok = true;
    release(&app).await;
    synced(&pool).await;
    assert_complete(&standin, &pool).await;
}

#[tokio::test]
async fn a_refused_key_holds_the_push_with_the_reason() {
    let standin = StandIn::start().await;
    standin.state.lock().unwrap().api_key = "another-key".into();
    let (_, _, status) = held(&standin).await;
    assert!(
        status["holdReason"].as_str().unwrap().contains("api-key"),
        "{status}"
    );
}

#[tokio::test]
async fn a_request_rfmcube_finds_too_large_is_sent_in_halves() {
    let standin = StandIn::start().await;
    standin.state.lock().unwrap().max_bytes = 40 * 1024;
    let (db, pool) = shop().await;
    let app = pushing(&db, &standin, |_| {}).await;
    synced(&app.pool).await;
    assert!(standin.state().too_large > 0, "Rfmcube answered 416");
    assert_complete(&standin, &pool).await;
}

#[tokio::test]
async fn answers_of_a_rfmcube_in_trouble_are_retried_and_nothing_is_lost() {
    let standin = StandIn::start().await;
    standin.state.lock().unwrap().forced.extend([503, 500, 502]);
    standin.state.lock().unwrap().failing_processes = 1;
    let (db, pool) = shop().await;
    let app = pushing(&db, &standin, |_| {}).await;
    synced(&app.pool).await;
    assert_complete(&standin, &pool).await;
}

#[tokio::test]
async fn a_429_holds_every_request_back_for_its_retry_after() {
    let standin = StandIn::start().await;
    standin.state.lock().unwrap().forced.push_back(429);
    let (db, pool) = shop().await;
    let app = pushing(&db, &standin, |_| {}).await;
    synced(&app.pool).await;
    let gap = {
        let state = standin.state();
        state.arrivals[1] - state.arrivals[0]
    };
    assert!(
        gap >= Duration::from_millis(950),
        "the next request came after {gap:?}"
    );
    assert_complete(&standin, &pool).await;
}

#[tokio::test]
async fn push_is_configured_through_the_integrations_api_with_the_key_sealed() {
    let standin = StandIn::start().await;
    let (db, pool) = shop().await;
    let app = spawn_app_on(db.clone(), |_| {}).await;
    let guid = crate::integrations::configured(
        &app,
        &json!({
            "providerId": "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c003",
            "credentials": {"pushApiKey": PUSH_KEY},
            "settings": {"pushUrl": standin.url()},
        }),
    )
    .await;
    synced(&pool).await;
    assert_complete(&standin, &pool).await;
    let stored: String =
        sqlx::query_scalar("SELECT config::text FROM destinations WHERE name = 'rfmcube'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !stored.contains(PUSH_KEY),
        "the key is sealed, not in the config: {stored}"
    );

    let removed = crate::integrations::remove(&app, &guid).await;
    assert!(removed.status().is_success());
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM destinations WHERE name = 'rfmcube'"
        )
        .await,
        0,
        "removing the integration stops the push"
    );
}
