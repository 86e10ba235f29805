//! Shopify both ways, against a stand-in store over HTTPS: connecting registers the
//! subscriptions the switches need (once), the order history arrives complete and once
//! (webhooks for the same orders included, a killed import resumed), the switches keep
//! webhooks from being applied, tracking numbers written in the shop reach Shopify as one
//! fulfillment, and the query budget is waited for, never overdrawn.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;

use shopbridge::configuration::JobSettings;
use shopbridge::jobs::pull::PullRunner;
use shopbridge::jobs::{Job, JobWorker, RunOutcome};
use shopbridge::outbound::address::{Allowlist, Guard, SystemLookup};
use shopbridge::outbound::rate::{Balance, SharedBucket};
use shopbridge::outbound::{load_roots, Client};
use shopbridge::retry::RetryPolicy;
use shopbridge::shopify::admin::client::AdminApi;
use shopbridge::shopify::admin::connect::Switches;
use shopbridge::shopify::admin::graphql::{self, OrdersData};
use shopbridge::shopify::admin::import::{Catalog, OrderHistory, Reader};
use shopbridge::shopify::admin::tracking::TrackingKind;
use shopbridge::shopify::admin::{Admin, Store};

use super::standin::{ca_file, StandIn, TOKEN};
use super::{order_with, send, settled, state_of};
use crate::events::{count, eventually, exec};
use crate::helpers::{
    assert_error, fresh_database, spawn_app, test_vault, TestApp, LOOPBACK, SHOPIFY_SECRET,
};
use crate::integrations::{admin, admin_get, configure, configured, remove, SHOPIFY};

const PUBLIC: &str = "https://bridge.example.com";

fn configuration(store: &StandIn, settings: Value) -> Value {
    json!({
        "providerId": SHOPIFY,
        "credentials": {"apiKey": TOKEN, "apiSecret": SHOPIFY_SECRET, "storeUrl": store.url},
        "settings": settings
    })
}

async fn status(app: &TestApp) -> Value {
    admin_get(app, "/admin/shopify").await.json().await.unwrap()
}

async fn import_state(app: &TestApp, import: &str) -> Option<String> {
    status(app).await["store"][import]["state"]
        .as_str()
        .map(str::to_owned)
}

async fn imported(app: &TestApp, import: &str) {
    eventually(Duration::from_secs(60), "the import completed", || async {
        import_state(app, import).await.as_deref() == Some("completed")
    })
    .await;
}

fn subscribed(store: &StandIn) -> Vec<(String, String)> {
    let mut subscriptions: Vec<(String, String)> = store
        .state()
        .subscriptions
        .iter()
        .map(|s| (s.topic.clone(), s.uri.clone()))
        .collect();
    subscriptions.sort();
    subscriptions
}

#[tokio::test]
async fn connecting_registers_each_subscription_once_even_when_configured_again() {
    let store = StandIn::start(1000.0, 1000.0).await;
    let app = spawn_app().await;
    let all_on = json!({"autoImportOrders": true, "syncProducts": true, "pushTracking": true});
    let guid = configured(&app, &configuration(&store, all_on.clone())).await;
    let subscriptions = subscribed(&store);
    assert_eq!(subscriptions.len(), 11, "{subscriptions:?}");
    assert!(subscriptions.contains(&(
        "ORDERS_CREATE".into(),
        format!("{PUBLIC}/shopify/webhooks/orders")
    )));
    assert!(subscriptions.contains(&(
        "PRODUCTS_DELETE".into(),
        format!("{PUBLIC}/shopify/webhooks/products")
    )));

    let mut again = configuration(&store, all_on);
    again["guid"] = json!(guid);
    assert_eq!(configure(&app, &again).await.status().as_u16(), 200);
    assert_eq!(subscribed(&store), subscriptions, "still each once");
    assert_eq!(store.state().subscriptions_created, 11);

    again["settings"]["syncProducts"] = json!(false);
    assert_eq!(configure(&app, &again).await.status().as_u16(), 200);
    let without_products = subscribed(&store);
    assert_eq!(without_products.len(), 8, "{without_products:?}");
    assert!(without_products
        .iter()
        .all(|(topic, _)| !topic.starts_with("PRODUCTS")));
    let shown = status(&app).await;
    assert_eq!(shown["store"]["name"], "Stand-in Store");
    assert_eq!(shown["store"]["domain"], "stand-in.myshopify.com");

    assert_eq!(remove(&app, &guid).await.status().as_u16(), 200);
    assert!(
        subscribed(&store).is_empty(),
        "removed with the integration"
    );
    assert_eq!(status(&app).await["store"]["connected"], false);
}

#[tokio::test]
async fn a_token_shopify_refuses_or_a_store_url_that_leads_nowhere_is_a_configuration_error() {
    let store = StandIn::start(1000.0, 1000.0).await;
    let app = spawn_app().await;
    let mut body = configuration(&store, json!({"autoImportOrders": true}));
    body["credentials"]["apiKey"] = json!("shpat_revoked");
    let message = assert_error(configure(&app, &body).await, 400, "CONFIGURATION_ERROR").await;
    assert!(message.contains("credentials.apiKey"), "{message}");
    assert!(!message.contains("shpat_revoked"), "{message}");
    assert!(store.state().subscriptions.is_empty());

    // Nothing listens at the address: the store URL is wrong.
    let mut body = configuration(&store, json!({"autoImportOrders": true}));
    body["credentials"]["storeUrl"] = json!("https://localhost:1");
    let message = assert_error(configure(&app, &body).await, 400, "CONFIGURATION_ERROR").await;
    assert!(message.contains("credentials.storeUrl"), "{message}");
    let listed: Value = admin_get(&app, "/api/integrations")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["provider"] != "shopify" || i["source"] == "environment"),
        "nothing stored: {listed}"
    );
}

#[tokio::test]
async fn a_connect_that_fails_part_way_leaves_no_subscription_at_the_store() {
    let store = StandIn::start(1000.0, 1000.0).await;
    let app = spawn_app().await;
    let all_on = json!({"autoImportOrders": true, "syncProducts": true, "pushTracking": true});
    for failing in [("Counts", 0), ("SubscriptionCreate", 5)] {
        store.state().failing = Some(failing);
        let answered = configure(&app, &configuration(&store, all_on.clone())).await;
        assert_eq!(answered.status().as_u16(), 502, "{failing:?}");
        assert!(
            subscribed(&store).is_empty(),
            "{failing:?}: what the failed connect made is deleted"
        );
        assert_eq!(status(&app).await["store"]["connected"], false);
    }
    store.state().failing = None;
    configured(&app, &configuration(&store, all_on)).await;
    assert_eq!(subscribed(&store).len(), 11, "the outage over, it connects");
}

/// A webhook for the stand-in's order `id`: newer than the store's copy, with another total.
fn newer_order_webhook(id: i64) -> String {
    order_with(json!({
        "id": id, "name": format!("#{id}"), "email": format!("buyer{}@example.com", id % 500),
        "updated_at": "2026-01-01T00:00:00Z", "total_price": "999.00", "currency": "EUR",
        "financial_status": "paid", "fulfillment_status": null, "cancelled_at": null,
        "customer": null,
        "line_items": [{"id": id * 100, "quantity": 1, "price": "10.00", "name": "Item 0"}]
    }))
}

#[tokio::test]
async fn the_order_history_arrives_complete_and_once_even_with_webhooks_for_the_same_orders() {
    // The budget binds: a page asks for 940 of the 1000 points.
    let store = StandIn::start(1000.0, 10_000.0).await;
    store.add_orders(1, 2000, 3, (50, 25));
    let app = spawn_app().await;
    configured(
        &app,
        &configuration(&store, json!({"autoImportOrders": true})),
    )
    .await;
    store.state().forced.extend([503, 429, 502]);
    for id in 1500..1520 {
        send(
            &app,
            "orders/updated",
            &format!("w-{id}"),
            &newer_order_webhook(id),
        )
        .await;
    }
    imported(&app, "orderImport").await;
    settled(&app).await;

    assert_eq!(count(&app.pool, "SELECT count(*) FROM orders").await, 2000);
    assert_eq!(
        count(&app.pool, "SELECT count(DISTINCT shopify_id) FROM orders").await,
        2000
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM orders WHERE total = 999").await,
        20,
        "the webhooks' newer versions stand"
    );
    // 40 orders of 25 lines (read past the first 10), 1960 of 3; the webhooks' 20 of one
    // line replace one long order (1500) and 19 short ones.
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM order_items").await,
        39 * 25 + 1941 * 3 + 20
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM customers").await,
        500,
        "the buyers the orders name, once each"
    );
    {
        let state = store.state();
        assert_eq!(state.throttled, 0, "never drew a THROTTLED answer");
        assert!(state.forced.is_empty(), "the failures were met and retried");
    }
    let shown = status(&app).await;
    assert_eq!(shown["store"]["orderImport"]["stages"][0]["sent"], 2000);
}

fn http() -> Client {
    let guard = Guard::new(Allowlist::parse(LOOPBACK).unwrap(), Arc::new(SystemLookup));
    Client::guarded_trusting(
        Duration::from_secs(5),
        guard,
        &load_roots(&ca_file()).unwrap(),
    )
}

/// What connecting needs, with runners of `lease` nobody runs.
fn admin_side(pool: &PgPool, lease: Duration) -> Admin {
    let reader = Reader::new(pool.clone(), http());
    let job = JobSettings {
        retry: RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(1),
        },
        concurrency: 1,
        lease,
    };
    Admin {
        pool: pool.clone(),
        http: http(),
        vault: test_vault(),
        tracking: Arc::new(TrackingKind::new(
            pool.clone(),
            http(),
            Duration::from_secs(5),
        )),
        orders: PullRunner::new(
            pool.clone(),
            OrderHistory::new(reader.clone()),
            job.clone(),
            test_vault(),
        ),
        products: PullRunner::new(pool.clone(), Catalog::new(reader), job, test_vault()),
        public_url: Some(PUBLIC.parse().unwrap()),
    }
}

/// The store connected with `autoImportOrders` on, its import waiting for a runner of
/// `lease` that nobody runs yet.
async fn importing(store: &StandIn, pool: &PgPool, lease: Duration) -> Admin {
    let admin = admin_side(pool, lease);
    let switches = Switches {
        import_orders: true,
        ..Switches::default()
    };
    let connection = Store {
        store_url: store.url.clone(),
        access_token: TOKEN.into(),
        push_tracking: false,
    };
    admin.connect(connection, &switches, None).await.unwrap();
    admin
}

#[tokio::test]
async fn an_import_killed_mid_way_resumes_on_another_runner_with_nothing_skipped() {
    let store = StandIn::start(20_000.0, 20_000.0).await;
    store.add_orders(1, 2000, 3, (0, 0));
    store.state().latency = Duration::from_millis(20);
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    let first = importing(&store, &pool, Duration::from_secs(1)).await;

    let runner = first.orders.clone();
    let running = tokio::spawn(async move { runner.run_once().await });
    eventually(Duration::from_secs(20), "some pages written", || async {
        count(&pool, "SELECT sent FROM job_stages WHERE stage = 'orders'").await >= 300
    })
    .await;
    // As a process killed: nothing of it runs on, its lease is left to expire.
    running.abort();
    let _ = running.await;
    let pages_before = store.state().count("Orders");

    let second = admin_side(&pool, Duration::from_secs(1));
    let mut outcome = second.orders.run_once().await.unwrap();
    while outcome == RunOutcome::Busy {
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = second.orders.run_once().await.unwrap();
    }
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 2000);
    assert_eq!(count(&pool, "SELECT count(*) FROM order_items").await, 6000);
    // 143 pages and the empty one; a page read but not written is read again, and the page
    // read ahead while the last was written.
    let pages = store.state().count("Orders");
    assert!(
        pages <= 144 + 2,
        "{pages} pages for 144 ({pages_before} before the kill)"
    );
    assert_eq!(
        count(
            &pool,
            &format!(
                "SELECT count(*) FROM jobs WHERE kind = '{}' AND state = 'completed'",
                OrderHistory::KIND
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_import_stopped_as_at_sigterm_leaves_every_page_it_read_written_and_resumes() {
    let store = StandIn::start(20_000.0, 20_000.0).await;
    store.add_orders(1, 1000, 3, (0, 0));
    store.state().latency = Duration::from_millis(20);
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    let first = importing(&store, &pool, Duration::from_secs(10)).await;
    let runner = first.orders.clone();
    let running = tokio::spawn(async move { runner.run_once().await });
    eventually(Duration::from_secs(20), "some pages written", || async {
        count(&pool, "SELECT sent FROM job_stages WHERE stage = 'orders'").await >= 100
    })
    .await;
    first.orders.stop();
    let outcome = running.await.unwrap().unwrap();
    assert!(matches!(outcome, RunOutcome::Stopped(_)), "{outcome:?}");
    let sent = count(&pool, "SELECT sent FROM job_stages WHERE stage = 'orders'").await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM orders").await,
        sent,
        "what was written is what the job counts, and no more"
    );
    assert!(sent < 1000, "stopped before the end");

    // Its lease was given up: the next process takes over at once.
    let second = admin_side(&pool, Duration::from_secs(10));
    let outcome = second.orders.run_once().await.unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 1000);
}

#[tokio::test]
async fn an_import_through_a_database_outage_loses_nothing_and_repeats_nothing() {
    let store = StandIn::start(20_000.0, 20_000.0).await;
    store.add_orders(1, 1000, 3, (0, 0));
    store.state().latency = Duration::from_millis(20);
    let database = fresh_database().await;
    let relay = crate::proxy::Relay::start(database.get_port()).await;
    let pool = PgPool::connect_with(database.clone().port(relay.port()))
        .await
        .unwrap();
    let direct = PgPool::connect_with(database.clone()).await.unwrap();
    let admin = importing(&store, &pool, Duration::from_secs(1)).await;
    let runner = admin.orders.clone();
    let running = tokio::spawn(async move {
        loop {
            // A run the outage broke off is run again, as the worker would.
            match runner.run_once().await {
                Ok(RunOutcome::Completed(id)) => return id,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    eventually(Duration::from_secs(20), "some pages written", || async {
        count(
            &direct,
            "SELECT sent FROM job_stages WHERE stage = 'orders'",
        )
        .await
            >= 200
    })
    .await;
    relay.down();
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.up(database.get_port()).await;
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("completed after the outage")
        .unwrap();
    assert_eq!(count(&direct, "SELECT count(*) FROM orders").await, 1000);
    assert_eq!(
        count(
            &direct,
            "SELECT sent FROM job_stages WHERE stage = 'orders'"
        )
        .await,
        1000,
        "each page counted once"
    );
}

#[tokio::test]
async fn with_sync_products_off_a_product_webhook_is_stored_not_applied() {
    let store = StandIn::start(1000.0, 1000.0).await;
    let app = spawn_app().await;
    let guid = configured(
        &app,
        &configuration(
            &store,
            json!({"autoImportOrders": true, "syncProducts": false}),
        ),
    )
    .await;
    let stored = send(&app, "products/create", "w-product", &super::product()).await;
    settled(&app).await;
    let (state, outcome) = state_of(&app, "w-product").await;
    assert_eq!(state, "ignored");
    assert!(outcome.unwrap().contains("syncProducts is off"));
    assert_eq!(count(&app.pool, "SELECT count(*) FROM products").await, 0);
    let shown = status(&app).await;
    assert_eq!(shown["ignored"], 1);
    assert_eq!(
        shown["notApplied"],
        json!(["products/*: syncProducts is off"])
    );

    let mut on = configuration(
        &store,
        json!({"autoImportOrders": true, "syncProducts": true}),
    );
    on["guid"] = json!(guid);
    assert_eq!(configure(&app, &on).await.status().as_u16(), 200);
    let reprocess = admin(
        app.client
            .post(app.url("/admin/shopify/webhooks/reprocess")),
    )
    .json(&json!({"ids": [stored["id"]]}))
    .send()
    .await
    .unwrap();
    assert_eq!(reprocess.status().as_u16(), 202);
    settled(&app).await;
    assert_eq!(state_of(&app, "w-product").await.0, "applied");
    assert_eq!(count(&app.pool, "SELECT count(*) FROM products").await, 1);
}

/// The echo Shopify sends after a fulfillment is made.
fn fulfillment_webhook(fulfillment: i64, order: i64, number: &str, line: i64) -> String {
    json!({
        "id": fulfillment, "order_id": order, "status": "success",
        "created_at": "2026-02-01T10:00:00Z", "updated_at": "2026-02-01T10:00:00Z",
        "tracking_company": "UPS", "tracking_number": number, "tracking_numbers": [number],
        "line_items": [{"id": line, "quantity": 1}]
    })
    .to_string()
}

#[tokio::test]
async fn a_tracking_number_written_with_psql_reaches_shopify_as_one_fulfillment_and_its_echo_makes_no_second_shipment(
) {
    let store = StandIn::start(1000.0, 1000.0).await;
    store.add_orders(7001, 1, 2, (0, 0));
    let app = spawn_app().await;
    configured(
        &app,
        &configuration(
            &store,
            json!({"autoImportOrders": true, "pushTracking": true}),
        ),
    )
    .await;
    imported(&app, "orderImport").await;

    exec(
        &app.pool,
        "INSERT INTO shipments (order_id, status, carrier)
         SELECT id, 'pending', 'UPS' FROM orders WHERE shopify_id = 7001",
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO shipment_items (shipment_id, order_item_id, quantity)
         SELECT s.id, oi.id, 1 FROM shipments s JOIN order_items oi ON oi.order_id = s.order_id
         WHERE oi.shopify_id = 700100",
    )
    .await;
    exec(&app.pool, "UPDATE shipments SET tracking_number = '1Z999'").await;
    eventually(Duration::from_secs(20), "a fulfillment made", || async {
        !store.state().fulfillments.is_empty()
    })
    .await;
    let made = store.state().fulfillments.clone();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["number"], "1Z999");
    assert_eq!(made[0]["company"], "UPS");
    assert_eq!(
        made[0]["lines"],
        json!([[700100, 1]]),
        "only the shipment's item"
    );
    let fulfillment = made[0]["id"].as_i64().unwrap();

    send(
        &app,
        "fulfillments/create",
        "w-echo",
        &fulfillment_webhook(fulfillment, 7001, "1Z999", 700100),
    )
    .await;
    settled(&app).await;
    assert_eq!(state_of(&app, "w-echo").await.0, "applied");
    assert_eq!(count(&app.pool, "SELECT count(*) FROM shipments").await, 1);
    assert_eq!(
        count(
            &app.pool,
            &format!("SELECT count(*) FROM shipments WHERE shopify_id = {fulfillment}")
        )
        .await,
        1
    );

    exec(&app.pool, "UPDATE shipments SET tracking_number = '1Z777'").await;
    eventually(Duration::from_secs(20), "the tracking updated", || async {
        !store.state().tracking_updates.is_empty()
    })
    .await;
    let state = store.state();
    assert_eq!(
        state.tracking_updates,
        [json!({"id": fulfillment, "number": "1Z777"})]
    );
    assert_eq!(state.fulfillments.len(), 1, "still one fulfillment");
}

#[tokio::test]
async fn a_throttled_answer_waits_for_the_restore_rate_and_goes_again() {
    let store = StandIn::start(1000.0, 1000.0).await;
    store.add_orders(1, 14, 3, (0, 0));
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    // This process believes the budget full: Shopify's answer corrects it.
    let budget = SharedBucket::open(
        pool.clone(),
        "shop",
        Balance {
            maximum: 1000.0,
            available: 1000.0,
            restore_rate: 1000.0,
        },
    )
    .await
    .unwrap();
    store.state().bucket.drain();
    let api = AdminApi::new(
        http(),
        &store.url.parse::<reqwest::Url>().unwrap(),
        TOKEN,
        budget,
    )
    .unwrap();
    let orders: OrdersData = api
        .query(
            graphql::ORDERS,
            json!({"first": 14, "query": "id:>0", "lines": graphql::LINES_PER_ORDER}),
            graphql::orders_cost(14) as f64,
        )
        .await
        .unwrap();
    assert_eq!(orders.orders.nodes.len(), 14);
    assert_eq!(store.state().throttled, 1, "one THROTTLED, then waited out");
}

#[tokio::test]
async fn the_catalog_arrives_with_every_variant_when_sync_products_is_on() {
    let store = StandIn::start(1000.0, 10_000.0).await;
    {
        let mut state = store.state();
        for id in 1..=40 {
            let variants = if id % 10 == 0 { 130 } else { 3 };
            state
                .products
                .insert(id, super::standin::product(id, variants));
        }
    }
    let app = spawn_app().await;
    configured(&app, &configuration(&store, json!({"syncProducts": true}))).await;
    imported(&app, "productImport").await;
    assert_eq!(count(&app.pool, "SELECT count(*) FROM products").await, 40);
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM product_options").await,
        4 * 130 + 36 * 3,
        "variants past the first page read too"
    );
    let url: String = sqlx::query_scalar("SELECT url FROM products WHERE shopify_id = 7")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(url, format!("{}/products/product-7", store.url));
    assert_eq!(store.state().throttled, 0);
    assert_eq!(
        import_state(&app, "orderImport").await,
        None,
        "orders left alone"
    );
}

#[tokio::test]
async fn an_import_is_started_again_on_request_once_a_store_is_connected() {
    let store = StandIn::start(1000.0, 10_000.0).await;
    store.add_orders(1, 30, 2, (0, 0));
    let app = spawn_app().await;
    let import = |what: &'static str| {
        let request = admin(
            app.client
                .post(app.url(&format!("/admin/shopify/import/{what}"))),
        );
        async move { request.send().await.unwrap() }
    };
    let message = assert_error(import("orders").await, 409, "CONFLICT").await;
    assert!(
        message.contains("No Shopify store is connected"),
        "{message}"
    );
    assert_error(import("customers").await, 404, "NOT_FOUND").await;

    configured(
        &app,
        &configuration(&store, json!({"autoImportOrders": true})),
    )
    .await;
    imported(&app, "orderImport").await;
    let first = status(&app).await["store"]["orderImport"]["id"].clone();
    exec(&app.pool, "DELETE FROM orders WHERE shopify_id <= 10").await;
    let started = import("orders").await;
    assert_eq!(started.status().as_u16(), 202);
    let started: Value = started.json().await.unwrap();
    assert_ne!(started["jobId"], first);
    eventually(Duration::from_secs(30), "imported again", || async {
        count(&app.pool, "SELECT count(*) FROM orders").await == 30
    })
    .await;
    imported(&app, "orderImport").await;
}
