//! The database goes away under a running service: every endpoint that needs it answers
//! 503 in the error envelope within about a second, the probes say so, and all is served
//! again once it is back.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::events::eventually;
use crate::helpers::{
    assert_error, fresh_database, spawn_app_on, TestApp, ADMIN_TOKEN, API_KEY, ONE_CREDENTIALS,
};
use crate::proxy::Relay;

async fn call(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("api-key", API_KEY)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_the_database_gone_every_endpoint_answers_503_within_a_second() {
    let database = fresh_database().await;
    let relay = Relay::start(database.get_port()).await;
    let app = spawn_app_on(database.clone().port(relay.port()), |_| {}).await;
    let crawl = "/rfmcube/customers?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z";
    assert_eq!(call(&app, Method::GET, crawl).await.status().as_u16(), 200);

    relay.down();
    for (method, path) in [
        (Method::GET, crawl),
        (Method::GET, "/admin/events"),
        (Method::GET, "/waymore/status"),
        (Method::GET, "/admin/destinations"),
        (Method::GET, "/readyz"),
    ] {
        let asked = Instant::now();
        let answer = call(&app, method.clone(), path).await;
        let took = asked.elapsed();
        assert_error(answer, 503, "INTERNAL").await;
        assert!(
            took < Duration::from_millis(1500),
            "{method} {path}: {took:?}"
        );
    }
    let asked = Instant::now();
    let webhook = app
        .client
        .post(app.url("/one/webhooks"))
        .basic_auth(ONE_CREDENTIALS.0, Some(ONE_CREDENTIALS.1))
        .json(&json!({"event": "Cart opened", "customerId": "C-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status().as_u16(), 503, "ONe retries: nothing taken");
    assert!(webhook.headers().contains_key("retry-after"));
    assert!(asked.elapsed() < Duration::from_millis(1500));
    assert_eq!(
        call(&app, Method::GET, "/healthz").await.status().as_u16(),
        200
    );

    relay.up(database.get_port()).await;
    eventually(Duration::from_secs(10), "served again", || async {
        call(&app, Method::GET, crawl).await.status().as_u16() == 200
    })
    .await;
    assert_eq!(
        call(&app, Method::GET, "/readyz").await.status().as_u16(),
        200
    );
}
