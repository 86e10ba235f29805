//! ONe webhook inbox: intake over HTTP, the sample-event page, and the page in Chromium.

mod browser;
mod intake;
mod page;

use crate::helpers::{TestApp, ONE_CREDENTIALS};

/// POSTs `body` to the inbox as ONe does (JSON, HTTP Basic with `credentials`).
pub async fn post_as(
    app: &TestApp,
    credentials: Option<(&str, &str)>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let request = app
        .client
        .post(app.url("/one/webhooks"))
        .header("content-type", "application/json")
        .body(body);
    let request = match credentials {
        Some((user, password)) => request.basic_auth(user, Some(password)),
        None => request,
    };
    request.send().await.expect("request sent")
}

pub async fn post(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    let response = post_as(app, Some(ONE_CREDENTIALS), body.to_string()).await;
    assert_eq!(response.status().as_u16(), 200, "stored");
    response.json().await.unwrap()
}

/// GETs a page of the inbox with ONe's credentials.
pub async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .basic_auth(ONE_CREDENTIALS.0, Some(ONE_CREDENTIALS.1))
        .send()
        .await
        .expect("request sent")
}

pub async fn stored(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM one_events")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
