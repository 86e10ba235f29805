use crate::helpers::{assert_error, fresh_empty_database, spawn_app, spawn_app_on};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ready_when_migrations_are_applied() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_unavailable_before_migrations() {
    let app = spawn_app_on(fresh_empty_database().await, |_| {}).await;
    let message = assert_error(app.get("/readyz").await, 503, "INTERNAL").await;
    assert!(message.contains("migrations"), "{message}");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let message = assert_error(app.get("/readyz").await, 503, "INTERNAL").await;
    assert!(message.contains("unreachable"), "{message}");
}

#[tokio::test]
async fn readyz_answers_within_a_second_when_the_database_does_not_answer() {
    // Accepts connections and never answers: a PostgreSQL that hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let options = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("nobody");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_lazy_with(options.clone());
    let settings = crate::helpers::test_settings(options);
    let app = shopbridge::startup::Application::build(&settings, pool).unwrap();
    let url = format!("http://127.0.0.1:{}/readyz", app.port());
    tokio::spawn(app.run_until_stopped());
    let started = std::time::Instant::now();
    let response = reqwest::get(url).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let message = assert_error(response, 503, "INTERNAL").await;
    assert!(message.contains("within a second"), "{message}");
    drop(silent);
}

#[tokio::test]
async fn docs_serve_swagger_ui_and_the_spec() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/").await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(spec["info"]["title"], "shopbridge");
    assert!(spec["paths"]["/readyz"]["get"].is_object());
}
