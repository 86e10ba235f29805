//! A stand-in for Rfmcube's push API for the benchmarks: answers after a partner's round
//! trip, counts requests, bytes, customers and orders, turns away what exceeds the limit
//! per window (429), and runs imports as processes that complete after a delay. It keeps
//! counts, not the data, so a million orders cost it little.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Default)]
pub struct Seen {
    /// When each request it took arrived.
    pub arrivals: Vec<Instant>,
    pub throttled: u64,
    pub imports: u64,
    pub polls: u64,
    pub bytes: u64,
    pub customers: u64,
    pub orders: u64,
    processes: Vec<Instant>,
}

pub struct Partner {
    pub limit: usize,
    pub window: Duration,
    pub latency: Duration,
    pub process_delay: Duration,
}

#[derive(Deserialize)]
struct Import {
    customers: Vec<Customer>,
}

#[derive(Deserialize)]
struct Customer {
    #[serde(default)]
    orders: Vec<IgnoredAny>,
}

/// Starts the stand-in; its base URL (with `/v1`) and what it saw.
pub async fn start(partner: Partner) -> std::io::Result<(String, Arc<Mutex<Seen>>)> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let partner = Arc::new(partner);
    let state = (seen.clone(), partner);
    let server = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            .app_data(web::PayloadConfig::new(256 * 1024 * 1024))
            .default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
                let (seen, partner) = state.clone();
                async move { answer(&seen, &partner, &request, &body).await }
            }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok((format!("http://127.0.0.1:{port}/v1"), seen))
}

async fn answer(
    seen: &Mutex<Seen>,
    partner: &Partner,
    request: &HttpRequest,
    body: &[u8],
) -> HttpResponse {
    let arrived = Instant::now();
    {
        let mut seen = seen.lock().unwrap();
        let in_window = seen
            .arrivals
            .iter()
            .rev()
            .take_while(|at| arrived.duration_since(**at) < partner.window)
            .count();
        if in_window >= partner.limit {
            seen.throttled += 1;
            return HttpResponse::TooManyRequests()
                .insert_header(("retry-after", "1"))
                .finish();
        }
        seen.arrivals.push(arrived);
        seen.bytes += body.len() as u64;
    }
    tokio::time::sleep(partner.latency).await;
    let path = request.path();
    let mut seen = seen.lock().unwrap();
    if let Some(id) = path.strip_prefix("/v1/processes/") {
        seen.polls += 1;
        let ready = id
            .parse::<usize>()
            .ok()
            .and_then(|n| seen.processes.get(n.checked_sub(1)?).copied());
        return match ready {
            Some(ready) => HttpResponse::Ok().json(serde_json::json!({
                "processId": id,
                "status": if ready <= Instant::now() { "completed" } else { "running" },
                "type": "IMPORT_CUSTOMERS_API",
            })),
            None => HttpResponse::NotFound().finish(),
        };
    }
    if path == "/v1/import" {
        let Ok(import) = serde_json::from_slice::<Import>(body) else {
            return HttpResponse::BadRequest().finish();
        };
        seen.imports += 1;
        seen.customers += import.customers.len() as u64;
        seen.orders += import
            .customers
            .iter()
            .map(|c| c.orders.len() as u64)
            .sum::<u64>();
        seen.processes.push(Instant::now() + partner.process_delay);
        let id = seen.processes.len();
        return HttpResponse::Ok().json(serde_json::json!({"processId": id}));
    }
    HttpResponse::Ok().json(serde_json::json!({"success": true}))
}
