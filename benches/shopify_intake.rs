//! Shopify webhook intake benchmark: `cargo bench --bench shopify_intake`.
//!
//! On the benchmark shop (1M orders, seeded once, shared with the other benchmarks):
//!
//! 1. **Applying.** `BENCH_ORDERS` (10,000) `orders/create` webhooks, the seed's order with
//!    its 2 line items (ids, reference and buyer varied; buyers repeat, so half are upserts of
//!    existing customers), stored in the inbox, then the real application started and timed
//!    until every one is applied. Run twice: with no destination taking shop events, and with
//!    a webhook destination taking `order.*` and `customer.*` that answers after 50 ms
//!    (`BENCH_PARTNER_MS`), so the event log and its delivery run alongside, as in a shop
//!    connected to Waymore.
//! 2. **Intake.** The same order posted signed over loopback HTTP at `BENCH_RATE` (200)
//!    webhooks/s, open loop (each sent at its scheduled time, so a slow answer shows as
//!    latency), for `BENCH_SECONDS` (30), while the applier and the destination work
//!    alongside. Reported: answer latency median/p95/p99/max, and how long applying took to
//!    catch up after the last answer.
//!
//! Load generator, application, partner stand-in and PostgreSQL share the machine.

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/sink.rs"]
mod sink;
#[path = "common/webhook.rs"]
mod webhook;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use sqlx::PgPool;

use shopbridge::configuration::Settings;
use shopbridge::outbound::signature::hmac_sha256;
use shopbridge::secrets::SigningSecrets;
use shopbridge::startup::Application;

const SECRET: &str = "bench-shopify-secret";
const DESTINATION: &str = "bench-shopify";
/// Shopify ids of the benchmark's orders start here (clear of the seed's).
const FIRST_ID: i64 = 7_000_000_000_000_000_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The seed's order as the `n`th of the run: its own ids and reference, one of 5,000 buyers.
fn order(seed: &Value, n: i64) -> String {
    let mut order = seed.clone();
    let id = FIRST_ID + n;
    order["id"] = json!(id);
    order["name"] = json!(format!("#SB{n}"));
    order["order_number"] = json!(n);
    order["financial_status"] = json!("paid");
    order["cancelled_at"] = Value::Null;
    for (i, line) in order["line_items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        line["id"] = json!(FIRST_ID + 2 * n + i as i64 + 1_000_000_000);
    }
    let buyer = n % 5_000;
    order["customer"]["id"] = json!(FIRST_ID + buyer);
    order["customer"]["email"] = json!(format!("buyer{buyer}@bench-shopify.test"));
    order.to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let orders = knobs::env_number("BENCH_ORDERS", 10_000) as i64;
    let rate = knobs::env_number("BENCH_RATE", 200);
    let seconds = knobs::env_number("BENCH_SECONDS", 30);
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 50);
    let seed: Value = serde_json::from_str(include_str!("../tests/fixtures/shopify/order.json"))?;
    settings.shopify.secrets = SigningSecrets::parse(SECRET);
    settings.http.bind_addr = "127.0.0.1:0".parse()?;

    let delivered = Arc::new(AtomicU64::new(0));
    let sink = {
        let delivered = delivered.clone();
        sink::start_sink(Arc::new(AtomicU64::new(partner_ms)), move |_| {
            delivered.fetch_add(1, Ordering::Relaxed);
        })
        .await?
    };

    reset(&pool).await?;
    let port = start(&settings, &pool).await?;
    println!(
        "\nApplying {orders} stored orders/create webhooks (2 line items each), {} workers:\n",
        settings.shopify.apply_concurrency
    );
    println!("| shop events | applied | seconds | orders/s | events delivered |");
    println!("| --- | --- | --- | --- | --- |");
    for with_destination in [false, true] {
        reset(&pool).await?;
        if with_destination {
            add_destination(&settings, &pool, &sink).await?;
        }
        store(&pool, &seed, 0, orders).await?;
        let before = delivered.load(Ordering::Relaxed);
        let begun = Instant::now();
        sqlx::query("SELECT pg_notify('shopify_webhooks', '')")
            .execute(&pool)
            .await?;
        wait_applied(&pool, orders).await?;
        let elapsed = begun.elapsed();
        println!(
            "| {} | {orders} | {:.1} | {:.0} | {} |",
            if with_destination {
                format!("order.* + customer.* to a {partner_ms} ms webhook")
            } else {
                "none wanted".into()
            },
            elapsed.as_secs_f64(),
            orders as f64 / elapsed.as_secs_f64(),
            delivered.load(Ordering::Relaxed) - before,
        );
    }

    reset(&pool).await?;
    add_destination(&settings, &pool, &sink).await?;
    let url = format!("http://127.0.0.1:{port}/shopify/webhooks/orders");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    // Warm connections and statement caches.
    for n in 0..200 {
        send(&client, &url, order(&seed, n)).await;
    }
    wait_applied(&pool, 200).await?;
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let begun = Instant::now();
    let mut requests = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = begun + interval.mul_f64(i as f64);
        tokio::time::sleep_until(at.into()).await;
        let (client, url, body) = (client.clone(), url.clone(), order(&seed, 200 + i as i64));
        requests.push(tokio::spawn(async move {
            send(&client, &url, body).await;
            at.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(requests.len());
    for request in requests {
        latencies.push(request.await?);
    }
    let sent_rate = total as f64 / begun.elapsed().as_secs_f64();
    let answered = Instant::now();
    let pending_at_end = pending(&pool).await?;
    wait_applied(&pool, 200 + total as i64).await?;
    latencies.sort();
    println!(
        "\nThe seed's order posted signed, open loop, {seconds} s at {rate}/s, applied alongside \
         (webhook destination at {partner_ms} ms):\n"
    );
    println!("| sent/s | median ms | p95 ms | p99 ms | max ms | pending at last answer | caught up after |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {sent_rate:.0} | {} | {} | {} | {} | {pending_at_end} | {:.1} s |",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
        answered.elapsed().as_secs_f64(),
    );
    reset(&pool).await?;
    Ok(())
}

/// Removes what earlier runs left: the inbox, the orders and buyers it created, the
/// destination and its events.
async fn reset(pool: &PgPool) -> anyhow::Result<()> {
    webhook::remove(pool, DESTINATION).await?;
    sqlx::raw_sql(
        "TRUNCATE shopify_webhooks;
         DELETE FROM orders WHERE shopify_id IS NOT NULL;
         DELETE FROM customers WHERE email LIKE '%@bench-shopify.test';
         DELETE FROM events;",
    )
    .execute(pool)
    .await?;
    sqlx::query("VACUUM ANALYZE shopify_webhooks, orders, order_items, customers, events")
        .execute(pool)
        .await?;
    Ok(())
}

async fn add_destination(settings: &Settings, pool: &PgPool, sink: &str) -> anyhow::Result<()> {
    let url = format!("{sink}/hook");
    webhook::replace(
        settings,
        pool,
        DESTINATION,
        &url,
        &["order.*", "customer.*"],
    )
    .await
}

/// Stores orders `from..to` in the inbox as intake would.
async fn store(pool: &PgPool, seed: &Value, from: i64, to: i64) -> anyhow::Result<()> {
    let bodies: Vec<String> = (from..to).map(|n| order(seed, n)).collect();
    let ids: Vec<String> = (from..to).map(|n| format!("bench-{n}")).collect();
    sqlx::query(
        "INSERT INTO shopify_webhooks (webhook_id, topic, shop_domain, body)
         SELECT id, 'orders/create', 'bench.myshopify.com', body
         FROM unnest($1::text[], $2::text[]) AS w(id, body)",
    )
    .bind(&ids)
    .bind(&bodies)
    .execute(pool)
    .await?;
    Ok(())
}

/// The application on a free port, running until the benchmark ends; its port.
async fn start(settings: &Settings, pool: &PgPool) -> anyhow::Result<u16> {
    let app = Application::build(settings, pool.clone()).await?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    Ok(port)
}

async fn pending(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM shopify_webhooks WHERE state <> 'applied'")
            .fetch_one(pool)
            .await?,
    )
}

async fn wait_applied(pool: &PgPool, n: i64) -> anyhow::Result<()> {
    loop {
        let (applied, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'applied'), count(*) FILTER (WHERE state = 'failed')
             FROM shopify_webhooks",
        )
        .fetch_one(pool)
        .await?;
        anyhow::ensure!(failed == 0, "{failed} webhooks failed");
        if applied >= n {
            return Ok(());
        }
        // The count reads the whole inbox: polled often, it would take CPU from applying.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(client: &reqwest::Client, url: &str, body: String) {
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(SECRET.as_bytes(), body.as_bytes()));
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("X-Shopify-Topic", "orders/create")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", uuid::Uuid::new_v4().to_string())
        .header("X-Shopify-Shop-Domain", "bench.myshopify.com")
        .body(body)
        .send()
        .await
        .expect("the intake answers");
    assert_eq!(response.status().as_u16(), 200, "stored");
}
