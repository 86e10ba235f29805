//! A partner stand-in on loopback for the benchmarks: hands every request body to `handle`
//! and accepts it after `delay` milliseconds (changeable while it runs), so benchmarks can
//! run against a partner with a realistic round trip as well as an instant one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};

/// Starts the sink; its base URL.
pub async fn start_sink(
    delay_ms: Arc<AtomicU64>,
    handle: impl Fn(web::Bytes) + Clone + Send + 'static,
) -> std::io::Result<String> {
    let server = HttpServer::new(move || {
        let handle = handle.clone();
        let delay_ms = delay_ms.clone();
        App::new()
            .app_data(web::PayloadConfig::new(256 * 1024 * 1024))
            .default_service(web::to(move |body: web::Bytes| {
                let delay = Duration::from_millis(delay_ms.load(Ordering::Relaxed));
                let handle = handle.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    handle(body);
                    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
                }
            }))
    })
    .workers(1)
    .max_connections(100_000)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}"))
}
