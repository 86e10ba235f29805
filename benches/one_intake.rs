//! ONe webhook intake benchmark: `cargo bench --bench one_intake`.
//!
//! On the benchmark shop (seeded once, shared with the other benchmarks), the real
//! application receives ONe events over loopback HTTP with Basic auth, open loop (each
//! request sent at its scheduled time, whether or not earlier ones were answered, so a slow
//! answer shows as latency instead of a lower rate), for `BENCH_SECONDS` (30) per rate.
//! A webhook destination takes the `customer.*` events they become and answers after 50 ms
//! (`BENCH_PARTNER_MS`), so delivery runs alongside intake, as it would in a shop;
//! `BENCH_NO_DESTINATION=1` measures intake alone. Load generator, application, sink and
//! PostgreSQL share the machine.
//! Reported per rate: answer latency median/p95/p99/max, everything stored, and everything
//! delivered.

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

use shopbridge::secrets::BasicCredentials;
use shopbridge::startup::Application;

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A realistic ONe payload; the three kinds in turn.
fn payload(n: u64) -> String {
    let customer = 10_000 + n % 5_000;
    let body = match n % 3 {
        0 => serde_json::json!({"eventType": "CART_OPENED", "customerId": customer.to_string(),
                                "cartId": format!("cart-{n}"), "occurredAt": "2026-11-23T10:00:00Z",
                                "source": "OFE"}),
        1 => serde_json::json!({"eventType": "CLIENT_LOGGED", "customerId": customer.to_string(),
                                "occurredAt": "2026-11-23T10:00:00Z", "source": "OFE"}),
        _ => serde_json::json!({"eventType": "OFFER_OPENED", "customerId": customer.to_string(),
                                "offerId": format!("offer-{}", n % 977),
                                "occurredAt": "2026-11-23T10:00:00Z", "source": "BO"}),
    };
    body.to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let partner_ms = knobs::env_number("BENCH_PARTNER_MS", 50);
    let seconds = knobs::env_number("BENCH_SECONDS", 30);
    sqlx::query("TRUNCATE one_events").execute(&pool).await?;
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    webhook::remove(&pool, "bench-one").await?;

    let delivered = Arc::new(AtomicU64::new(0));
    let sink = {
        let delivered = delivered.clone();
        sink::start_sink(Arc::new(AtomicU64::new(partner_ms)), move |_| {
            delivered.fetch_add(1, Ordering::Relaxed);
        })
        .await?
    };
    let with_destination = std::env::var_os("BENCH_NO_DESTINATION").is_none();
    if with_destination {
        webhook::replace(
            &settings,
            &pool,
            "bench-one",
            &format!("{sink}/hook"),
            &["customer.*"],
        )
        .await?;
    }
    settings.one.credentials =
        BasicCredentials::parse(&format!("{USER}:{PASSWORD}")).map_err(anyhow::Error::msg)?;
    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    let app = Application::build(&settings, pool.clone()).await?;
    let url = format!("http://127.0.0.1:{}/one/webhooks", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    // Warm the connection pool and the server's statement cache.
    for n in 0..200 {
        send(&client, &url, n).await;
    }
    let wanted = if with_destination { 200 } else { 0 };
    while delivered.load(Ordering::Relaxed) < wanted {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    println!(
        "\nONe events posted open loop for {seconds} s per rate; a webhook destination takes \
         them, answering after {partner_ms} ms:\n"
    );
    println!("| target/s | sent/s | stored | delivered | median ms | p95 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut next_n = 200;
    for rate in [250u64, 500, 750] {
        let total = rate * seconds;
        let before_stored: i64 = sqlx::query_scalar("SELECT count(*) FROM one_events")
            .fetch_one(&pool)
            .await?;
        let before_delivered = delivered.load(Ordering::Relaxed);
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let begun = Instant::now();
        let mut requests = Vec::with_capacity(total as usize);
        for i in 0..total {
            let at = begun + interval.mul_f64(i as f64);
            tokio::time::sleep_until(at.into()).await;
            let client = client.clone();
            let url = url.clone();
            let n = next_n + i;
            requests.push(tokio::spawn(async move {
                send(&client, &url, n).await;
                at.elapsed()
            }));
        }
        next_n += total;
        let mut latencies = Vec::with_capacity(requests.len());
        for request in requests {
            latencies.push(request.await?);
        }
        let sent_rate = total as f64 / begun.elapsed().as_secs_f64();
        latencies.sort();
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM one_events")
            .fetch_one(&pool)
            .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while with_destination
            && delivered.load(Ordering::Relaxed) - before_delivered < total
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!(
            "| {rate} | {sent_rate:.0} | {} | {} | {} | {} | {} | {} |",
            stored - before_stored,
            delivered.load(Ordering::Relaxed) - before_delivered,
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.95)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().unwrap()),
        );
    }
    webhook::remove(&pool, "bench-one").await?;
    sqlx::query("TRUNCATE one_events").execute(&pool).await?;
    Ok(())
}

async fn send(client: &reqwest::Client, url: &str, n: u64) {
    let response = client
        .post(url)
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "application/json")
        .body(payload(n))
        .send()
        .await
        .expect("the inbox answers");
    assert_eq!(response.status().as_u16(), 200, "stored");
}
