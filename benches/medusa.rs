//! shopbridge over a Medusa 2.x store: `cargo bench --bench medusa`.
//!
//! Builds (once, then reuses) a Medusa store of `BENCH_ORDERS` orders (default 1M, one to
//! three versions each, three line items) with `BENCH_ORDERS / 5` customers, in the tables
//! of the test fixture (Medusa 2.0.0's migrations), in a private cluster under
//! `BENCH_PG_DIR` (default `<tmp>/shopbridge-bench-medusa-pg`), installs the `medusa-v2`
//! mapping and the indexes `mapping check` asks for. Then, in one run:
//! - Rfmcube pull pages over loopback HTTP beside PostgreSQL's own execution time for the
//!   same statements (pg_stat_statements), first and deep pages;
//! - a cursor crawl of one day, orders per second;
//! - what capture costs an order write: the mean time of `BENCH_WRITES` order writes as
//!   Medusa makes them (address, order, 3 line items, 3 items, summary, one transaction)
//!   with capture recording `order.created` for a destination, over the same writes with no
//!   trigger firing (`session_replication_role = replica`), alternating; the same for the
//!   reference schema's order with 3 items, in a database of its own in the same cluster.

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/knobs.rs"]
mod knobs;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

use shopbridge::configuration::RfmcubeSettings;
use shopbridge::db;
use shopbridge::secrets::SecretSet;
use shopbridge::shop::{check, Mapping};
use shopbridge::startup::Application;

use knobs::env_number;

const KEY: &str = "bench-key";
const RUNS: usize = 21;
const SCHEMA: &str = include_str!("../tests/api/mapping/medusa_v2.sql");
const YEAR: (&str, &str) = ("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
const DAY: (&str, &str) = ("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z");

/// The store, set-based: orders spread over 2025, version `1 + n % 3`, three line items,
/// each version's items and summary as Medusa writes them.
fn seed_sql(orders: u64) -> String {
    let customers = (orders / 5).max(1);
    format!(
        "INSERT INTO customer (id, first_name, last_name, email, phone, has_account,
                               created_at, updated_at)
         SELECT 'cus_' || lpad(g::text, 10, '0'), 'Name' || g, 'Surname' || g,
                'customer' || g || '@example.com', '+39 02 ' || g, true,
                timestamptz '2024-06-01' + g * interval '1 minute',
                timestamptz '2025-01-01' + g * (interval '365 days' / {customers})
         FROM generate_series(1, {customers}) g;
         INSERT INTO customer_address (id, customer_id, is_default_shipping, address_1, city,
                                       country_code, postal_code)
         SELECT 'cuaddr_' || g, 'cus_' || lpad(g::text, 10, '0'), true, 'Via ' || g, 'Torino',
                'it', '10100'
         FROM generate_series(1, {customers}) g;
         INSERT INTO order_address (id, customer_id, first_name, last_name, address_1, city,
                                    country_code, postal_code)
         SELECT 'caaddr_' || g, 'cus_' || lpad((1 + g % {customers})::text, 10, '0'), 'Maria',
                'Rossi', 'Via Roma 1', 'Milano', 'it', '20121'
         FROM generate_series(1, {orders}) g;
         INSERT INTO \"order\" (id, region_id, customer_id, version, sales_channel_id, status,
                              email, currency_code, shipping_address_id, billing_address_id,
                              created_at, updated_at)
         SELECT 'order_' || lpad(g::text, 10, '0'), 'reg_01EU',
                'cus_' || lpad((1 + g % {customers})::text, 10, '0'), 1 + g % 3, 'sc_01',
                'pending', 'customer' || (1 + g % {customers}) || '@example.com', 'eur',
                'caaddr_' || g, 'caaddr_' || g, t, t + (g % 3) * interval '1 hour'
         FROM generate_series(1, {orders}) g,
              LATERAL (SELECT timestamptz '2025-01-01' + g * (interval '365 days' / {orders})) AS x(t);
         INSERT INTO order_line_item (id, title, variant_id, product_id, product_title,
                                      variant_sku, requires_shipping, is_discountable,
                                      is_tax_inclusive, unit_price, raw_unit_price)
         SELECT 'ordli_' || g || '_' || i, 'Item ' || i, 'variant_' || i, 'prod_' || i,
                'Item ' || i, 'SKU-' || i, true, true, false, 10 * i,
                jsonb_build_object('value', (10 * i)::text, 'precision', 20)
         FROM generate_series(1, {orders}) g, generate_series(1, 3) i;
         INSERT INTO order_item (id, order_id, version, item_id, quantity, raw_quantity,
             fulfilled_quantity, raw_fulfilled_quantity, delivered_quantity,
             raw_delivered_quantity, shipped_quantity, raw_shipped_quantity,
             return_requested_quantity, raw_return_requested_quantity, return_received_quantity,
             raw_return_received_quantity, return_dismissed_quantity,
             raw_return_dismissed_quantity, written_off_quantity, raw_written_off_quantity)
         SELECT 'orditem_' || g || '_' || i || '_' || v, 'order_' || lpad(g::text, 10, '0'), v,
                'ordli_' || g || '_' || i, v, '{{}}', 0, '{{}}', 0, '{{}}', 0, '{{}}', 0, '{{}}', 0,
                '{{}}', 0, '{{}}', 0, '{{}}'
         FROM generate_series(1, {orders}) g, generate_series(1, 3) i,
              generate_series(1, 1 + g % 3) v;
         INSERT INTO order_summary (id, order_id, version, totals)
         SELECT 'ordsum_' || g || '_' || v, 'order_' || lpad(g::text, 10, '0'), v,
                jsonb_build_object('current_order_total', 60 * v, 'paid_total', 0,
                                   'refunded_total', 0)
         FROM generate_series(1, {orders}) g, generate_series(1, 1 + g % 3) v;"
    )
}

/// One order written as Medusa's create-order workflow writes it.
fn medusa_order(n: u64) -> String {
    let id = format!("order_w{n:09}");
    let mut sql = format!(
        "INSERT INTO order_address (id, first_name, city, country_code)
         VALUES ('waddr_{n}', 'Maria', 'Milano', 'it');
         INSERT INTO \"order\" (id, customer_id, status, email, currency_code,
                              shipping_address_id, billing_address_id)
         VALUES ('{id}', 'cus_0000000001', 'pending', 'w{n}@example.com', 'eur', 'waddr_{n}',
                 'waddr_{n}');
         INSERT INTO order_summary (id, order_id, version, totals)
         VALUES ('wsum_{n}', '{id}', 1, '{{\"current_order_total\": 60}}');"
    );
    for i in 1..=3 {
        sql.push_str(&format!(
            "INSERT INTO order_line_item (id, title, variant_sku, requires_shipping,
                                          is_discountable, is_tax_inclusive, unit_price,
                                          raw_unit_price)
             VALUES ('wli_{n}_{i}', 'Item', 'SKU-{i}', true, true, false, 10, '{{}}');
             INSERT INTO order_item (id, order_id, version, item_id, quantity, raw_quantity,
                 fulfilled_quantity, raw_fulfilled_quantity, delivered_quantity,
                 raw_delivered_quantity, shipped_quantity, raw_shipped_quantity,
                 return_requested_quantity, raw_return_requested_quantity,
                 return_received_quantity, raw_return_received_quantity,
                 return_dismissed_quantity, raw_return_dismissed_quantity,
                 written_off_quantity, raw_written_off_quantity)
             VALUES ('wi_{n}_{i}', '{id}', 1, 'wli_{n}_{i}', 1, '{{}}', 0, '{{}}', 0, '{{}}', 0,
                     '{{}}', 0, '{{}}', 0, '{{}}', 0, '{{}}', 0, '{{}}');"
        ));
    }
    sql
}

/// One order with 3 items on the reference schema.
fn reference_order(n: u64) -> String {
    let id = 10_000_000 + n;
    let mut sql = format!(
        "INSERT INTO orders (id, reference, customer_email, status, currency, total)
         VALUES ({id}, 'W{id}', 'w{n}@example.com', 'pending', 'EUR', 60);"
    );
    for i in 1..=3 {
        sql.push_str(&format!(
            "INSERT INTO order_items (id, order_id, sku, name, quantity, price)
             VALUES ({id} * 10 + {i}, {id}, 'SKU-{i}', 'Item', 1, 20);"
        ));
    }
    sql
}

/// Mean milliseconds per write of `writes` orders made by `order` (one transaction each),
/// with triggers firing and without, alternating in rounds of 50.
async fn write_cost(
    options: &PgConnectOptions,
    writes: u64,
    first: u64,
    order: fn(u64) -> String,
) -> anyhow::Result<(f64, f64)> {
    let mut conn =
        PgConnection::connect_with(&options.clone().options([("search_path", "public")])).await?;
    let (mut with, mut without) = (Duration::ZERO, Duration::ZERO);
    let mut n = first;
    for round in 0..writes / 50 {
        for capture in [round % 2 == 0, round % 2 != 0] {
            let role = if capture { "origin" } else { "replica" };
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET session_replication_role = {role}"
            )))
            .execute(&mut conn)
            .await?;
            let started = Instant::now();
            for _ in 0..25 {
                n += 1;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {} COMMIT;", order(n))))
                    .execute(&mut conn)
                    .await?;
            }
            match capture {
                true => with += started.elapsed(),
                false => without += started.elapsed(),
            }
        }
    }
    let per = |total: Duration| total.as_secs_f64() * 1000.0 / (writes / 2) as f64;
    Ok((per(with), per(without)))
}

async fn post(client: &reqwest::Client, base: &str, path: &str, body: &Value) -> Value {
    let response = client
        .post(format!("{base}{path}"))
        .header("api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success());
    response.json().await.expect("JSON")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders = env_number("BENCH_ORDERS", 1_000_000);
    let writes = env_number("BENCH_WRITES", 2_000);
    let (mut settings, database) = cluster::bench_connection("shopbridge-bench-medusa-pg").await?;
    let pool = database.pool.clone();
    let seeded: bool = sqlx::query_scalar("SELECT to_regclass('public.order') IS NOT NULL")
        .fetch_one(&pool)
        .await?;
    if !seeded {
        println!("building a Medusa store of {orders} orders (once; reused by later runs)…");
        let started = Instant::now();
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(seed_sql(orders)))
            .execute(&pool)
            .await?;
        println!("built in {:.1} s", started.elapsed().as_secs_f64());
    }
    settings.mapping = Mapping::MedusaV2;
    database.migrate(&settings.mapping).await?;
    let report = check::check(&mut *pool.acquire().await?, &settings.mapping).await?;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for statement in &report.create_indexes {
        println!("{statement}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.replace(" CONCURRENTLY", "")))
            .execute(&pool)
            .await?;
    }
    for statement in [
        "VACUUM ANALYZE",
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
    ] {
        sqlx::query(statement).execute(&pool).await?;
    }

    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    settings.rfmcube = RfmcubeSettings {
        api_keys: SecretSet::parse(KEY),
    };
    let app = Application::build(&settings, pool.clone()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    println!("\nMedusa store: {orders} orders; {RUNS} requests per row, times in ms\n");
    println!("| page size | page | median | DB mean | endpoint mean / DB mean |");
    println!("| --- | --- | --- | --- | --- |");
    for page_size in [100u64, 1000] {
        // The cursor of the 100th page, as a crawl holding it sends it.
        let mut deep = json!({"from": YEAR.0, "to": YEAR.1, "pageSize": page_size});
        for _ in 1..100 {
            let body = post(&client, &base, "/rfmcube/orders", &deep).await;
            deep["cursor"] = body["nextCursor"].clone();
        }
        let first = json!({"from": YEAR.0, "to": YEAR.1, "pageSize": page_size});
        for (page, body) in [("1", first), ("100", deep)] {
            for _ in 0..2 {
                post(&client, &base, "/rfmcube/orders", &body).await;
            }
            sqlx::query("SELECT pg_stat_statements_reset()")
                .execute(&pool)
                .await?;
            let mut samples = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                post(&client, &base, "/rfmcube/orders", &body).await;
                samples.push(started.elapsed());
            }
            let db_mean: f64 = sqlx::query_scalar(
                "SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements
                 WHERE query LIKE '%WITH base AS%'",
            )
            .fetch_one(&pool)
            .await?;
            let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1000.0 / RUNS as f64;
            samples.sort();
            println!(
                "| {page_size} | {page} | {:.1} | {db_mean:.1} | {:.2} |",
                samples[RUNS / 2].as_secs_f64() * 1000.0,
                mean / db_mean
            );
        }
    }

    println!(
        "\ncursor crawl of one day, updatedAt in [{}, {}), median of 3:\n",
        DAY.0, DAY.1
    );
    println!("| page size | orders | orders/s |");
    println!("| --- | --- | --- |");
    for page_size in [100, 1000] {
        let mut rates = Vec::new();
        let mut rows = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let mut request = json!({"from": DAY.0, "to": DAY.1, "pageSize": page_size});
            rows = 0;
            loop {
                let body = post(&client, &base, "/rfmcube/orders", &request).await;
                rows += body["orders"].as_array().unwrap().len();
                match body["nextCursor"].as_str() {
                    Some(cursor) => request["cursor"] = json!(cursor),
                    None => break,
                }
            }
            rates.push(rows as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!("| {page_size} | {rows} | {:.0} |", rates[1]);
    }

    // A destination taking order events, so capture records them (and their deliveries).
    sqlx::raw_sql(
        "INSERT INTO destinations (name, kind, events, config)
         VALUES ('bench-writes', 'webhook', '{order.*}', '{\"url\": \"http://127.0.0.1:9/\"}')
         ON CONFLICT (name) DO NOTHING",
    )
    .execute(&pool)
    .await?;
    let options = (*pool.connect_options()).clone();
    let first: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.\"order\" WHERE id LIKE 'order_w%'")
            .fetch_one(&pool)
            .await?;
    let medusa = write_cost(&options, writes, first as u64, medusa_order).await?;

    let reference = reference_database(&pool).await?;
    let reference_pool = PgPool::connect_with(reference.clone()).await?;
    sqlx::raw_sql(
        "INSERT INTO destinations (name, kind, events, config)
         VALUES ('bench-writes', 'webhook', '{order.*}', '{\"url\": \"http://127.0.0.1:9/\"}')
         ON CONFLICT (name) DO NOTHING",
    )
    .execute(&reference_pool)
    .await?;
    let first: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&reference_pool)
        .await?;
    let reference_cost = write_cost(&reference, writes, first as u64, reference_order).await?;

    println!(
        "\norder writes, mean ms per write over {} each way, alternating:\n",
        writes / 2
    );
    println!("| schema | with capture | no trigger | ratio |");
    println!("| --- | --- | --- | --- |");
    for (schema, (with, without)) in [("medusa-v2", medusa), ("reference", reference_cost)] {
        println!(
            "| {schema} | {with:.2} | {without:.2} | {:.2} |",
            with / without
        );
    }
    database.close().await;
    Ok(())
}

/// A database beside the store with the reference schema migrated.
async fn reference_database(pool: &PgPool) -> anyhow::Result<PgConnectOptions> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'bench_reference_writes')",
    )
    .fetch_one(pool)
    .await?;
    if !exists {
        sqlx::query("CREATE DATABASE bench_reference_writes")
            .execute(pool)
            .await?;
    }
    let options = db::with_search_path(
        (*pool.connect_options())
            .clone()
            .database("bench_reference_writes"),
    );
    let mut conn = PgConnection::connect_with(&options).await?;
    db::migrate(&mut conn, &Mapping::Reference).await?;
    Ok(options)
}
