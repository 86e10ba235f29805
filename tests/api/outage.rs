//! The database goes away under a running service: every endpoint that needs it answers
//! 503 in the error envelope within about a second, the probes say so, and all is served
//! again once it is back; an outcome the crash lost is written again.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{ConnectOptions, Connection, PgConnection};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use shopbridge::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

use crate::events::{eventually, exec};
use crate::helpers::{
    assert_error, fresh_database, spawn_app_on, TestApp, ADMIN_TOKEN, API_KEY, ONE_CREDENTIALS,
};
use crate::proxy::Relay;
use crate::waymore::admin;

async fn call(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("api-key", API_KEY)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_the_database_gone_every_endpoint_answers_503_within_a_second() {
    let database = fresh_database().await;
    let relay = Relay::start(database.get_port()).await;
    let app = spawn_app_on(database.clone().port(relay.port()), |_| {}).await;
    let crawl = "/rfmcube/customers?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z";
    assert_eq!(call(&app, Method::GET, crawl).await.status().as_u16(), 200);

    relay.down();
    for (method, path) in [
        (Method::GET, crawl),
        (Method::GET, "/admin/events"),
        (Method::GET, "/waymore/status"),
        (Method::GET, "/admin/destinations"),
        (Method::GET, "/readyz"),
    ] {
        let asked = Instant::now();
        let answer = call(&app, method.clone(), path).await;
        let took = asked.elapsed();
        assert_error(answer, 503, "INTERNAL").await;
        assert!(
            took < Duration::from_millis(1500),
            "{method} {path}: {took:?}"
        );
    }
    let asked = Instant::now();
    let webhook = app
        .client
        .post(app.url("/one/webhooks"))
        .basic_auth(ONE_CREDENTIALS.0, Some(ONE_CREDENTIALS.1))
        .json(&json!({"event": "Cart opened", "customerId": "C-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status().as_u16(), 503, "ONe retries: nothing taken");
    assert!(webhook.headers().contains_key("retry-after"));
    assert!(asked.elapsed() < Duration::from_millis(1500));
    assert_eq!(
        call(&app, Method::GET, "/healthz").await.status().as_u16(),
        200
    );

    relay.up(database.get_port()).await;
    eventually(Duration::from_secs(10), "served again", || async {
        call(&app, Method::GET, crawl).await.status().as_u16() == 200
    })
    .await;
    assert_eq!(
        call(&app, Method::GET, "/readyz").await.status().as_u16(),
        200
    );
}

/// The delivery of the one event, as a JSON row.
async fn the_delivery(conn: &mut PgConnection) -> Option<Value> {
    sqlx::query_scalar("SELECT to_jsonb(d) FROM deliveries d")
        .fetch_optional(conn)
        .await
        .unwrap()
}

/// PostgreSQL crashed after a delivery's outcome was committed but before that commit
/// reached the disk (outcomes commit asynchronously), while its claim had: the restarted
/// server shows the delivery leased again. The worker writes the outcomes of the seconds
/// before the restart again, so the entity does not wait for the lease to expire (10.8 s
/// here) and the partner does not get the event twice.
#[tokio::test]
async fn an_outcome_a_database_crash_lost_is_written_again_after_the_restart() {
    let dir = tempfile::Builder::new()
        .prefix("shopbridge-pg-crash-")
        .tempdir()
        .unwrap();
    let options = EmbeddedOptions {
        dir: dir.path().to_owned(),
        bin_dir: None,
        ephemeral: true,
    };
    let cluster = EmbeddedPostgres::start(options.clone()).await.unwrap();
    cluster.ensure_database("shop").await.unwrap();
    let mut direct = cluster.connect_options("shop").connect().await.unwrap();
    shopbridge::db::migrate(&mut direct, &shopbridge::shop::Mapping::Reference)
        .await
        .unwrap();
    let relay = Relay::start(cluster.port()).await;
    let app = spawn_app_on(cluster.connect_options("shop").port(relay.port()), |_| {}).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .mount(&receiver)
        .await;
    exec(
        &app.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'P1', 'p', 10, 1)",
    )
    .await;
    let added = admin(
        &app,
        Method::POST,
        "/admin/destinations",
        Some(
            json!({"name": "crm", "url": format!("{}/hook", receiver.uri()),
                     "events": ["product.stock_changed"]}),
        ),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    exec(&app.pool, "UPDATE products SET stock_quantity = 2").await;

    let claimed = loop {
        match the_delivery(&mut direct).await {
            Some(row) if !row["lease_token"].is_null() => break row,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    while the_delivery(&mut direct).await.unwrap()["state"] != "delivered" {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What the disk holds when the outcome's commit was lost: the claim, not the outcome.
    sqlx::query(
        "UPDATE deliveries d
         SET state = c.state, attempts = c.attempts, lease_token = c.lease_token,
             leased_until = c.leased_until, last_status = c.last_status,
             last_error = c.last_error, finished_at = c.finished_at
         FROM jsonb_populate_record(NULL::deliveries, $1) c WHERE d.id = c.id;
         ",
    )
    .bind(&claimed)
    .execute(&mut direct)
    .await
    .unwrap();
    sqlx::query("DELETE FROM delivery_attempts")
        .execute(&mut direct)
        .await
        .unwrap();
    direct.close().await.unwrap();
    relay.down();
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
    let cluster = EmbeddedPostgres::start(options).await.unwrap();
    let restarted = Instant::now();
    let mut direct = cluster.connect_options("shop").connect().await.unwrap();
    assert_eq!(
        the_delivery(&mut direct).await.unwrap()["lease_token"],
        claimed["lease_token"],
        "the restarted server shows the claim"
    );
    relay.up(cluster.port()).await;

    eventually(Duration::from_secs(5), "the outcome written again", || {
        let options = cluster.connect_options("shop");
        async move {
            let mut conn = options.connect().await.unwrap();
            the_delivery(&mut conn).await.unwrap()["state"] == "delivered"
        }
    })
    .await;
    assert!(
        restarted.elapsed() < Duration::from_secs(5),
        "before the lease expired"
    );
    assert_eq!(
        receiver.received_requests().await.unwrap().len(),
        1,
        "the event went out once"
    );
    direct.close().await.unwrap();
    cluster.stop();
}

/// Work stopped at any point while opening a transaction (a runner aborted, a client gone)
/// leaves its connection outside any transaction: the next statement on it runs alone
/// (sqlx before 0.9.1 could hand such a connection back to the pool still in a transaction,
/// and a job's lease then stayed locked by it for good).
#[tokio::test]
async fn work_stopped_while_opening_a_transaction_leaves_its_connection_outside_it() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(fresh_database().await)
        .await
        .unwrap();
    for round in 0..400 {
        let polls = 1 + round % 40;
        let mut begin = Box::pin(pool.begin());
        for _ in 0..polls {
            if futures_util::poll!(begin.as_mut()).is_ready() {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(begin);
        // Two statements in no transaction get two transaction ids.
        let first: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
            .fetch_one(&pool)
            .await
            .unwrap();
        let second: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_ne!(
            first, second,
            "stopped after {polls} polls: left in a transaction"
        );
    }
}
