//! A stand-in for Routee-Waymore on loopback, to try `shopbridge waymore …` without an
//! account: `cargo run --example fake_waymore` (address: FAKE_WAYMORE_ADDR, default
//! 127.0.0.1:9797). It issues a UUID for any credentials except the password `wrong`,
//! accepts mass data and events, and prints what it received. `FAKE_WAYMORE_MS` delays each
//! answer, as a real partner's round trip does (0 by default).

use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

/// How long each answer waits: `FAKE_WAYMORE_MS`.
fn latency() -> Duration {
    let ms = std::env::var("FAKE_WAYMORE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok());
    Duration::from_millis(ms.unwrap_or(0))
}

async fn authenticate(body: web::Json<Value>) -> HttpResponse {
    tokio::time::sleep(latency()).await;
    println!(
        "authenticate: username={} domain={}",
        body["username"], body["domain"]
    );
    if body["password"] == "wrong" {
        return HttpResponse::Unauthorized()
            .json(json!({"message": "Invalid username or password"}));
    }
    HttpResponse::Ok().json(json!({"uuid": "8e109ec3-a69b-40fb-a648-dab158616314"}))
}

async fn data(body: web::Json<Value>) -> HttpResponse {
    tokio::time::sleep(latency()).await;
    for entity in body["data"].as_array().into_iter().flatten() {
        let objects = entity["object"].as_array().map_or(0, Vec::len);
        println!(
            "mass data: {} × {objects}",
            entity["name"].as_str().unwrap_or("?")
        );
    }
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn event(body: web::Json<Value>) -> HttpResponse {
    tokio::time::sleep(latency()).await;
    println!(
        "event: {} {}",
        body["event"].as_str().unwrap_or("?"),
        body["data"]
    );
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("FAKE_WAYMORE_ADDR").unwrap_or_else(|_| "127.0.0.1:9797".into());
    println!("fake Waymore on http://{addr} (/api/authenticate, /api/data, /api/event)");
    HttpServer::new(|| {
        App::new()
            .app_data(web::JsonConfig::default().limit(256 * 1024 * 1024))
            .route("/api/authenticate", web::post().to(authenticate))
            .route("/api/data", web::post().to(data))
            .route("/api/event", web::post().to(event))
    })
    .bind(addr)?
    .run()
    .await
}
