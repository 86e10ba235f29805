//! A Waymore stand-in on loopback for the benchmarks: hands every request body to `handle`
//! and accepts it.

use actix_web::{web, App, HttpResponse, HttpServer};

/// Starts the sink; its base URL.
pub async fn start_sink(
    handle: impl Fn(web::Bytes) + Clone + Send + 'static,
) -> std::io::Result<String> {
    let server = HttpServer::new(move || {
        let handle = handle.clone();
        App::new()
            .app_data(web::PayloadConfig::new(256 * 1024 * 1024))
            .default_service(web::to(move |body: web::Bytes| {
                handle(body);
                async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }
            }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}"))
}
