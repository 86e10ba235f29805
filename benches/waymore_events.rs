//! Event log → Waymore delivery benchmark: `cargo bench --bench waymore_events`.
//!
//! On the benchmark shop (seeded once, shared with the other benchmarks):
//! 1. the cost the event triggers add to a shop write (an order with 3 items, one
//!    transaction): triggers off, on with no destination taking order.created, on with
//!    Waymore connected;
//! 2. steady loads of stock changes on 1,000 products against a local sink answering at
//!    once and after 50 ms (`BENCH_PARTNER_MS`): commit → delivered latency, everything
//!    delivered, and each product's events arriving in commit order;
//! 3. a backlog of 100k events drained at 0 ms: how fast, and the process's peak memory.
//!
//! Latency runs from just before the writing statement is sent (so it includes the write
//! and its commit) to the sink receiving the event; the write's own share, sent to
//! committed, is reported beside it. Each load starts after a second of the same load left
//! out of the figures, as a running service is warm. Delivery runs with the default settings
//! (`DELIVERY_CONCURRENCY`).

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/memory.rs"]
mod memory;
#[path = "common/sink.rs"]
mod sink;
#[path = "common/waymore.rs"]
mod waymore;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use shopbridge::startup::Application;

/// What the sink received: when each (product, stock) event arrived, and each product's
/// stock values in arrival order.
#[derive(Default)]
struct Received {
    at: HashMap<(i64, i64), Instant>,
    sequence: HashMap<i64, Vec<i64>>,
}

type Arrivals = Arc<Mutex<Received>>;

const PRODUCTS: i64 = 1000;

/// A statement's text, calls, plans, planning ms and executing ms.
type StatementTime = (String, i64, i64, f64, f64);

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
    /// Each write's own time, sent to committed.
    writes: Vec<Duration>,
}

/// How one steady run commits its events.
struct Load {
    rate: u32,
    seconds: u32,
    producers: u32,
    /// Events per transaction.
    per_commit: u32,
}

/// Commits stock changes at the load's rate, `per_commit` products per transaction (each
/// product owned by one producer, its stock counting up), then waits up to 10 s for the
/// rest to arrive.
async fn steady(pool: &PgPool, arrivals: &Arrivals, load: &Load, stock: &mut i64) -> RateResult {
    let Load {
        rate,
        seconds,
        producers,
        per_commit,
    } = *load;
    let commits = rate * seconds / per_commit;
    let interval = Duration::from_secs_f64(f64::from(producers * per_commit) / f64::from(rate));
    let base = *stock;
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for producer in 0..producers {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mine: Vec<i64> = (1..=PRODUCTS)
                .filter(|p| p % i64::from(producers) == i64::from(producer))
                .collect();
            let mut next_product = 0;
            let mut sent = Vec::new();
            let mut writes = Vec::new();
            let mut next =
                Instant::now() + interval.mul_f64(f64::from(producer) / f64::from(producers));
            for commit in (producer..commits).step_by(producers as usize) {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let mut ids = Vec::new();
                let mut values = Vec::new();
                for _ in 0..per_commit {
                    ids.push(mine[next_product % mine.len()]);
                    values.push(base + i64::from(commit) + 1);
                    next_product += 1;
                }
                let at = Instant::now();
                sqlx::query(
                    "UPDATE products SET stock_quantity = v.stock
                     FROM unnest($1::bigint[], $2::int[]) v(id, stock) WHERE products.id = v.id",
                )
                .bind(&ids)
                .bind(values.iter().map(|v| *v as i32).collect::<Vec<_>>())
                .execute(&pool)
                .await
                .expect("update");
                writes.push(at.elapsed());
                sent.extend(ids.into_iter().zip(values).map(|key| (key, at)));
            }
            (sent, writes)
        }));
    }
    let (mut sent, mut writes) = (Vec::new(), Vec::new());
    for task in tasks {
        let (mine, my_writes) = task.await.expect("producer");
        sent.extend(mine);
        writes.extend(my_writes);
    }
    writes.sort();
    *stock = base + i64::from(commits) + 1;
    let commit_rate = sent.len() as f64 / begun.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let arrived = {
            let arrivals = arrivals.lock().unwrap();
            sent.iter()
                .filter(|(key, _)| arrivals.at.contains_key(key))
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
        .filter_map(|(key, at)| {
            arrivals
                .at
                .get(key)
                .map(|got| got.saturating_duration_since(*at))
        })
        .collect();
    latencies.sort();
    RateResult {
        committed: sent.len(),
        commit_rate,
        delivered: latencies.len(),
        latencies,
        writes,
    }
}

/// Products whose stock values did not arrive in increasing (commit) order.
fn out_of_order(arrivals: &Arrivals) -> usize {
    arrivals
        .lock()
        .unwrap()
        .sequence
        .values()
        .filter(|values| values.windows(2).any(|w| w[0] >= w[1]))
        .count()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 50);
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&pool)
        .await;
    let _ = sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&pool)
        .await;
    sqlx::query("DELETE FROM jobs").execute(&pool).await?;
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&pool)
        .await?;
    sqlx::query("UPDATE products SET stock_quantity = 1 WHERE id <= $1")
        .bind(PRODUCTS)
        .execute(&pool)
        .await?;
    // Earlier runs leave hundreds of thousands of dead event rows and bloated products: each
    // run starts from the same clean state instead of wherever autovacuum got to.
    sqlx::query(
        "VACUUM ANALYZE events, deliveries, delivery_attempts, products, orders, order_items",
    )
    .execute(&pool)
    .await?;

    // 1. What the triggers add to a shop write. No worker runs meanwhile.
    let runs = 1000;
    sqlx::query("ALTER TABLE orders DISABLE TRIGGER order_created")
        .execute(&pool)
        .await?;
    order_write(&pool, 100, "warm").await?;
    let off = order_write(&pool, runs, "off").await?;
    sqlx::query("ALTER TABLE orders ENABLE TRIGGER order_created")
        .execute(&pool)
        .await?;
    let not_wanted = order_write(&pool, runs, "idle").await?;
    waymore::connect(&pool, &settings).await?;
    let on = order_write(&pool, runs, "on").await?;
    sqlx::query("DELETE FROM orders WHERE reference LIKE 'BENCH-%'")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    println!("\norder + 3 items in one transaction, median of {runs}:\n");
    println!("| event triggers | ms per transaction | ratio to off |");
    println!("| --- | --- | --- |");
    for (label, median) in [
        ("off (disabled)", off),
        ("on, no destination takes order.created", not_wanted),
        ("on, Waymore connected (order.created recorded)", on),
    ] {
        println!(
            "| {label} | {} | {:.2} |",
            ms(median),
            median.as_secs_f64() / off.as_secs_f64()
        );
    }

    // 2. Steady loads, delivered to a local sink.
    let arrivals: Arrivals = Arc::default();
    let delay_ms = Arc::new(AtomicU64::new(0));
    let sink = {
        let arrivals = arrivals.clone();
        sink::start_sink(delay_ms.clone(), move |body| {
            let now = Instant::now();
            let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let data = &event["data"];
            let product = data["product_id"].as_str().and_then(|p| p.parse().ok());
            if let (Some(product), Some(stock)) = (product, data["stock_quantity"].as_i64()) {
                let mut arrivals = arrivals.lock().unwrap();
                arrivals.at.insert((product, stock), now);
                arrivals.sequence.entry(product).or_default().push(stock);
            }
        })
        .await?
    };
    settings.waymore.events_url = format!("{sink}/api/event").parse()?;
    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    println!(
        "\ndeliveries in flight at once per destination: {}",
        settings.delivery.concurrency
    );
    let app = Application::build(&settings, pool.clone()).await?;
    tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!("\nStock changes committed at a steady rate (1,000 products):\n");
    println!("| partner ms | target/s | per commit | committed/s | events | delivered | lost | products out of order | median ms | p99 ms | max ms | write p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let load = |rate, producers, per_commit| Load {
        rate,
        seconds: 10,
        producers,
        per_commit,
    };
    let runs = [
        (0, load(500, 2, 1)),
        (0, load(2000, 2, 10)),
        (0, load(4000, 4, 10)),
        (0, load(6000, 6, 10)),
        (partner_ms, load(400, 2, 1)),
        (partner_ms, load(1000, 4, 1)),
        (partner_ms, load(1000, 2, 10)),
        (partner_ms, load(2000, 2, 10)),
    ];
    let mut stock = 1;
    let mut sustained: HashMap<u64, u32> = HashMap::new();
    for (partner, load) in &runs {
        // Each run starts with nothing pending, so one run's backlog does not weigh on the next.
        let drained = Instant::now();
        while sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending')",
        )
        .fetch_one(&pool)
        .await?
        {
            anyhow::ensure!(
                drained.elapsed() < Duration::from_secs(120),
                "the previous run's backlog did not drain"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        delay_ms.store(*partner, Ordering::Relaxed);
        let warm_up = Load {
            seconds: 1,
            ..*load
        };
        steady(&pool, &arrivals, &warm_up, &mut stock).await;
        arrivals.lock().unwrap().sequence.clear();
        let result = steady(&pool, &arrivals, load, &mut stock).await;
        let lost = result.committed - result.delivered;
        let p99 = percentile(&result.latencies, 0.99);
        let disorder = out_of_order(&arrivals);
        println!(
            "| {partner} | {} | {} | {:.0} | {} | {} | {lost} | {disorder} | {} | {} | {} | {} |",
            load.rate,
            load.per_commit,
            result.commit_rate,
            result.committed,
            result.delivered,
            ms(percentile(&result.latencies, 0.5)),
            ms(p99),
            ms(result.latencies.last().copied().unwrap_or_default()),
            ms(percentile(&result.writes, 0.99)),
        );
        // Kept up: everything delivered in order, the commit rate reached, latency bounded.
        if lost == 0
            && disorder == 0
            && result.commit_rate >= f64::from(load.rate) * 0.95
            && p99 < Duration::from_secs(1)
        {
            let best = sustained.entry(*partner).or_default();
            *best = (*best).max(load.rate);
        }
    }
    for (partner, rate) in &sustained {
        println!("partner at {partner} ms: highest steady rate delivered in full, in order, p99 under 1 s: {rate} events/s");
    }

    // 3. A backlog of 100k events: recorded while Waymore is held, then released.
    delay_ms.store(0, Ordering::Relaxed);
    sqlx::query("UPDATE destinations SET held = true WHERE name = 'waymore'")
        .execute(&pool)
        .await?;
    arrivals.lock().unwrap().sequence.clear();
    let backlog = 100_000;
    for round in 0..(backlog / PRODUCTS) {
        sqlx::query("UPDATE products SET stock_quantity = $2 WHERE id <= $1")
            .bind(PRODUCTS)
            .bind((stock + round + 1) as i32)
            .execute(&pool)
            .await?;
    }
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
            .fetch_one(&pool)
            .await?;
    let rss_before = memory::rss_mib();
    let begun = Instant::now();
    sqlx::query("UPDATE destinations SET held = false WHERE name = 'waymore'")
        .execute(&pool)
        .await?;
    sqlx::query("NOTIFY shop_events").execute(&pool).await?;
    let mut peak = rss_before;
    // Watched at the sink: counting the deliveries left would take CPU from the drain.
    loop {
        peak = peak.max(memory::rss_mib());
        let arrived: usize = arrivals
            .lock()
            .unwrap()
            .sequence
            .values()
            .map(Vec::len)
            .sum();
        if arrived as i64 >= pending || begun.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = begun.elapsed().as_secs_f64();
    println!(
        "\nbacklog of {pending} events drained in {elapsed:.1} s ({:.0} events/s) at 0 ms; products out of order: {}; resident memory (MiB, benchmark process with its sink): before {rss_before:.0}, peak {peak:.0}",
        pending as f64 / elapsed,
        out_of_order(&arrivals)
    );

    // Where PostgreSQL spent its time over the whole run, when it tracks statements.
    // Planning counts only with `pg_stat_statements.track_planning`; a statement planned at
    // every call shows as many plans as calls.
    let top: Result<Vec<StatementTime>, _> = sqlx::query_as(
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 110), calls::bigint, plans::bigint,
                total_plan_time, total_exec_time
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY total_plan_time + total_exec_time DESC LIMIT 12",
    )
    .fetch_all(&pool)
    .await;
    if let Ok(top) = top {
        println!("\n| statement | calls | plans | planning ms | executing ms |\n| --- | --- | --- | --- | --- |");
        for (query, calls, plans, planning, executing) in top {
            println!("| `{query}` | {calls} | {plans} | {planning:.0} | {executing:.0} |");
        }
    }
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    db.close().await;
    Ok(())
}
