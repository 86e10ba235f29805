//! Waymore real-time events benchmark: `cargo bench --bench waymore_events`.
//!
//! On the benchmark shop (seeded once, shared with the other benchmarks):
//! 1. the cost the event triggers add to a shop write (an order with 3 items, one
//!    transaction), triggers on versus off;
//! 2. commit → delivered latency at a steady 500 events/s, against a local sink;
//! 3. the highest steady rate the dispatcher keeps up with, with nothing lost.
//!
//! Latency runs from just before the writing statement is sent (so it includes the commit)
//! to the sink receiving the event.

mod common;
#[path = "common/sink.rs"]
mod sink;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use shopbridge::startup::Application;

/// When the sink received each event, by its search string.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Median time of one transaction inserting an order with 3 items.
async fn order_write(pool: &PgPool, runs: usize, tag: &str) -> anyhow::Result<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        let order: i64 = sqlx::query_scalar(
            "INSERT INTO orders (reference, customer_id, customer_email, status, total)
             VALUES ($1, 1, 'bench@example.com', 'pending', 30) RETURNING id",
        )
        .bind(format!("BENCH-{tag}-{i}"))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO order_items (order_id, product_id, sku, name, quantity, price)
             SELECT $1, p, 'SKU', 'Thing', 1, 10 FROM generate_series(1, 3) p",
        )
        .bind(order)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples[runs / 2])
}

struct RateResult {
    committed: usize,
    commit_rate: f64,
    delivered: usize,
    latencies: Vec<Duration>,
}

/// How one steady run commits its events.
struct Load {
    rate: u32,
    seconds: u32,
    producers: u32,
    /// Events per transaction.
    per_commit: u32,
}

/// Commits Search events at the load's rate from its producer connections, `per_commit` per
/// transaction, then waits up to 5 s for the rest to arrive.
async fn steady(pool: &PgPool, arrivals: &Arrivals, load: &Load, run: &str) -> RateResult {
    let Load {
        rate,
        seconds,
        producers,
        per_commit,
    } = *load;
    let commits = rate * seconds / per_commit;
    let interval = Duration::from_secs_f64(f64::from(producers * per_commit) / f64::from(rate));
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for producer in 0..producers {
        let pool = pool.clone();
        let run = run.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut next =
                Instant::now() + interval.mul_f64(f64::from(producer) / f64::from(producers));
            for commit in (producer..commits).step_by(producers as usize) {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let queries: Vec<String> = (0..per_commit)
                    .map(|i| format!("{run}-{commit}-{i}"))
                    .collect();
                let at = Instant::now();
                sqlx::query("INSERT INTO search_queries (query) SELECT unnest($1::text[])")
                    .bind(&queries)
                    .execute(&pool)
                    .await
                    .expect("insert");
                sent.extend(queries.into_iter().map(|q| (q, at)));
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.extend(task.await.expect("producer"));
    }
    let commit_rate = sent.len() as f64 / begun.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let arrived = {
            let arrivals = arrivals.lock().unwrap();
            sent.iter()
                .filter(|(q, _)| arrivals.contains_key(q))
                .count()
        };
        if arrived == sent.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals = arrivals.lock().unwrap();
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(q, at)| {
            arrivals
                .get(q)
                .map(|got| got.saturating_duration_since(*at))
        })
        .collect();
    latencies.sort();
    RateResult {
        committed: sent.len(),
        commit_rate,
        delivered: latencies.len(),
        latencies,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    sqlx::query("DELETE FROM waymore_outbox")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM waymore_exports")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&pool)
        .await?;

    // 1. What the triggers add to a shop write. No dispatcher runs meanwhile.
    let runs = 1000;
    sqlx::query("ALTER TABLE orders DISABLE TRIGGER waymore_order_add")
        .execute(&pool)
        .await?;
    order_write(&pool, 100, "warm").await?;
    let off = order_write(&pool, runs, "off").await?;
    sqlx::query("ALTER TABLE orders ENABLE TRIGGER waymore_order_add")
        .execute(&pool)
        .await?;
    let not_connected = order_write(&pool, runs, "idle").await?;
    sqlx::query("INSERT INTO waymore_connection (uuid, username, cart_url) VALUES ('bench-uuid', 'bench', 'https://shop.test/cart')")
        .execute(&pool)
        .await?;
    let on = order_write(&pool, runs, "on").await?;
    sqlx::query("DELETE FROM orders WHERE reference LIKE 'BENCH-%'")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM waymore_outbox")
        .execute(&pool)
        .await?;
    println!("\norder + 3 items in one transaction, median of {runs}:\n");
    println!("| event triggers | ms per transaction | ratio to off |");
    println!("| --- | --- | --- |");
    for (label, median) in [
        ("off (disabled)", off),
        ("on, shop not connected", not_connected),
        ("on, connected (OrderAdd queued)", on),
    ] {
        println!(
            "| {label} | {} | {:.2} |",
            ms(median),
            median.as_secs_f64() / off.as_secs_f64()
        );
    }

    // 2 and 3: delivery to a local sink.
    let arrivals: Arrivals = Arc::default();
    let sink = {
        let arrivals = arrivals.clone();
        sink::start_sink(move |body| {
            let now = Instant::now();
            let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if let Some(query) = event["data"]["search_string"].as_str() {
                arrivals.lock().unwrap().insert(query.to_owned(), now);
            }
        })
        .await?
    };
    settings.waymore.events_url = format!("{sink}/api/event").parse()?;
    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    let app = Application::build(&settings, pool.clone())?;
    tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!("\nSearch events committed at a steady rate:\n");
    println!("| target/s | per commit | committed/s | events | delivered | lost | median ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut sustained = 0;
    let loads = [
        Load {
            rate: 500,
            seconds: 10,
            producers: 2,
            per_commit: 1,
        },
        Load {
            rate: 1000,
            seconds: 5,
            producers: 4,
            per_commit: 1,
        },
        Load {
            rate: 2000,
            seconds: 5,
            producers: 8,
            per_commit: 1,
        },
        Load {
            rate: 2000,
            seconds: 5,
            producers: 2,
            per_commit: 10,
        },
        Load {
            rate: 4000,
            seconds: 5,
            producers: 4,
            per_commit: 10,
        },
        Load {
            rate: 6000,
            seconds: 5,
            producers: 6,
            per_commit: 10,
        },
        Load {
            rate: 8000,
            seconds: 5,
            producers: 8,
            per_commit: 10,
        },
    ];
    for load in &loads {
        let rate = load.rate;
        let result = steady(
            &pool,
            &arrivals,
            load,
            &format!("r{rate}x{}", load.per_commit),
        )
        .await;
        let lost = result.committed - result.delivered;
        let p99 = percentile(&result.latencies, 0.99);
        println!(
            "| {rate} | {} | {:.0} | {} | {} | {lost} | {} | {} | {} |",
            load.per_commit,
            result.commit_rate,
            result.committed,
            result.delivered,
            ms(percentile(&result.latencies, 0.5)),
            ms(p99),
            ms(result.latencies.last().copied().unwrap_or_default()),
        );
        // Kept up: everything delivered, the commit rate reached, latency bounded.
        if lost == 0 && result.commit_rate >= f64::from(rate) * 0.95 && p99 < Duration::from_secs(1)
        {
            sustained = sustained.max(rate);
        }
    }
    println!("\nhighest steady rate delivered in full with p99 under 1 s: {sustained} events/s");
    sqlx::query("DELETE FROM search_queries WHERE query ~ '^r[0-9]+x[0-9]+-'")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&pool)
        .await?;
    db.close().await;
    Ok(())
}
