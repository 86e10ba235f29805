//! Rfmcube endpoint benchmark: `cargo bench --bench rfmcube`.
//!
//! Seeds (once, then reuses) a shop of 200k customers and 1M orders in a private cluster
//! under `BENCH_PG_DIR` (default: `<tmp>/shopbridge-bench-pg`), or uses `DATABASE_URL`. It
//! then times the real endpoints over loopback HTTP, and reads PostgreSQL's own execution
//! time for the same requests from pg_stat_statements. Everything is measured in one run,
//! so the ratios are comparable.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;

use shopbridge::configuration::RfmcubeSettings;
use shopbridge::rfmcube::cursor::{Cursor, CursorKey};
use shopbridge::rfmcube::window::{DateField, Entity, Window};
use shopbridge::secrets::SecretSet;
use shopbridge::startup::Application;

const KEY: &str = "bench-key";
const RUNS: usize = 21;
/// Every seeded order's updatedAt falls in this window.
const YEAR: (&str, &str) = ("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
const DAY: (&str, &str) = ("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z");

struct Bench {
    client: reqwest::Client,
    base: String,
    pool: PgPool,
}

struct Timing {
    median: Duration,
    p95: Duration,
    mean: Duration,
    db_mean: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

impl Bench {
    async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("api-key", KEY)
            .json(body)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
        response.json().await.expect("JSON body")
    }

    /// Times `RUNS` identical requests after two warm-ups; PostgreSQL's mean execution time
    /// of the page statement over the same requests comes from pg_stat_statements.
    async fn time(&self, path: &str, body: &Value) -> Timing {
        for _ in 0..2 {
            self.post(path, body).await;
        }
        sqlx::query("SELECT pg_stat_statements_reset()")
            .execute(&self.pool)
            .await
            .unwrap();
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            self.post(path, body).await;
            samples.push(started.elapsed());
        }
        let db_mean_ms: f64 = sqlx::query_scalar(
            "SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements
             WHERE query LIKE '%WITH base AS%'",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        samples.sort();
        Timing {
            median: samples[RUNS / 2],
            p95: samples[(RUNS * 95).div_ceil(100) - 1],
            mean: samples.iter().sum::<Duration>() / RUNS as u32,
            db_mean: Duration::from_secs_f64(db_mean_ms / 1000.0),
        }
    }

    /// A cursor positioned after the `position`-th order of the window (0-based), as a
    /// crawl would hold it on reaching that page.
    async fn cursor_at(&self, window: Window, position: i64, page: u32) -> String {
        let (ts, id): (DateTime<Utc>, i64) = sqlx::query_as(
            "SELECT updated_at, id FROM orders WHERE updated_at >= $1 AND updated_at < $2
             ORDER BY updated_at, id OFFSET $3 LIMIT 1",
        )
        .bind(window.from)
        .bind(window.to)
        .bind(position)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let key = CursorKey::load_or_create(&self.pool).await.unwrap();
        key.encode(&Cursor {
            entity: Entity::Orders,
            window,
            upper: window.to,
            after: (ts, id.to_string()),
            page,
        })
    }

    /// Rows per second for a whole cursor crawl of `window`; the median of three crawls.
    async fn crawl_rate(
        &self,
        path: &str,
        rows_key: &str,
        window: (&str, &str),
        page_size: u32,
    ) -> (usize, f64) {
        let mut rates = Vec::new();
        let mut rows = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let mut request = json!({"from": window.0, "to": window.1, "pageSize": page_size});
            rows = 0;
            loop {
                let body = self.post(path, &request).await;
                rows += body[rows_key].as_array().unwrap().len();
                match body["nextCursor"].as_str() {
                    Some(cursor) => request["cursor"] = json!(cursor),
                    None => break,
                }
            }
            rates.push(rows as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        (rows, rates[1])
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    settings.rfmcube = RfmcubeSettings {
        api_keys: SecretSet::parse(KEY),
    };
    let pool = db.pool.clone();
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&pool)
        .await?;
    let (customers, orders): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")
            .fetch_one(&pool)
            .await?;

    let app = Application::build(&settings, pool.clone()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let bench = Bench {
        client: reqwest::Client::new(),
        base,
        pool: pool.clone(),
    };

    println!(
        "\nshop: {customers} customers, {orders} orders; {RUNS} requests per row, times in ms"
    );
    println!(
        "window: updatedAt in [{}, {}) = every order\n",
        YEAR.0, YEAR.1
    );
    println!("| page size | page | paging | median | p95 | mean | DB mean | endpoint/DB |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let window = Window {
        from: YEAR.0.parse()?,
        to: YEAR.1.parse()?,
        field: DateField::UpdatedAt,
    };
    let mut first_pages = Vec::new();
    for page_size in [100u32, 1000] {
        let deep_page = 1000u32;
        let deep_position = i64::from(deep_page - 1) * i64::from(page_size) - 1;
        let cursor = bench.cursor_at(window, deep_position, deep_page).await;
        let year = json!({"from": YEAR.0, "to": YEAR.1, "pageSize": page_size});
        let cases = [
            (
                "1",
                "offset",
                json!({"from": YEAR.0, "to": YEAR.1, "pageSize": page_size, "page": 1}),
            ),
            (
                "1000",
                "offset",
                json!({"from": YEAR.0, "to": YEAR.1, "pageSize": page_size, "page": deep_page}),
            ),
            ("1", "cursor", year.clone()),
            (
                "1000",
                "cursor",
                json!({"pageSize": page_size, "cursor": cursor}),
            ),
        ];
        let mut first = None;
        for (page, paging, body) in cases {
            let t = bench.time("/rfmcube/orders", &body).await;
            let ratio = t.mean.as_secs_f64() / t.db_mean.as_secs_f64();
            println!(
                "| {page_size} | {page} | {paging} | {} | {} | {} | {} | {ratio:.2} |",
                ms(t.median),
                ms(t.p95),
                ms(t.mean),
                ms(t.db_mean)
            );
            if paging == "cursor" {
                match first {
                    None => first = Some(t.median),
                    Some(f) => {
                        first_pages.push((page_size, t.median.as_secs_f64() / f.as_secs_f64()))
                    }
                }
            }
        }
    }
    println!();
    for (page_size, ratio) in first_pages {
        println!("cursor page 1000 / page 1 at pageSize {page_size}: {ratio:.2} (medians)");
    }

    println!(
        "\nfull cursor crawl of one day, updatedAt in [{}, {}), median of 3:\n",
        DAY.0, DAY.1
    );
    println!("| endpoint | page size | rows | rows/s |");
    println!("| --- | --- | --- | --- |");
    for (path, key) in [
        ("/rfmcube/orders", "orders"),
        ("/rfmcube/customers", "customers"),
    ] {
        for page_size in [100, 1000] {
            let (rows, rate) = bench.crawl_rate(path, key, DAY, page_size).await;
            println!("| {path} | {page_size} | {rows} | {rate:.0} |");
        }
    }
    db.close().await;
    Ok(())
}
