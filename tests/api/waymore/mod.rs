//! Routee-Waymore: connect, mass export, disconnect, against a fake Waymore on loopback.

mod connect;
mod events;
mod export;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{fresh_database, spawn_app_on, waymore_settings, TestApp, ADMIN_TOKEN};

pub const UUID: &str = "8e109ec3-a69b-40fb-a648-dab158616314";

/// What the fake does with the next request; once the script is used up, it acknowledges.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Ok,
    Status(u16),
    /// Answers only after the client has given up.
    Hang,
}

/// A fake Waymore endpoint that follows a script and remembers what it acknowledged.
#[derive(Clone, Default)]
pub struct Fake(Arc<FakeState>);

#[derive(Default)]
pub struct FakeState {
    script: Mutex<VecDeque<Step>>,
    received: Mutex<Vec<Value>>,
    acknowledged: Mutex<Vec<Value>>,
    /// Every answer waits this long (a partner's round trip).
    delay: Mutex<Duration>,
    /// While down, every request gets a 503 (after the script).
    down: AtomicBool,
    /// While holding, every request hangs (after the script): nothing more is acknowledged.
    holding: AtomicBool,
}

impl Fake {
    pub fn script(&self, steps: &[Step]) {
        self.0.script.lock().unwrap().extend(steps.iter().copied());
    }
    pub fn received(&self) -> usize {
        self.0.received.lock().unwrap().len()
    }
    pub fn acknowledged(&self) -> Vec<Value> {
        self.0.acknowledged.lock().unwrap().clone()
    }
    pub fn set_delay(&self, delay: Duration) {
        *self.0.delay.lock().unwrap() = delay;
    }
    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }
    pub fn set_holding(&self, holding: bool) {
        self.0.holding.store(holding, Ordering::SeqCst);
    }
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        self.0.received.lock().unwrap().push(body.clone());
        let step = self.0.script.lock().unwrap().pop_front().unwrap_or(
            match (
                self.0.holding.load(Ordering::SeqCst),
                self.0.down.load(Ordering::SeqCst),
            ) {
                (true, _) => Step::Hang,
                (false, true) => Step::Status(503),
                (false, false) => Step::Ok,
            },
        );
        let delay = *self.0.delay.lock().unwrap();
        match step {
            Step::Ok => {
                self.0.acknowledged.lock().unwrap().push(body);
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"status": "ok"}))
                    .set_delay(delay)
            }
            Step::Status(status) => ResponseTemplate::new(status).set_body_string("fake failure"),
            Step::Hang => ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
        }
    }
}

/// A fake Waymore: authentication answers with UUID, data and events go to fakes.
pub struct FakeWaymore {
    pub server: MockServer,
    pub data: Fake,
    pub events: Fake,
}

impl FakeWaymore {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let (data, events) = (Fake::default(), Fake::default());
        Mock::given(method("POST"))
            .and(path("/api/authenticate"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"uuid": UUID})),
            )
            .with_priority(10)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/data"))
            .respond_with(data.clone())
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/event"))
            .respond_with(events.clone())
            .mount(&server)
            .await;
        FakeWaymore {
            server,
            data,
            events,
        }
    }

    /// Requests the authentication URL received.
    pub async fn auth_requests(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == "/api/authenticate")
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

/// The app, talking to `fake`, with Waymore parts of `batch_size` objects.
pub async fn app_with(fake: &FakeWaymore, batch_size: u32) -> TestApp {
    let uri = fake.server.uri();
    spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = batch_size;
    })
    .await
}

pub async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

pub async fn post_connect(app: &TestApp, body: Value) -> reqwest::Response {
    admin(app, reqwest::Method::POST, "/waymore/connect", Some(body)).await
}

pub async fn connect(app: &TestApp) -> Value {
    let body = serde_json::json!({"username": "owner@shop.test", "password": "s3cret-Pa55"});
    let response = post_connect(app, body).await;
    assert_eq!(response.status().as_u16(), 202);
    response.json().await.unwrap()
}

pub async fn status(app: &TestApp) -> Value {
    admin(app, reqwest::Method::GET, "/waymore/status", None)
        .await
        .json()
        .await
        .unwrap()
}

/// Waits until the latest export is no longer pending or running; returns the status.
pub async fn export_finished(app: &TestApp) -> Value {
    for _ in 0..600 {
        let status = status(app).await;
        let state = status["export"]["state"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        if !matches!(state.as_str(), "pending" | "running" | "none") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the export did not finish: {}", status(app).await);
}
