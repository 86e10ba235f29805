use std::sync::Arc;

use shopbridge::configuration::Settings;
use shopbridge::outbound::address::SystemLookup;
use shopbridge::startup::{Application, Prepared};

use crate::helpers::{assert_error, fresh_database, fresh_empty_database, spawn_app};

/// The application on `pool`, a database it cannot use yet (or at all): what it reads
/// before serving (its vault, the integrations) comes from a migrated database instead.
async fn build_beside_a_migrated_database(settings: &Settings, pool: sqlx::PgPool) -> Application {
    let migrated = sqlx::PgPool::connect_with(fresh_database().await)
        .await
        .unwrap();
    let prepared = Prepared::load(settings, &migrated).await.unwrap();
    Application::build_prepared(settings, pool, Arc::new(SystemLookup), prepared).unwrap()
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

/// `/readyz` once its first answer is in: a loaded debug build may spend its one second
/// opening the probe's connection (SCRAM), and then answers that the database did not
/// answer in time, which is not what these tests are about.
async fn readyz(url: &str) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = reqwest::get(url).await.unwrap();
        if response.status().as_u16() != 503 || std::time::Instant::now() > deadline {
            return response;
        }
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        if !body.contains("did not answer within a second") {
            let mut again = http::Response::builder().status(503);
            *again.headers_mut().unwrap() = headers;
            return reqwest::Response::from(again.body(body).unwrap());
        }
    }
}

#[tokio::test]
async fn readyz_is_ready_when_migrations_are_applied() {
    let app = spawn_app().await;
    let response = readyz(&app.url("/readyz")).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_unavailable_before_migrations() {
    let empty = fresh_empty_database().await;
    let pool = sqlx::PgPool::connect_with(empty.clone()).await.unwrap();
    let app = build_beside_a_migrated_database(&crate::helpers::test_settings(empty), pool).await;
    let url = format!("http://127.0.0.1:{}/readyz", app.port());
    tokio::spawn(app.run_until_stopped());
    let message = assert_error(readyz(&url).await, 503, "INTERNAL").await;
    assert!(message.contains("migrations"), "{message}");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    // A port nothing listens on: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("nobody");
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy_with(gone.clone());
    let app = build_beside_a_migrated_database(&crate::helpers::test_settings(gone), pool).await;
    let url = format!("http://127.0.0.1:{}/readyz", app.port());
    tokio::spawn(app.run_until_stopped());
    let started = std::time::Instant::now();
    let message = assert_error(reqwest::get(url).await.unwrap(), 503, "INTERNAL").await;
    assert!(message.contains("database"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
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
    let app = build_beside_a_migrated_database(&settings, pool).await;
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

/// Rfmcube page requests held up by a lock on `orders`: two run (the pool's size), two
/// wait, the rest are refused at once; the probes answer meanwhile.
#[tokio::test]
async fn overload_is_a_quick_503_with_retry_after_and_probes_stay_fast() {
    let db = crate::helpers::fresh_database().await;
    let app = crate::helpers::spawn_app_on(db, |s| {
        s.database.max_connections = 2;
        s.http.max_queued_requests = 2;
        s.http.queue_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let crawl = || {
        let request = app
            .client
            .post(app.url("/rfmcube/orders"))
            .header("api-key", crate::helpers::API_KEY)
            .json(&serde_json::json!({}));
        async move {
            let started = std::time::Instant::now();
            let response = request.send().await.unwrap();
            (response, started.elapsed())
        }
    };
    // The probe's own connection is opened (in a debug build, authentication alone can take
    // a few hundred milliseconds), so what is timed below is waiting, if any.
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    let crawls: Vec<_> = (0..12).map(|_| tokio::spawn(crawl())).collect();
    let probe_started = std::time::Instant::now();
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert!(
        probe_started.elapsed() < std::time::Duration::from_millis(500),
        "probes do not wait behind crawls: {:?}",
        probe_started.elapsed()
    );
    // While the lock is held, every answer is a refusal: at once, or after the queue
    // timeout. The admitted requests are still blocked on the lock.
    let mut refused = 0;
    let mut admitted = Vec::new();
    for mut crawl in crawls {
        match tokio::time::timeout(std::time::Duration::from_secs(2), &mut crawl).await {
            Ok(answered) => {
                let (response, took) = answered.unwrap();
                assert_eq!(response.headers()["retry-after"], "1");
                assert!(
                    took < std::time::Duration::from_secs(2),
                    "refused in {took:?}"
                );
                assert_error(response, 503, "INTERNAL").await;
                refused += 1;
            }
            Err(_) => admitted.push(crawl),
        }
    }
    lock.rollback().await.unwrap();
    for crawl in admitted {
        let (response, _) = crawl.await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "admitted requests finish");
    }
    assert_eq!(
        refused, 10,
        "2 run, the 2 waiting time out, 8 are refused at once"
    );
}
