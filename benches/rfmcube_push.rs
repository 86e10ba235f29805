//! Rfmcube push benchmark: `cargo bench --bench rfmcube_push`.
//!
//! The initial synchronisation of the benchmark shop (200k customers, 1M orders; seeded once
//! and shared with the other benchmarks, under `BENCH_PG_DIR` or `DATABASE_URL`) to a
//! stand-in of Rfmcube's API that answers after a partner's round trip (`BENCH_PARTNER_MS`,
//! 100) and completes each import process after `BENCH_PROCESS_MS` (4000), with the default
//! settings (1000 customers a request, 4 in flight, first look at a process after 5 s):
//! 1. the shop-side cost of one request: building a part of 1000 customers with their
//!    orders and serialising it, over 20 parts (median, slowest);
//! 2. at Rfmcube's real limit, 60 requests a minute, for `BENCH_REAL_SECONDS` (180): the
//!    share of the limit used while requests remain;
//! 3. the whole synchronisation with a test window of one second (60 requests a second,
//!    the process delay and the first look scaled the same): requests, bytes, customers and
//!    orders received, and the time it took; the time at the real limit follows from the
//!    number of requests;
//! 4. through a running service at the real limit: 5,000 orders changed at once (a backlog
//!    after an outage), and how long until every change was delivered.

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/rfmcube.rs"]
mod partner;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use shopbridge::configuration::{RfmcubePushSettings, Settings};
use shopbridge::delivery::destinations::{self, DestinationName};
use shopbridge::events::EventPattern;
use shopbridge::jobs::{self, JobState, Runner};
use shopbridge::outbound::address::{Guard, SystemLookup};
use shopbridge::outbound::Client;
use shopbridge::rfmcube::push::destination::RfmcubeKind;
use shopbridge::rfmcube::push::import::InitialSync;
use shopbridge::rfmcube::push::payloads::{self, ImportBody, Selection};
use shopbridge::rfmcube::push::{self, DESTINATION};
use shopbridge::startup::Application;

const KEY: &str = "bench-connector-key";

fn client(settings: &Settings) -> Client {
    let guard = Guard::new(settings.outbound.allowlist.clone(), Arc::new(SystemLookup));
    Client::guarded(settings.rfmcube_push.timeout, guard)
}

/// Forgets earlier runs: the destination, the jobs, what was sent, the limit's slot.
async fn clean(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "DELETE FROM destinations WHERE name = 'rfmcube';
         DELETE FROM jobs WHERE kind LIKE 'rfmcube.%';
         TRUNCATE rfmcube_push_sent;
         DELETE FROM rate_limits;",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The push destination towards `url` and a new initial synchronisation, with its runner.
async fn new_sync(
    pool: &PgPool,
    settings: &Settings,
    push_settings: RfmcubePushSettings,
    url: &str,
) -> anyhow::Result<Arc<Runner<InitialSync>>> {
    clean(pool).await?;
    let vault = shopbridge::startup::open_vault(settings, pool).await?;
    let kind = RfmcubeKind::new(pool.clone(), client(settings), push_settings.clone());
    let events: Vec<EventPattern> = push::EVENTS
        .iter()
        .map(|e| EventPattern::try_from((*e).to_owned()))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    destinations::add(
        pool,
        &vault,
        &DestinationName::parse(DESTINATION)?,
        &kind,
        &events,
        json!({"url": url, "api_key": KEY}),
    )
    .await?;
    let definition = InitialSync::new(pool.clone(), client(settings), push_settings.clone());
    let mut tx = pool.begin().await?;
    jobs::start_in(&mut tx, &definition, push_settings.batch_size)
        .await?
        .map_err(|_| anyhow::anyhow!("a sync is running"))?;
    tx.commit().await?;
    Ok(Runner::new(
        pool.clone(),
        definition,
        push_settings.import(),
        vault,
    ))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 100);
    let process_ms = knobs::env_number("BENCH_PROCESS_MS", 4000);
    let real_seconds = knobs::env_number("BENCH_REAL_SECONDS", 180);
    let defaults = settings.rfmcube_push.clone();
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&pool)
        .await?;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await?;
    println!(
        "shop: {customers} customers, {orders} orders; {} customers a request, {} in flight, \
         partner {partner_ms} ms, processes {process_ms} ms",
        defaults.batch_size, defaults.concurrency
    );

    // 1. The shop-side cost of one request.
    let mut costs = Vec::new();
    let mut sizes = Vec::new();
    for part in 0..20i64 {
        let after = part * (customers / 20);
        let started = Instant::now();
        let entries = payloads::entries(
            &pool,
            Selection::Customers {
                after,
                last: i64::MAX,
                size: i64::from(defaults.batch_size),
            },
        )
        .await?;
        let body = serde_json::to_vec(&ImportBody::of(&entries))?;
        costs.push(started.elapsed().as_secs_f64() * 1000.0);
        sizes.push(body.len() as f64 / 1e6);
    }
    println!(
        "1. one request's body (1000 customers with their orders), built and serialised: \
         median {:.0} ms, slowest {:.0} ms; median {:.2} MB",
        median(costs.clone()),
        costs.iter().copied().fold(0.0, f64::max),
        median(sizes)
    );

    // 2. At the real limit: the share of it used while requests remain.
    let (url, seen) = partner::start(partner::Partner {
        limit: defaults.rate_limit as usize,
        window: defaults.rate_window,
        latency: Duration::from_millis(partner_ms),
        process_delay: Duration::from_millis(process_ms),
    })
    .await?;
    let runner = new_sync(&pool, &settings, defaults.clone(), &url).await?;
    let run = tokio::spawn({
        let runner = runner.clone();
        async move { runner.run_once().await }
    });
    tokio::time::sleep(Duration::from_secs(real_seconds)).await;
    run.abort();
    let (taken, span, throttled) = {
        let seen = seen.lock().unwrap();
        let first = seen.arrivals[0];
        let last = *seen.arrivals.last().unwrap();
        (seen.arrivals.len(), last - first, seen.throttled)
    };
    let possible = span.as_secs_f64()
        / (defaults.rate_window.as_secs_f64() / f64::from(defaults.rate_limit))
        + 1.0;
    println!(
        "2. real limit ({} a minute), {real_seconds} s: {taken} requests in {:.1} s, {:.1} % of \
         the limit used; {throttled} answered 429",
        defaults.rate_limit,
        span.as_secs_f64(),
        100.0 * taken as f64 / possible
    );

    // 3. The whole synchronisation with a window of one second.
    let scale = 60.0;
    let window = defaults.rate_window.div_f64(scale);
    let test = RfmcubePushSettings {
        rate_window: window,
        poll: defaults.poll.div_f64(scale),
        ..defaults.clone()
    };
    let (url, seen) = partner::start(partner::Partner {
        limit: test.rate_limit as usize,
        window,
        latency: Duration::from_millis(partner_ms),
        process_delay: Duration::from_millis(process_ms).div_f64(scale),
    })
    .await?;
    let runner = new_sync(&pool, &settings, test.clone(), &url).await?;
    let started = Instant::now();
    let outcome = runner.run_once().await?;
    let took = started.elapsed();
    let state = jobs::latest(&pool, "rfmcube.import")
        .await?
        .map(|j| j.state);
    anyhow::ensure!(state == Some(JobState::Completed), "{outcome:?}: {state:?}");
    {
        let seen = seen.lock().unwrap();
        let requests = seen.arrivals.len();
        let spacing = defaults.rate_window.as_secs_f64() * 1.02 / f64::from(defaults.rate_limit);
        println!(
            "3. whole sync, window {:?}: {requests} requests ({} imports, {} looks at a process), \
             {:.0} MB, {} customers and guests, {} orders received, {} answered 429, in {:.1} s; \
             at the real limit: {:.1} min",
            window,
            seen.imports,
            seen.polls,
            seen.bytes as f64 / 1e6,
            seen.customers,
            seen.orders,
            seen.throttled,
            took.as_secs_f64(),
            requests as f64 * spacing / 60.0
        );
        anyhow::ensure!(seen.orders == orders as u64, "every order arrived once");
    }

    // 4. A backlog of 5,000 changed orders, at the real limit, through a running service.
    let (url, seen) = partner::start(partner::Partner {
        limit: defaults.rate_limit as usize,
        window: defaults.rate_window,
        latency: Duration::from_millis(partner_ms),
        process_delay: Duration::from_millis(process_ms),
    })
    .await?;
    // Configured already for this connector, so the service starts no initial sync.
    drop(new_sync(&pool, &settings, defaults.clone(), &url).await?);
    sqlx::query("DELETE FROM jobs WHERE kind = 'rfmcube.import'")
        .execute(&pool)
        .await?;
    let mut serving = settings.clone();
    serving.http.bind_addr = "127.0.0.1:0".parse()?;
    serving.rfmcube_push.api_key = Some(KEY.into());
    serving.rfmcube_push.url = url.parse()?;
    let app = Application::build(&serving, pool.clone()).await?;
    tokio::spawn(app.run_until_stopped());
    sqlx::raw_sql(
        "UPDATE destinations SET held = true, hold_reason = 'bench' WHERE name = 'rfmcube';
         UPDATE orders SET total = total + 1 WHERE id <= 5000;",
    )
    .execute(&pool)
    .await?;
    let released = Instant::now();
    destinations::release(&pool, DESTINATION).await?;
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id
             WHERE ds.name = 'rfmcube' AND d.state = 'pending'",
        )
        .fetch_one(&pool)
        .await?;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = released.elapsed();
    {
        let seen = seen.lock().unwrap();
        println!(
            "4. 5,000 orders changed at once, real limit: delivered in {:.1} s, {} requests \
             ({} imports, {} looks at a process, {} merges), {} answered 429",
            drained.as_secs_f64(),
            seen.arrivals.len(),
            seen.imports,
            seen.polls,
            seen.arrivals.len() as u64 - seen.imports - seen.polls,
            seen.throttled
        );
    }
    sqlx::query("UPDATE orders SET total = total - 1 WHERE id <= 5000")
        .execute(&pool)
        .await?;
    clean(&pool).await?;
    Ok(())
}
