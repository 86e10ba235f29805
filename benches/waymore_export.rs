//! Waymore mass-export benchmark: `cargo bench --bench waymore_export`.
//!
//! Exports the benchmark shop (200k customers, 1M orders; seeded once and shared with
//! `cargo bench --bench rfmcube`, under `BENCH_PG_DIR` or `DATABASE_URL`) to a local sink,
//! with the real exporter and its default concurrency (`WAYMORE_EXPORT_CONCURRENCY`):
//! 1. a sink that answers at once, batch size 1000 (`BENCH_BATCH_SIZE`): the whole export,
//!    objects per second per entity and the process's resident memory through it;
//! 2. a sink that answers after 100 ms (`BENCH_PARTNER_MS`), the default batch size 100:
//!    objects per second over the first 20 s (customers);
//! 3. a shop of 5,000 customers and 20,000 orders (`BENCH_SMALL_CUSTOMERS`,
//!    `BENCH_SMALL_ORDERS`) in a database of its own, exported whole `BENCH_RUNS` (5) times
//!    to the same sink at the default batch size: from the start to `completed`, each run's
//!    objects per second and their median, beside the floor (every part taking the partner's
//!    round trip, `WAYMORE_EXPORT_CONCURRENCY` at once, nothing between them).
//!
//! `BENCH_ONLY=whole` runs the third alone, without seeding the benchmark shop.

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/memory.rs"]
mod memory;
#[path = "common/sink.rs"]
mod sink;
#[path = "common/small_shop.rs"]
mod small_shop;
#[path = "common/waymore.rs"]
mod waymore;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shopbridge::configuration::Settings;
use shopbridge::jobs::{JobWorker, RunOutcome, Runner};
use shopbridge::waymore::client::WaymoreClient;
use shopbridge::waymore::export::{self, ExportState, MassExport};

/// A fresh connection and a new export of everything, with its runner.
async fn new_export(
    pool: &sqlx::PgPool,
    settings: &Settings,
    batch_size: u32,
) -> anyhow::Result<(i64, Arc<Runner<MassExport>>)> {
    sqlx::query("DELETE FROM jobs").execute(pool).await?;
    waymore::connect(pool, settings).await?;
    let client = WaymoreClient::new(settings.waymore.clone());
    let definition = MassExport::new(pool.clone(), client);
    let started = export::start(pool, &definition, batch_size).await?;
    let vault = shopbridge::startup::open_vault(settings, pool).await?;
    let exporter = Runner::new(pool.clone(), definition, settings.waymore.export(), vault);
    Ok((started.export_id, exporter))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let only_whole = std::env::var("BENCH_ONLY").is_ok_and(|only| only == "whole");
    let (mut settings, db) = match only_whole {
        true => common::bench_database().await?,
        false => common::bench_shop().await?,
    };
    let bytes = Arc::new(AtomicU64::new(0));
    let delay_ms = Arc::new(AtomicU64::new(0));
    let sink = {
        let bytes = bytes.clone();
        sink::start_sink(delay_ms.clone(), move |body| {
            bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        })
        .await?
    };
    settings.waymore.data_url = format!("{sink}/api/data").parse()?;
    if !only_whole {
        whole_shop_and_first_seconds(&mut settings, &db, &bytes, &delay_ms).await?;
    }
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 100);
    delay_ms.store(partner_ms, Ordering::Relaxed);
    small_shop_whole(&mut settings, &db, partner_ms).await?;
    db.close().await;
    Ok(())
}

/// 3. The small shop exported whole, `BENCH_RUNS` times, to a partner `partner_ms` away.
async fn small_shop_whole(
    settings: &mut Settings,
    db: &shopbridge::db::Database,
    partner_ms: u64,
) -> anyhow::Result<()> {
    let size = shopbridge::demo::DemoSize {
        customers: knobs::env_number("BENCH_SMALL_CUSTOMERS", 5_000) as u32,
        orders: knobs::env_number("BENCH_SMALL_ORDERS", 20_000) as u32,
    };
    let runs = knobs::env_number("BENCH_RUNS", 5);
    let pool = small_shop::small_shop(db, size).await?;
    let batch_size = Settings::from_lookup(|_| None)?.waymore.batch_size;
    settings.waymore.batch_size = batch_size;
    let concurrency = settings.waymore.export_concurrency;
    println!(
        "\n{} customers and {} orders, whole, batch size {batch_size}, {concurrency} parts at once, partner answering in {partner_ms} ms",
        size.customers, size.orders
    );
    println!("\n| run | objects | requests | seconds | objects/s |");
    println!("| --- | --- | --- | --- | --- |");
    let parts = |objects: i64| (objects + i64::from(batch_size) - 1) / i64::from(batch_size);
    let (mut rates, mut floor) = (Vec::new(), 0.0);
    for run in 1..=runs {
        let (_, exporter) = new_export(&pool, settings, batch_size).await?;
        let begun = Instant::now();
        let outcome = exporter.run_once().await?;
        let seconds = begun.elapsed().as_secs_f64();
        assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
        let status = export::latest(&pool).await?.expect("the export exists");
        let objects: i64 = status.entities.iter().map(|e| e.sent).sum();
        let requests: i64 = status.entities.iter().map(|e| parts(e.sent)).sum();
        floor =
            objects as f64 / (requests as f64 / concurrency as f64 * partner_ms as f64 / 1000.0);
        let rate = objects as f64 / seconds;
        rates.push(rate);
        println!("| {run} | {objects} | {requests} | {seconds:.2} | {rate:.0} |");
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "\nmedian {median:.0} objects/s; the floor {floor:.0} objects/s ({:.0} % of it)",
        100.0 * median / floor
    );
    pool.close().await;
    Ok(())
}

/// 1 and 2: the benchmark shop exported whole to a sink answering at once, then the first
/// seconds of an export to a partner `BENCH_PARTNER_MS` away.
async fn whole_shop_and_first_seconds(
    settings: &mut Settings,
    db: &shopbridge::db::Database,
    bytes: &AtomicU64,
    delay_ms: &AtomicU64,
) -> anyhow::Result<()> {
    let batch_size = knobs::env_number("BENCH_BATCH_SIZE", 1000) as u32;
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 100);
    let pool = db.pool.clone();
    settings.waymore.batch_size = batch_size;
    println!(
        "parts in flight at once: {}",
        settings.waymore.export_concurrency
    );
    let (export_id, exporter) = new_export(&pool, settings, batch_size).await?;

    let rss_before = memory::rss_mib();
    let begun = Instant::now();
    let run = tokio::spawn(async move { exporter.run_once().await });

    // Watch progress: when each entity starts and finishes, and memory along the way.
    let mut first_seen: Vec<Option<Duration>> = vec![None; 5];
    let mut done_at: Vec<Option<Duration>> = vec![None; 5];
    let mut rss_samples: Vec<(f64, f64)> = Vec::new();
    let total_all: i64;
    loop {
        let status = export::latest(&pool).await?.expect("the export exists");
        let elapsed = begun.elapsed();
        let (sent, total): (i64, i64) = status
            .entities
            .iter()
            .fold((0, 0), |(s, t), e| (s + e.sent, t + e.total));
        rss_samples.push((sent as f64 / total.max(1) as f64, memory::rss_mib()));
        for (i, entity) in status.entities.iter().enumerate() {
            if first_seen[i].is_none() && (entity.sent > 0 || entity.done) {
                first_seen[i] = Some(elapsed);
            }
            if done_at[i].is_none() && entity.done {
                done_at[i] = Some(elapsed);
            }
        }
        if !matches!(status.state, ExportState::Pending | ExportState::Running) {
            assert_eq!(
                status.state,
                ExportState::Completed,
                "{:?}",
                status.last_error
            );
            total_all = total;
            println!(
                "\nexport #{} of {total} objects, batch size {batch_size}, in {:.1} s",
                export_id,
                elapsed.as_secs_f64()
            );
            println!("\n| entity | objects | seconds | objects/s |");
            println!("| --- | --- | --- | --- |");
            // An entity runs from the previous one's end to its own end.
            let mut previous_end = Duration::ZERO;
            for (i, entity) in status.entities.iter().enumerate() {
                let end = done_at[i].unwrap_or(elapsed);
                let seconds = (end - previous_end).as_secs_f64();
                println!(
                    "| {} | {} | {:.2} | {:.0} |",
                    entity.entity,
                    entity.sent,
                    seconds,
                    entity.sent as f64 / seconds
                );
                previous_end = end;
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(run.await?, Ok(RunOutcome::Completed(_))));

    let peak = rss_samples.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    let at = |fraction: f64| {
        rss_samples
            .iter()
            .find(|(f, _)| *f >= fraction)
            .map_or(0.0, |(_, r)| *r)
    };
    println!(
        "\nresident memory (MiB): before {:.0}; at 10% {:.0}, 50% {:.0}, 90% {:.0} of the objects; peak {:.0}",
        rss_before, at(0.1), at(0.5), at(0.9), peak
    );
    println!(
        "sink received {:.0} MiB of JSON for {total_all} objects",
        bytes.load(Ordering::Relaxed) as f64 / 1024.0 / 1024.0
    );

    // 2. A partner 100 ms away, the default batch size: the first 20 s.
    let default_batch = Settings::from_lookup(|_| None)?.waymore.batch_size;
    delay_ms.store(partner_ms, Ordering::Relaxed);
    let (_, exporter) = new_export(&pool, settings, default_batch).await?;
    let run = tokio::spawn({
        let exporter = exporter.clone();
        async move { exporter.run_once().await }
    });
    let window = Duration::from_secs(20);
    tokio::time::sleep(window).await;
    let sent: i64 = export::latest(&pool)
        .await?
        .expect("the export exists")
        .entities
        .iter()
        .map(|e| e.sent)
        .sum();
    exporter.stop();
    run.await??;
    println!(
        "\npartner answering in {partner_ms} ms, batch size {default_batch}: {sent} objects acknowledged in {} s = {:.0} objects/s",
        window.as_secs(),
        sent as f64 / window.as_secs_f64()
    );
    Ok(())
}
