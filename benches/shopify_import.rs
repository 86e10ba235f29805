//! Shopify order history import benchmark: `cargo bench --bench shopify_import`.
//!
//! The import of `BENCH_ORDERS` (50,000) orders (3 line items each, every 50th 25) from the
//! tests' stand-in store over HTTPS, answering after `BENCH_PARTNER_MS` (100) and charging
//! each query's cost to a bucket of `BENCH_BUCKET` (10,000) points refilled at
//! `BENCH_RESTORE` (2,000) a second: Shopify's Plus bucket at its Enterprise restore rate,
//! so that 50,000 orders take minutes, not hours; the orders a second at any other restore
//! rate follow in proportion, since the budget is what binds. Into the benchmark shop's
//! database (`BENCH_PG_DIR` or `DATABASE_URL`), its Shopify orders removed before.
//!
//! It prints orders a second, the share of the throttle budget used (points charged over
//! the points the bucket held at the start plus what it restored during the run), and the
//! THROTTLED answers drawn (none expected).

mod common;
#[path = "common/knobs.rs"]
mod knobs;
// Shared with the API tests; the benchmark uses part of it.
#[allow(dead_code)]
#[path = "../tests/api/shopify/standin.rs"]
mod standin;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use shopbridge::configuration::Settings;
use shopbridge::jobs::pull::PullRunner;
use shopbridge::jobs::RunOutcome;
use shopbridge::outbound::address::{Allowlist, Guard, SystemLookup};
use shopbridge::outbound::{load_roots, Client};
use shopbridge::shopify::admin::connect::Switches;
use shopbridge::shopify::admin::import::{Catalog, OrderHistory, Reader};
use shopbridge::shopify::admin::tracking::TrackingKind;
use shopbridge::shopify::admin::{Admin, Store};

fn client() -> anyhow::Result<Client> {
    let guard = Guard::new(
        Allowlist::parse("127.0.0.1, localhost").map_err(anyhow::Error::msg)?,
        Arc::new(SystemLookup),
    );
    let roots = load_roots(&standin::ca_file()).map_err(anyhow::Error::msg)?;
    Ok(Client::guarded_trusting(
        Duration::from_secs(30),
        guard,
        &roots,
    ))
}

/// Forgets earlier runs: the store, its destination and jobs, the orders and buyers it
/// brought, their events, its budget.
async fn reset(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "DELETE FROM destinations WHERE name = 'shopify';
         DELETE FROM jobs WHERE kind LIKE 'shopify.%';
         DELETE FROM shopify_store;
         DELETE FROM cost_buckets WHERE key LIKE 'shopify:%';
         DELETE FROM orders WHERE shopify_id IS NOT NULL;
         DELETE FROM customers WHERE shopify_id BETWEEN 1000000 AND 1000499;
         DELETE FROM events;",
    )
    .execute(pool)
    .await?;
    sqlx::query("VACUUM ANALYZE orders, order_items, customers, events")
        .execute(pool)
        .await?;
    Ok(())
}

async fn admin(settings: &Settings, pool: &PgPool) -> anyhow::Result<Admin> {
    let vault = shopbridge::startup::open_vault(settings, pool).await?;
    let reader = Reader::new(pool.clone(), client()?);
    let job = settings.shopify.import();
    Ok(Admin {
        pool: pool.clone(),
        http: client()?,
        vault: vault.clone(),
        tracking: Arc::new(TrackingKind::new(
            pool.clone(),
            client()?,
            Duration::from_secs(30),
        )),
        orders: PullRunner::new(
            pool.clone(),
            OrderHistory::new(reader.clone()),
            job.clone(),
            vault.clone(),
        ),
        products: PullRunner::new(pool.clone(), Catalog::new(reader), job, vault),
        public_url: Some("https://bridge.example.com".parse()?),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let orders = knobs::env_number("BENCH_ORDERS", 50_000) as i64;
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 100);
    let bucket = knobs::env_number("BENCH_BUCKET", 10_000) as f64;
    let restore = knobs::env_number("BENCH_RESTORE", 2_000) as f64;

    let store = standin::StandIn::start(bucket, restore).await;
    store.add_orders(1, orders, 3, (50, 25));
    store.state().latency = Duration::from_millis(partner_ms);
    reset(&pool).await?;
    let admin = admin(&settings, &pool).await?;
    let switches = Switches {
        import_orders: true,
        ..Switches::default()
    };
    let connection = Store {
        store_url: store.url.clone(),
        access_token: standin::TOKEN.into(),
        push_tracking: false,
    };
    admin.connect(connection, &switches, None).await?;
    // What connecting spent comes out of the run's figures.
    let (spent_before, requests_before) = {
        let state = store.state();
        (state.spent, state.requests)
    };
    let available_at_start = store.state().bucket.available;

    println!(
        "\nImporting {orders} orders from the stand-in store (answers after {partner_ms} ms; \
         bucket {bucket} points, restored at {restore} a second)…"
    );
    let started = Instant::now();
    let outcome = admin.orders.run_once().await?;
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        matches!(outcome, RunOutcome::Completed(_)),
        "the import ended {outcome:?}"
    );
    let imported: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE shopify_id IS NOT NULL")
            .fetch_one(&pool)
            .await?;
    let (spent, requests, throttled) = {
        let state = store.state();
        (
            state.spent - spent_before,
            state.requests - requests_before,
            state.throttled,
        )
    };
    let offered = available_at_start + restore * elapsed;
    println!(
        "\n| orders | seconds | orders/s | requests | points charged | budget used | THROTTLED |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {imported} | {elapsed:.1} | {:.1} | {} | {spent:.0} | {:.1} % | {} |",
        imported as f64 / elapsed,
        requests,
        100.0 * spent / offered,
        throttled
    );
    let per_order = spent / imported as f64;
    println!(
        "\n{per_order:.1} points an order: at Shopify's Standard restore rate (100 a second) \
         that is {:.1} orders/s, at Plus (1000) {:.1}.",
        100.0 / per_order,
        1000.0 / per_order
    );
    reset(&pool).await?;
    Ok(())
}
