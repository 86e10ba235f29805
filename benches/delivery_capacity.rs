//! Delivery to a partner that is full, not down: `cargo bench --bench delivery_capacity`.
//!
//! A webhook partner on loopback answers each request after `BENCH_PARTNER_MS` (50) and
//! takes at most `BENCH_CAPACITY` (30) at once: 600 events/s by default. Beyond that it
//! sheds work in one of three ways, each run in turn (`BENCH_SHEDDING` picks one):
//! - `backlog`: it accepts a connection only when it has room, with no keep-alive and a
//!   listen backlog of 8, so further connections wait in the kernel, or are dropped and
//!   tried again by the client's TCP a second later (the partner of the issue);
//! - `refuse`: it closes the connection at once, with no keep-alive;
//! - `shed`: it answers 503 at once, over keep-alive connections.
//!
//! Stock changes on 1,000 products are committed at `BENCH_RATE` (1,000/s) for
//! `BENCH_SECONDS` (20), more than the partner takes, so a backlog builds; then it drains.
//! Reported: what the partner accepted per second while the load was offered (after a
//! two-second warm-up) and while the backlog drained, as a share of its capacity; requests
//! it turned away; events accepted twice; products whose events arrived out of order; and
//! the most requests the partner saw at once.

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/webhook.rs"]
mod webhook;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use shopbridge::startup::Application;

const PRODUCTS: i64 = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Shedding {
    Backlog,
    Refuse,
    Shed,
}

/// The listen backlog of the `backlog` partner.
const BACKLOG: u32 = 8;

/// What the partner saw.
#[derive(Default)]
struct Partner {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    turned_away: AtomicUsize,
    /// When each event id was accepted, and how often.
    accepted: Mutex<Vec<(Instant, i64)>>,
    /// Each product's stock values in the order accepted.
    sequence: Mutex<HashMap<i64, Vec<i64>>>,
}

/// One request of a connection: its head and body.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            return Some((head, body));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn serve(mut stream: TcpStream, partner: Arc<Partner>, config: (Shedding, usize, Duration)) {
    let (shedding, capacity, latency) = config;
    let mut buffer = Vec::new();
    while let Some((_, body)) = read_request(&mut stream, &mut buffer).await {
        let now = partner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        if now > capacity {
            partner.in_flight.fetch_sub(1, Ordering::SeqCst);
            partner.turned_away.fetch_add(1, Ordering::Relaxed);
            match shedding {
                Shedding::Refuse | Shedding::Backlog => return,
                Shedding::Shed => {
                    let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        partner.most_in_flight.fetch_max(now, Ordering::Relaxed);
        tokio::time::sleep(latency).await;
        let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if let (Some(id), Some(product), Some(stock)) = (
            event["id"].as_i64(),
            event["payload"]["product_id"].as_i64(),
            event["payload"]["stock_quantity"].as_i64(),
        ) {
            partner.accepted.lock().unwrap().push((Instant::now(), id));
            partner
                .sequence
                .lock()
                .unwrap()
                .entry(product)
                .or_default()
                .push(stock);
        }
        partner.in_flight.fetch_sub(1, Ordering::SeqCst);
        let answer: &[u8] = match shedding {
            Shedding::Shed => b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            _ => b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        };
        if stream.write_all(answer).await.is_err() || shedding != Shedding::Shed {
            return;
        }
    }
}

async fn start_partner(
    partner: Arc<Partner>,
    config: (Shedding, usize, Duration),
) -> anyhow::Result<String> {
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let port = socket.local_addr()?.port();
    let listener = socket.listen(match config.0 {
        Shedding::Backlog => BACKLOG,
        _ => 1024,
    })?;
    // The backlog partner takes a connection only when it has room for its request.
    let room = Arc::new(Semaphore::new(config.1));
    tokio::spawn(async move {
        loop {
            let permit = match config.0 {
                Shedding::Backlog => Some(room.clone().acquire_owned().await.expect("open")),
                _ => None,
            };
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let partner = partner.clone();
            tokio::spawn(async move {
                serve(stream, partner, config).await;
                drop(permit);
            });
        }
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Commits stock changes at `rate` per second for `seconds`, ten products per commit, each
/// product's stock counting up.
async fn offer(pool: &PgPool, rate: u64, seconds: u64) -> anyhow::Result<()> {
    let per_commit = 10;
    let interval = Duration::from_secs_f64(per_commit as f64 / rate as f64);
    let commits = rate * seconds / per_commit;
    let mut next = Instant::now();
    let mut product = 0;
    for commit in 0..commits {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        let ids: Vec<i64> = (0..per_commit as i64)
            .map(|i| (product + i) % PRODUCTS + 1)
            .collect();
        product = (product + per_commit as i64) % PRODUCTS;
        sqlx::query("UPDATE products SET stock_quantity = $2 WHERE id = ANY($1)")
            .bind(&ids)
            .bind(i32::try_from(commit + 2).unwrap_or(i32::MAX))
            .execute(pool)
            .await?;
    }
    Ok(())
}

fn rate_between(accepted: &[(Instant, i64)], from: Instant, to: Instant) -> f64 {
    let n = accepted
        .iter()
        .filter(|(at, _)| *at >= from && *at < to)
        .count();
    n as f64 / (to - from).as_secs_f64().max(0.001)
}

/// Runs each way of shedding in a process of its own (a fresh service each time), or the
/// one `BENCH_SHEDDING` names.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let shedding = match std::env::var("BENCH_SHEDDING").ok().as_deref() {
        Some("backlog") => Shedding::Backlog,
        Some("refuse") => Shedding::Refuse,
        Some("shed") => Shedding::Shed,
        _ => {
            for mode in ["backlog", "refuse", "shed"] {
                let status = std::process::Command::new(std::env::current_exe()?)
                    .env("BENCH_SHEDDING", mode)
                    .status()?;
                anyhow::ensure!(status.success(), "the {mode} run failed");
            }
            return Ok(());
        }
    };
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let capacity = knobs::env_number("BENCH_CAPACITY", 30) as usize;
    let latency = Duration::from_millis(knobs::env_number("BENCH_PARTNER_MS", 50));
    let rate = knobs::env_number("BENCH_RATE", 1000);
    let seconds = knobs::env_number("BENCH_SECONDS", 20);
    let capacity_rate = capacity as f64 / latency.as_secs_f64();
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    sqlx::query("UPDATE products SET stock_quantity = 1 WHERE id <= $1")
        .bind(PRODUCTS)
        .execute(&pool)
        .await?;
    sqlx::query("VACUUM ANALYZE events, deliveries, delivery_attempts, products")
        .execute(&pool)
        .await?;
    let partner = Arc::new(Partner::default());
    let url = start_partner(partner.clone(), (shedding, capacity, latency)).await?;
    webhook::replace(
        &settings,
        &pool,
        "bench-capacity",
        &format!("{url}/hook"),
        &["product.stock_changed"],
    )
    .await?;
    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    let app = Application::build(&settings, pool.clone()).await?;
    tokio::spawn(app.run_until_stopped());
    if shedding == Shedding::Backlog {
        println!(
            "partner: {capacity} requests at once, {} ms each: {capacity_rate:.0} events/s; \
             offered {rate}/s for {seconds} s; up to {} deliveries in flight \
             (DELIVERY_CONCURRENCY)\n",
            latency.as_millis(),
            settings.delivery.concurrency
        );
        println!("| partner sheds by | delivered/s while offered | share of capacity | backlog at the end | drained/s | share of capacity | turned away | accepted twice | out of order | most at once |");
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    }
    let begun = Instant::now();
    offer(&pool, rate, seconds).await?;
    let offered_until = Instant::now();
    let backlog: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
            .fetch_one(&pool)
            .await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
                .fetch_one(&pool)
                .await?;
        if pending == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let accepted = partner.accepted.lock().unwrap().clone();
    let drained_at = accepted
        .iter()
        .map(|(at, _)| *at)
        .max()
        .unwrap_or(offered_until);
    let steady = rate_between(&accepted, begun + Duration::from_secs(2), offered_until);
    let drain = rate_between(&accepted, offered_until, drained_at);
    let mut times: HashMap<i64, usize> = HashMap::new();
    for (_, id) in &accepted {
        *times.entry(*id).or_default() += 1;
    }
    let twice: usize = times.values().map(|n| n - 1).sum();
    let committed = (rate * seconds) as usize;
    let out_of_order = partner
        .sequence
        .lock()
        .unwrap()
        .values()
        .filter(|stocks| stocks.windows(2).any(|w| w[0] >= w[1]))
        .count();
    println!(
        "| {} | {steady:.0} | {:.0} % | {backlog} | {drain:.0} | {:.0} % | {} | {twice} | {out_of_order} | {} |",
        match shedding {
            Shedding::Backlog => "a listen backlog of 8 (no keep-alive)",
            Shedding::Refuse => "closing connections (no keep-alive)",
            Shedding::Shed => "answering 503 (keep-alive)",
        },
        100.0 * steady / capacity_rate,
        100.0 * drain / capacity_rate,
        partner.turned_away.load(Ordering::Relaxed),
        partner.most_in_flight.load(Ordering::Relaxed),
    );
    if times.len() != committed {
        println!(
            "(accepted {} distinct events of {committed} committed)",
            times.len()
        );
    }
    webhook::remove(&pool, "bench-capacity").await?;
    Ok(())
}
