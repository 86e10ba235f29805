//! Workflows under load: `cargo bench --bench workflows`.
//!
//! On the benchmark shop, customer changes (`customer_updated`, 1,000 customers with ASCII
//! email addresses, each customer's firstname counting up) are committed open loop, one per transaction, for
//! `BENCH_SECONDS` (10) after a two-second warm-up left out of the figures, each to one
//! workflow at a time:
//! 1. `webhook` to a receiver answering after `BENCH_PARTNER_MS` (50) at `BENCH_RATE` (200)
//!    events/s: commit → received latency (from just before the write is sent), losses,
//!    customers whose events arrived out of order;
//! 2. `send_email` through a local SMTP server (STARTTLS) taking `BENCH_SMTP_MS` (20) per
//!    message over the default `SMTP_POOL_SIZE` connections, offered 200/s and then
//!    `BENCH_EMAIL_RATE` (300)/s: emails accepted per second, and the same latency figures;
//! 3. `send_push` to a stand-in push service over TLS answering after `BENCH_PARTNER_MS`,
//!    one subscription per customer, offered `BENCH_PUSH_RATE` (700)/s: pushes per second;
//!    and what making one push costs this process (RFC 8291 encryption), median of 2,000.

mod common;
#[path = "common/knobs.rs"]
mod knobs;
#[path = "common/sink.rs"]
mod sink;
#[path = "common/smtp.rs"]
mod smtp;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use sqlx::PgPool;

use shopbridge::configuration::{Settings, TlsSettings};
use shopbridge::outbound::address::Guard;
use shopbridge::outbound::Client;
use shopbridge::secrets::vault::Vault;
use shopbridge::startup::{self, Application};
use shopbridge::webpush::send::{Pusher, Recipient};
use shopbridge::webpush::subscriptions::{self, Subscription};
use shopbridge::workflows::conditions::Conditions;
use shopbridge::workflows::definition::{ActionWire, Stored};
use shopbridge::workflows::engine::WorkflowKind;
use shopbridge::workflows::store::{self, Configure};
use shopbridge::workflows::triggers;

/// Customers changed: 1,000 whose email address is ASCII, which every relay takes (the test
/// relay has no SMTPUTF8; a UTF-8 address is a failed execution, not a delivered email).
const CUSTOMERS: i64 = 1000;

type Customers = Arc<Vec<i64>>;

async fn ascii_customers(pool: &PgPool) -> anyhow::Result<Customers> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM customers WHERE email ~ '^[ -~]+$' ORDER BY id LIMIT $1",
    )
    .bind(CUSTOMERS)
    .fetch_all(pool)
    .await?;
    Ok(Arc::new(ids))
}

/// When each (customer, n) arrived, and each customer's n in arrival order.
#[derive(Default)]
struct Received {
    at: HashMap<(i64, i64), Instant>,
    sequence: HashMap<i64, Vec<i64>>,
}

impl Received {
    fn note(&mut self, customer: i64, n: i64, at: Instant) {
        self.at.insert((customer, n), at);
        self.sequence.entry(customer).or_default().push(n);
    }
}

type Arrivals = Arc<Mutex<Received>>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `v<n>` as firstname: the change's number.
fn number(firstname: &str) -> Option<i64> {
    firstname.strip_prefix('v')?.parse().ok()
}

struct Run {
    sent: Vec<((i64, i64), Instant)>,
    offered_for: Duration,
}

/// Commits customer changes at `rate` for `seconds`, from 8 producers, each owning an
/// eighth of the customers; `n` counts up from `first`.
async fn offer(
    pool: &PgPool,
    customers: &Customers,
    rate: u64,
    seconds: u64,
    first: &mut i64,
) -> Run {
    let producers = 8u64;
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(producers as f64 / rate as f64);
    let base = *first;
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for producer in 0..producers {
        let (pool, customers) = (pool.clone(), customers.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut next = Instant::now() + interval.mul_f64(producer as f64 / producers as f64);
            for i in (producer..total).step_by(producers as usize) {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let customer = customers[i as usize % customers.len()];
                let n = base + i as i64;
                let at = Instant::now();
                sqlx::query("UPDATE customers SET firstname = $2 WHERE id = $1")
                    .bind(customer)
                    .bind(format!("v{n}"))
                    .execute(&pool)
                    .await
                    .expect("update");
                sent.push(((customer, n), at));
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.extend(task.await.expect("producer"));
    }
    *first = base + total as i64;
    Run {
        sent,
        offered_for: begun.elapsed(),
    }
}

/// Waits up to 30 s for everything sent to arrive; the latencies of what did, sorted.
async fn arrived(run: &Run, arrivals: &Arrivals) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    loop {
        let done = {
            let a = arrivals.lock().unwrap();
            run.sent.iter().all(|(key, _)| a.at.contains_key(key))
        };
        if done || started.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = arrivals.lock().unwrap();
    let mut latencies: Vec<Duration> = run
        .sent
        .iter()
        .filter_map(|(key, at)| a.at.get(key).map(|got| got.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    let last = run
        .sent
        .iter()
        .filter_map(|(key, _)| a.at.get(key))
        .max()
        .copied();
    let first = run.sent.iter().map(|(_, at)| *at).min();
    let span = match (first, last) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    (latencies, span)
}

fn out_of_order(arrivals: &Arrivals) -> usize {
    arrivals
        .lock()
        .unwrap()
        .sequence
        .values()
        .filter(|ns| ns.windows(2).any(|w| w[0] >= w[1]))
        .count()
}

/// Replaces every workflow the shop configured with one on customer_updated doing `action`.
async fn only_workflow(
    pool: &PgPool,
    vault: &Vault,
    kind: &WorkflowKind,
    action: Value,
) -> anyhow::Result<()> {
    sqlx::query(
        "DELETE FROM destinations d USING workflows w
         WHERE w.destination_id = d.id AND NOT w.managed",
    )
    .execute(pool)
    .await?;
    let trigger = triggers::by_code("customer_updated").expect("a trigger");
    let action: ActionWire = serde_json::from_value(action)?;
    store::create(
        pool,
        vault,
        kind,
        Configure {
            name: "bench",
            trigger,
            stored: Stored::of(
                uuid::Uuid::new_v4(),
                trigger,
                &Conditions::default(),
                &action,
            )?,
            active: true,
        },
    )
    .await?;
    Ok(())
}

async fn report(
    label: &str,
    pool: &PgPool,
    customers: &Customers,
    arrivals: &Arrivals,
    rate: u64,
    seconds: u64,
    first: &mut i64,
) {
    // Warm-up, left out of the figures.
    let warm = offer(pool, customers, rate, 2, first).await;
    arrived(&warm, arrivals).await;
    let run = offer(pool, customers, rate, seconds, first).await;
    let (latencies, span) = arrived(&run, arrivals).await;
    let offered = run.sent.len() as f64 / run.offered_for.as_secs_f64();
    let through = latencies.len() as f64 / span.as_secs_f64().max(f64::EPSILON);
    println!(
        "| {label} | {offered:.0} | {} | {} | {through:.0} | {} | {} | {} | {} |",
        run.sent.len(),
        run.sent.len() - latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        out_of_order(arrivals),
    );
}

/// A push service over TLS answering 201 after `delay`; counts what it got per customer.
async fn push_service(
    delay: Duration,
    arrivals: Arrivals,
) -> anyhow::Result<(String, std::path::PathBuf, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let tls = TlsSettings {
        cert_path: dir.path().join("cert.pem"),
        key_path: dir.path().join("key.pem"),
    };
    std::fs::write(&tls.cert_path, cert.cert.pem())?;
    std::fs::write(&tls.key_path, cert.key_pair.serialize_pem())?;
    let config = shopbridge::http::tls::server_config(&tls)?;
    let counter = Arc::new(AtomicUsize::new(0));
    let server = HttpServer::new(move || {
        let (arrivals, counter) = (arrivals.clone(), counter.clone());
        App::new().route(
            "/push/{customer}",
            web::post().to(move |path: web::Path<i64>| {
                let (arrivals, counter) = (arrivals.clone(), counter.clone());
                async move {
                    tokio::time::sleep(delay).await;
                    // Pushes are encrypted; each is numbered by its arrival per customer.
                    let n = counter.fetch_add(1, Ordering::Relaxed) as i64;
                    arrivals.lock().unwrap().note(*path, -n - 1, Instant::now());
                    HttpResponse::Created().finish()
                }
            }),
        )
    })
    .workers(2)
    .max_connections(100_000)
    .bind_rustls_0_23(("127.0.0.1", 0), config)?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok((format!("https://localhost:{port}"), tls.cert_path, dir))
}

/// Pushes arrive encrypted, so they are counted, not matched to their changes.
async fn report_push(
    pool: &PgPool,
    customers: &Customers,
    arrivals: &Arrivals,
    rate: u64,
    seconds: u64,
    first: &mut i64,
) {
    let count = || arrivals.lock().unwrap().at.len();
    let warm = offer(pool, customers, rate, 2, first).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count() < warm.sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = count();
    let run = offer(pool, customers, rate, seconds, first).await;
    let started = run
        .sent
        .iter()
        .map(|(_, at)| *at)
        .min()
        .unwrap_or_else(Instant::now);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count() < before + run.sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pushed = count() - before;
    let span = started.elapsed();
    let offered = run.sent.len() as f64 / run.offered_for.as_secs_f64();
    println!(
        "| send_push, partner {} ms | {offered:.0} | {} | {} | {:.0} | drained {:.1} s after the first change |",
        ms(Duration::from_millis(knobs::env_number("BENCH_PARTNER_MS", 50))),
        run.sent.len(),
        run.sent.len().saturating_sub(pushed),
        pushed as f64 / span.as_secs_f64(),
        span.as_secs_f64(),
    );
}

async fn subscribe_customers(
    pool: &PgPool,
    vault: &Vault,
    customers: &Customers,
    origin: &str,
    guard: &Guard,
) -> anyhow::Result<Vec<Recipient>> {
    sqlx::query("DELETE FROM push_subscriptions")
        .execute(pool)
        .await?;
    let mut browsers = Vec::new();
    for &customer in customers.iter() {
        let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        use base64::Engine;
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let p256dh = b64.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let auth = b64.encode([customer as u8; 16]);
        let endpoint = format!("{origin}/push/{customer}");
        let subscription =
            Subscription::parse(&endpoint, &p256dh, &auth, Some(customer), None, guard)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        subscriptions::save(pool, vault, &subscription).await?;
        browsers.push(Recipient {
            id: customer,
            endpoint,
            p256dh,
            auth: [customer as u8; 16],
        });
    }
    Ok(browsers)
}

async fn serve(settings: &Settings, pool: &PgPool) -> anyhow::Result<()> {
    let app = Application::build(settings, pool.clone()).await?;
    tokio::spawn(app.run_until_stopped());
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut settings, db) = common::bench_shop().await?;
    let pool = db.pool.clone();
    let partner = Duration::from_millis(knobs::env_number("BENCH_PARTNER_MS", 50));
    let seconds = knobs::env_number("BENCH_SECONDS", 10);
    sqlx::query("DELETE FROM events").execute(&pool).await?;
    sqlx::query("DELETE FROM destinations WHERE kind <> 'workflow'")
        .execute(&pool)
        .await?;
    sqlx::query(
        "VACUUM ANALYZE events, deliveries, delivery_attempts, customers, workflow_executions",
    )
    .execute(&pool)
    .await?;
    let arrivals: Arrivals = Arc::default();
    let customers = ascii_customers(&pool).await?;

    // The relay, the receiver and the push service, all on loopback.
    let smtp = Arc::new(smtp::SmtpServer::start(
        smtp::SmtpServer::reserve(),
        Duration::from_millis(knobs::env_number("BENCH_SMTP_MS", 20)),
    ));
    let templates = tempfile::tempdir()?;
    for part in ["subject.txt", "txt", "html"] {
        std::fs::write(
            templates.path().join(format!("bench.{part}")),
            "{{ customer.id }} {{ customer.firstname }}",
        )?;
    }
    let delay = Arc::new(AtomicU64::new(partner.as_millis() as u64));
    let receiver = {
        let arrivals = arrivals.clone();
        sink::start_sink(delay, move |body| {
            let now = Instant::now();
            let event: Value = serde_json::from_slice(&body).unwrap_or_default();
            let customer = &event["payload"]["customer"];
            if let (Some(id), Some(n)) = (
                customer["id"].as_i64(),
                customer["firstname"].as_str().and_then(number),
            ) {
                arrivals.lock().unwrap().note(id, n, now);
            }
        })
        .await?
    };
    let pushes: Arrivals = Arc::default();
    let (push_origin, push_ca, _push_dir) = push_service(partner, pushes.clone()).await?;

    settings.http.bind_addr = "127.0.0.1:0".parse()?;
    settings.email.smtp_url = Some(format!("smtp://localhost:{}", smtp.port));
    settings.email.from = Some("Bench Shop <shop@bench.test>".into());
    settings.email.ca_file = Some(smtp.ca_file.clone());
    settings.email.templates_dir = Some(templates.path().to_owned());
    settings.outbound.ca_file = Some(push_ca);
    let backbone = startup::backbone(&settings, &pool).await?;
    let (vault, guard) = (backbone.vault.clone(), backbone.guard.clone());
    let kind = WorkflowKind(shopbridge::workflows::engine(&backbone)?);
    let recipients = subscribe_customers(&pool, &vault, &customers, &push_origin, &guard).await?;
    serve(&settings, &pool).await?;
    println!(
        "\n1,000 customers changed open loop, one change per transaction; {seconds} s after a 2 s warm-up; \
         deliveries in flight per workflow: {}\n",
        settings.delivery.concurrency
    );
    println!("| workflow action | offered/s | changes | lost | handled/s | median ms | p99 ms | max ms | customers out of order |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut first = chrono::Utc::now().timestamp() * 1000;

    only_workflow(
        &pool,
        &vault,
        &kind,
        json!({"type": "webhook", "url": format!("{receiver}/hook")}),
    )
    .await?;
    let rate = knobs::env_number("BENCH_RATE", 200);
    report(
        &format!("webhook, partner {} ms", ms(partner)),
        &pool,
        &customers,
        &arrivals,
        rate,
        seconds,
        &mut first,
    )
    .await;

    // Emails are matched to their changes by their subject: "<customer> v<n>".
    let mails: Arrivals = Arc::default();
    let collector = {
        let (mails, smtp) = (mails.clone(), smtp.clone());
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let new = smtp.received_since(seen);
                seen += new.len();
                // One recipient each, the customer: anything else counts as lost.
                for mail in new.into_iter().filter(|m| m.to.len() == 1) {
                    let subject = mail
                        .data
                        .lines()
                        .find_map(|l| l.strip_prefix("Subject: "))
                        .unwrap_or_default();
                    let mut words = subject.split_whitespace();
                    if let (Some(id), Some(n)) = (
                        words.next().and_then(|w| w.parse().ok()),
                        words.next().and_then(number),
                    ) {
                        mails
                            .lock()
                            .unwrap()
                            .note(id, n, mail.at.unwrap_or_else(Instant::now));
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    only_workflow(
        &pool,
        &vault,
        &kind,
        json!({"type": "send_email", "recipient": "customer", "template": "bench"}),
    )
    .await?;
    let smtp_ms = knobs::env_number("BENCH_SMTP_MS", 20);
    // At the target, then past what the relay's connections take.
    for rate in [200, knobs::env_number("BENCH_EMAIL_RATE", 300)] {
        report(
            &format!(
                "send_email, SMTP {smtp_ms} ms, {} connections",
                settings.email.pool_size
            ),
            &pool,
            &customers,
            &mails,
            rate,
            seconds,
            &mut first,
        )
        .await;
    }
    collector.abort();

    only_workflow(
        &pool,
        &vault,
        &kind,
        json!({"type": "send_push", "title": "Hello {{ customer.firstname }}", "body": "bench"}),
    )
    .await?;
    report_push(
        &pool,
        &customers,
        &pushes,
        knobs::env_number("BENCH_PUSH_RATE", 700),
        seconds,
        &mut first,
    )
    .await;

    // What one push costs this process before it is sent: encrypting and signing.
    let pusher = Pusher::load(
        &pool,
        &vault,
        Client::trusted(Duration::from_secs(5)),
        settings.workflows.vapid_subject.clone(),
    )
    .await?;
    let payload =
        json!({"title": "Order R-10 has shipped", "body": "UPS 1Z999", "url": "/orders/10"})
            .to_string();
    let mut costs = Vec::new();
    for to in recipients.iter().cycle().take(2000) {
        let started = Instant::now();
        pusher
            .request(to, payload.as_bytes())
            .map_err(anyhow::Error::msg)?;
        costs.push(started.elapsed());
    }
    costs.sort();
    println!(
        "\nmaking one push of {} bytes (RFC 8291 encryption; the VAPID JWT is signed once per push service): median {:.0} µs, p99 {:.0} µs (2,000 pushes)",
        payload.len(),
        percentile(&costs, 0.5).as_secs_f64() * 1e6,
        percentile(&costs, 0.99).as_secs_f64() * 1e6,
    );
    sqlx::query("DELETE FROM destinations d USING workflows w WHERE w.destination_id = d.id AND NOT w.managed")
        .execute(&pool)
        .await?;
    Ok(())
}
