//! Webhook destinations: signed the Standard Webhooks way (checked with the reference
//! library), secrets rotated, `Retry-After` honoured, a receiver that says the
//! configuration is wrong holds the destination until it is changed or released, and URLs
//! never lead inside, whether they say so when added or DNS changes later.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use shopbridge::outbound::address::{Allowlist, Lookup};

use crate::events::{count, eventually, exec};
use crate::helpers::{assert_error, fresh_database, spawn_app_on, spawn_app_resolving, TestApp};
use crate::waymore::admin;

/// A secret as Standard Webhooks hands them out, and a second one to rotate to.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEXT_SECRET: &str = "whsec_dGhpcyBpcyB0aGUgbmV4dCBzZWNyZXQgIQ==";

/// A shop with products 1 to 3, and a receiver mounted at `/hook` answering with `answer`.
async fn shop_and_receiver(answer: ResponseTemplate) -> (TestApp, MockServer) {
    let app = spawn_app_on(fresh_database().await, |_| {}).await;
    exec(
        &app.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity)
         SELECT g, 'P' || g, 'product ' || g, 10, 1 FROM generate_series(1, 3) g",
    )
    .await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(answer)
        .mount(&receiver)
        .await;
    (app, receiver)
}

async fn add_hook(app: &TestApp, receiver: &MockServer, secret: Option<&str>) {
    let added = admin(
        app,
        Method::POST,
        "/admin/destinations",
        Some(
            json!({"name": "crm", "url": format!("{}/hook", receiver.uri()),
                    "events": ["product.*"], "secret": secret}),
        ),
    )
    .await;
    assert_eq!(
        added.status().as_u16(),
        201,
        "{}",
        added.text().await.unwrap()
    );
}

async fn hooks(receiver: &MockServer) -> Vec<Request> {
    receiver
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/hook")
        .collect()
}

async fn crm(app: &TestApp) -> Value {
    let listed: Value = admin(app, Method::GET, "/admin/destinations", None)
        .await
        .json()
        .await
        .unwrap();
    listed["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "crm")
        .cloned()
        .unwrap()
}

fn verifies(secret: &str, request: &Request) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&request.body, &request.headers)
        .is_ok()
}

#[tokio::test]
async fn webhooks_are_signed_the_standard_way_with_the_event_id_kept_across_retries() {
    let (app, receiver) = shop_and_receiver(ResponseTemplate::new(204)).await;
    receiver.reset().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    add_hook(&app, &receiver, Some(SECRET)).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "delivered after a retry",
        || async {
            count(
                &app.pool,
                "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
            )
            .await
                == 1
        },
    )
    .await;
    let requests = hooks(&receiver).await;
    assert_eq!(requests.len(), 2, "a failure, then the retry");
    let event_id: i64 = sqlx::query_scalar("SELECT id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for request in &requests {
        assert!(
            verifies(SECRET, request),
            "verified by the reference library"
        );
        assert!(!verifies(NEXT_SECRET, request));
        assert_eq!(request.headers["webhook-id"], event_id.to_string().as_str());
        assert!(request.headers.get("x-shopbridge-signature").is_none());
    }
    let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["name"], "product.stock_changed");
    assert_eq!(body["payload"]["stock_quantity"], 5);
}

#[tokio::test]
async fn while_a_secret_rotates_every_secret_signs() {
    let (app, receiver) = shop_and_receiver(ResponseTemplate::new(204)).await;
    add_hook(&app, &receiver, Some(SECRET)).await;
    let changed = admin(
        &app,
        Method::PATCH,
        "/admin/destinations/crm",
        Some(json!({"secrets": [NEXT_SECRET, SECRET]})),
    )
    .await;
    assert_eq!(changed.status().as_u16(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert!(
        !changed.to_string().contains("whsec_"),
        "secrets are never shown"
    );
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "one webhook", || async {
        hooks(&receiver).await.len() == 1
    })
    .await;
    let request = &hooks(&receiver).await[0];
    let signatures = request.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(
        verifies(SECRET, request),
        "a receiver on the old secret verifies"
    );
    assert!(
        verifies(NEXT_SECRET, request),
        "a receiver on the new secret verifies"
    );
}

#[tokio::test]
async fn a_secret_given_before_standard_webhooks_still_signs_the_old_header() {
    let (app, receiver) = shop_and_receiver(ResponseTemplate::new(204)).await;
    add_hook(&app, &receiver, Some("plain old secret")).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "one webhook", || async {
        hooks(&receiver).await.len() == 1
    })
    .await;
    let request = &hooks(&receiver).await[0];
    assert_eq!(
        request.headers["x-shopbridge-signature"],
        shopbridge::outbound::signature::legacy_signature("plain old secret", &request.body)
            .as_str()
    );
    let as_standard = format!(
        "whsec_{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "plain old secret"
        )
    );
    assert!(
        verifies(&as_standard, request),
        "and the standard headers, with its bytes"
    );
}

#[tokio::test]
async fn a_receiver_asking_to_wait_is_not_sent_anything_before_its_retry_after() {
    let (app, receiver) = shop_and_receiver(ResponseTemplate::new(204)).await;
    receiver.reset().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    add_hook(&app, &receiver, None).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "the 429", || async {
        hooks(&receiver).await.len() == 1
    })
    .await;
    let refused_at = Instant::now();
    // Another entity's event: the destination as a whole waits, not only the refused one.
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 2",
    )
    .await;
    eventually(Duration::from_secs(10), "both delivered", || async {
        hooks(&receiver).await.len() == 3
    })
    .await;
    assert!(
        refused_at.elapsed() >= Duration::from_millis(1900),
        "sent again after {:?}",
        refused_at.elapsed()
    );
}

#[tokio::test]
async fn a_receiver_refusing_the_credentials_holds_the_destination_until_it_is_changed() {
    let (app, receiver) = shop_and_receiver(ResponseTemplate::new(401)).await;
    add_hook(&app, &receiver, Some(SECRET)).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "held", || async {
        crm(&app).await["held"] == true
    })
    .await;
    let status = crm(&app).await;
    assert!(
        status["holdReason"].as_str().unwrap().contains("401"),
        "{status}"
    );
    assert_eq!(status["pending"], 1);
    assert_eq!(status["failed"], 0);
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 6 WHERE id = 1",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hooks(&receiver).await.len(),
        1,
        "nothing more is sent while held"
    );

    receiver.reset().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let changed = admin(
        &app,
        Method::PATCH,
        "/admin/destinations/crm",
        Some(json!({"secrets": [NEXT_SECRET]})),
    )
    .await;
    assert_eq!(changed.status().as_u16(), 200);
    eventually(Duration::from_secs(10), "both delivered", || async {
        hooks(&receiver).await.len() == 2
    })
    .await;
    let stocks: Vec<i64> = hooks(&receiver)
        .await
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["payload"]["stock_quantity"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(stocks, [5, 6], "in commit order");
    let status = crm(&app).await;
    assert_eq!(
        (status["held"].clone(), status["holdReason"].clone()),
        (json!(false), Value::Null)
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_holds_the_destination() {
    let (app, receiver) =
        shop_and_receiver(ResponseTemplate::new(307).insert_header("Location", "/elsewhere")).await;
    add_hook(&app, &receiver, None).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 5 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "held", || async {
        crm(&app).await["held"] == true
    })
    .await;
    let paths: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/hook"]);
    let released = admin(&app, Method::POST, "/admin/destinations/crm/release", None).await;
    assert_eq!(released.status().as_u16(), 200);
    let unknown = admin(
        &app,
        Method::POST,
        "/admin/destinations/nobody/release",
        None,
    )
    .await;
    assert_error(unknown, 404, "NOT_FOUND").await;
}

/// A resolver the test controls: each name to the addresses set for it.
#[derive(Default)]
struct FakeDns(Mutex<HashMap<String, Vec<IpAddr>>>);

impl FakeDns {
    fn set(&self, name: &str, address: &str) {
        self.0
            .lock()
            .unwrap()
            .insert(name.into(), vec![address.parse().unwrap()]);
    }
}

impl Lookup for FakeDns {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let found = self.0.lock().unwrap().get(&host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
        })
    }
}

#[tokio::test]
async fn a_url_that_leads_inside_is_refused_when_added() {
    let dns = Arc::new(FakeDns::default());
    dns.set("intranet.partner.test", "10.1.2.3");
    dns.set("public.partner.test", "93.184.216.34");
    let app = spawn_app_resolving(fresh_database().await, |_| {}, dns).await;
    for url in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.2:8080/hook",
        "http://0x7f000002/hook",
        "https://intranet.partner.test/hook",
    ] {
        let added = admin(
            &app,
            Method::POST,
            "/admin/destinations",
            Some(json!({"name": "crm", "url": url, "events": ["*"]})),
        )
        .await;
        let message = assert_error(added, 400, "BAD_REQUEST").await;
        assert!(message.starts_with("url: "), "{url}: {message}");
        assert!(message.contains("OUTBOUND_ALLOWLIST"), "{url}: {message}");
    }
    let added = admin(
        &app,
        Method::POST,
        "/admin/destinations",
        Some(json!({"name": "crm", "url": "https://public.partner.test/hook", "events": ["*"]})),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
}

#[tokio::test]
async fn a_name_that_resolves_inside_after_it_was_added_is_refused_at_send_time() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let port = receiver.address().port();
    let dns = Arc::new(FakeDns::default());
    dns.set("hooks.partner.test", "93.184.216.34");
    // Nothing on loopback is opened to webhooks here.
    let app = spawn_app_resolving(
        fresh_database().await,
        |s| s.outbound.allowlist = Allowlist::default(),
        dns.clone(),
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'P1', 'p', 10, 1)",
    )
    .await;
    let added = admin(
        &app,
        Method::POST,
        "/admin/destinations",
        Some(
            json!({"name": "crm", "url": format!("http://hooks.partner.test:{port}/hook"),
                    "events": ["product.*"]}),
        ),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    dns.set("hooks.partner.test", "127.0.0.1");
    exec(&app.pool, "UPDATE products SET stock_quantity = 5").await;
    eventually(Duration::from_secs(10), "held", || async {
        crm(&app).await["held"] == true
    })
    .await;
    let reason = crm(&app).await["holdReason"].as_str().unwrap().to_owned();
    assert!(reason.contains("127.0.0.1"), "{reason}");
    assert!(
        hooks(&receiver).await.is_empty(),
        "nothing reached the address inside"
    );

    // The same name, opened by the operator: the event goes out.
    let dns = Arc::new(FakeDns::default());
    dns.set("hooks.partner.test", "127.0.0.1");
    let allowed = spawn_app_resolving(
        fresh_database().await,
        |s| s.outbound.allowlist = Allowlist::parse("hooks.partner.test").unwrap(),
        dns,
    )
    .await;
    exec(
        &allowed.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'P1', 'p', 10, 1)",
    )
    .await;
    let added = admin(
        &allowed,
        Method::POST,
        "/admin/destinations",
        Some(
            json!({"name": "crm", "url": format!("http://hooks.partner.test:{port}/hook"),
                    "events": ["product.*"]}),
        ),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    exec(&allowed.pool, "UPDATE products SET stock_quantity = 5").await;
    eventually(Duration::from_secs(10), "delivered", || async {
        hooks(&receiver).await.len() == 1
    })
    .await;
}
