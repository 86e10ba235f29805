//! A configuration takes effect in every serve process within a second: a second process
//! on the same database verifies Shopify webhooks with the secret configured through the
//! first, answers 503 with Retry-After while it is disabled, and refuses them once it is
//! removed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{admin_get, configured, remove, ONE, RFMCUBE, SHOPIFY, WAYMORE, WEBHOOK};
use crate::events::{count, exec};
use crate::helpers::{
    assert_error, fresh_database, spawn_app_on, TestApp, API_KEY, ONE_CREDENTIALS,
};
use crate::shopify::{order, post_raw, sign, SHOP_DOMAIN};
use shopbridge::configuration::Settings;

const SECRET: &str = "shpss_configured_through_the_api";

/// No environment secrets: only what the API configures counts.
fn no_bootstrap(settings: &mut Settings) {
    settings.shopify.secrets = Default::default();
    settings.one.credentials = Default::default();
    settings.rfmcube.api_keys = Default::default();
}

async fn two_processes() -> (TestApp, TestApp) {
    let db = fresh_database().await;
    let first = spawn_app_on(db.clone(), no_bootstrap).await;
    let second = spawn_app_on(db, no_bootstrap).await;
    (first, second)
}

/// A webhook signed with `secret`, sent to `app`: its status.
async fn webhook(app: &TestApp, secret: &str, id: &str) -> reqwest::Response {
    let body = order();
    let headers = vec![
        ("X-Shopify-Topic", Some("orders/create".to_owned())),
        ("X-Shopify-Hmac-Sha256", Some(sign(secret, body.as_bytes()))),
        ("X-Shopify-Shop-Domain", Some(SHOP_DOMAIN.to_owned())),
        ("X-Shopify-Webhook-Id", Some(id.to_owned())),
    ];
    post_raw(app, "/shopify/webhooks/orders", &headers, body).await
}

/// How long until `app` answers a webhook with `status`; fails after a second.
async fn within_a_second(app: &TestApp, status: u16, what: &str) -> Duration {
    let started = Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        let answer = webhook(app, SECRET, &format!("{what}-{n}"))
            .await
            .status()
            .as_u16();
        let took = started.elapsed();
        if answer == status {
            return took;
        }
        assert!(
            took < Duration::from_secs(1),
            "{what}: still {answer} after {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_shopify_secret_configured_in_one_process_verifies_webhooks_in_another_within_a_second() {
    let (first, second) = two_processes().await;
    assert_error(
        webhook(&second, SECRET, "before").await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    let guid = configured(
        &first,
        &json!({
            "providerId": SHOPIFY,
            "providerType": "ecommerce",
            "credentials": {"apiSecret": SECRET, "storeUrl": "https://shop.example.com"},
        }),
    )
    .await;
    within_a_second(&second, 200, "configured").await;
    assert_error(
        webhook(&second, "another-secret", "forged").await,
        401,
        "UNAUTHORIZED",
    )
    .await;

    let disable = admin_get(
        &first,
        &format!("/api/integrations/provider/disable/{guid}"),
    )
    .await;
    assert_eq!(disable.status().as_u16(), 200);
    within_a_second(&second, 503, "disabled").await;
    let refused = webhook(&second, SECRET, "while-disabled").await;
    assert_eq!(refused.headers()["retry-after"], "60");
    let message = assert_error(refused, 503, "CONFIGURATION_ERROR").await;
    assert!(message.contains("disabled"), "{message}");

    let enable = admin_get(&first, &format!("/api/integrations/provider/enable/{guid}")).await;
    assert_eq!(enable.status().as_u16(), 200);
    within_a_second(&second, 200, "enabled").await;

    assert_eq!(remove(&first, &guid).await.status().as_u16(), 200);
    within_a_second(&second, 401, "removed").await;
    let stored = count(
        &first.pool,
        "SELECT count(*) FROM shopify_webhooks WHERE webhook_id LIKE 'while-disabled%'",
    )
    .await;
    assert_eq!(stored, 0, "a refused webhook is not stored");
    let secrets = count(
        &first.pool,
        "SELECT count(*) FROM secrets WHERE owner LIKE 'integration/%'",
    )
    .await;
    assert_eq!(secrets, 0, "the credentials are erased");
}

#[tokio::test]
async fn one_and_rfmcube_credentials_configured_at_run_time_open_their_endpoints() {
    let (first, second) = two_processes().await;
    let one = |app: &TestApp| {
        app.client
            .post(app.url("/one/webhooks"))
            .basic_auth(ONE_CREDENTIALS.0, Some(ONE_CREDENTIALS.1))
            .json(&json!({"event": "Cart opened"}))
            .send()
    };
    let rfmcube = |app: &TestApp| {
        app.client
            .get(app.url("/rfmcube/customers"))
            .header("api-key", API_KEY)
            .send()
    };
    assert_eq!(one(&second).await.unwrap().status().as_u16(), 401);
    assert_eq!(rfmcube(&second).await.unwrap().status().as_u16(), 401);
    let one_guid = configured(
        &first,
        &json!({"providerId": ONE, "credentials": {"username": ONE_CREDENTIALS.0, "password": ONE_CREDENTIALS.1}}),
    )
    .await;
    configured(
        &first,
        &json!({"providerId": RFMCUBE, "providerType": "analytics", "credentials": {"apiKeys": [API_KEY]}}),
    )
    .await;
    let started = Instant::now();
    while one(&second).await.unwrap().status() != 200
        || rfmcube(&second).await.unwrap().status() != 200
    {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not in effect within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    admin_get(
        &first,
        &format!("/api/integrations/provider/disable/{one_guid}"),
    )
    .await;
    let started = Instant::now();
    loop {
        let answer = one(&second).await.unwrap();
        if answer.status() == 503 {
            assert!(answer.headers().contains_key("retry-after"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not disabled within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_disabled_webhook_integration_holds_its_deliveries_and_sends_them_in_order_when_enabled()
{
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    let app = spawn_app_on(fresh_database().await, |_| {}).await;
    let guid = configured(
        &app,
        &json!({
            "providerId": WEBHOOK,
            "providerType": "webhook",
            "credentials": {"url": format!("{}/hook", sink.uri()), "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
            "settings": {"events": ["customer.*"]}
        }),
    )
    .await;
    admin_get(&app, &format!("/api/integrations/provider/disable/{guid}")).await;
    // One customer's events: one ordering key, so the order they arrive in is promised.
    exec(
        &app.pool,
        "INSERT INTO customers (email) VALUES ('c@example.com')",
    )
    .await;
    for name in ["Ada", "Grace"] {
        exec(
            &app.pool,
            &format!("UPDATE customers SET firstname = '{name}'"),
        )
        .await;
    }
    assert!(
        sink.received_requests().await.unwrap().is_empty(),
        "held while disabled"
    );
    let destinations: Value = admin_get(&app, "/admin/destinations")
        .await
        .json()
        .await
        .unwrap();
    let held = destinations["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "webhook")
        .unwrap();
    assert_eq!(held["held"], true);
    assert_eq!(held["pending"], 3);

    admin_get(&app, &format!("/api/integrations/provider/enable/{guid}")).await;
    crate::events::eventually(
        Duration::from_secs(5),
        "the held deliveries sent",
        || async { sink.received_requests().await.unwrap().len() == 3 },
    )
    .await;
    let requests = sink.received_requests().await.unwrap();
    let ids: Vec<i64> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert!(requests
        .iter()
        .all(|r| r.headers.contains_key("webhook-signature")));

    assert_eq!(remove(&app, &guid).await.status().as_u16(), 200);
    let left = count(
        &app.pool,
        "SELECT count(*) FROM destinations WHERE kind = 'webhook'",
    )
    .await;
    assert_eq!(left, 0, "the integration's destination goes with it");
}

#[tokio::test]
async fn waymore_configured_here_connects_keeps_no_password_and_uninstalls_when_removed() {
    use crate::waymore::{app_with, export_finished, FakeWaymore, UUID};
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    let password = "routee-Pa55-never-kept";
    let guid = configured(
        &app,
        &json!({"providerId": WAYMORE, "providerType": "marketing", "credentials": {"username": "owner@shop.test", "password": password}}),
    )
    .await;
    assert_eq!(fake.auth_requests().await[0]["password"], password);
    let status = export_finished(&app).await;
    assert_eq!(
        status["export"]["state"], "completed",
        "the export started by itself"
    );
    let listed: Value = admin_get(&app, "/api/integrations")
        .await
        .json()
        .await
        .unwrap();
    let waymore = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["provider"] == "waymore")
        .unwrap();
    assert_eq!(waymore["guid"], guid.as_str());
    assert_eq!(
        waymore["credentials"],
        json!({"username": "owner@shop.test"})
    );
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM secrets WHERE owner = $1")
        .bind(format!("integration/{guid}"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let opened = crate::helpers::test_vault()
        .open(&format!("integration/{guid}"), "credentials", &sealed)
        .unwrap();
    assert_eq!(opened, b"{}", "the password is not kept");
    let again = super::configure(
        &app,
        &json!({"providerId": WAYMORE, "credentials": {"username": "other@shop.test", "password": "x"}}),
    )
    .await;
    assert_error(again, 409, "CONFLICT").await;

    assert_eq!(remove(&app, &guid).await.status().as_u16(), 200);
    assert_eq!(
        fake.events.acknowledged(),
        vec![json!({"event": "Uninstall", "uuid": UUID, "data": {}})]
    );
    let connected = count(&app.pool, "SELECT count(*) FROM waymore_connection").await;
    assert_eq!(connected, 0);
}

#[tokio::test]
async fn an_integration_whose_partner_refuses_its_configuration_says_why_in_the_listing() {
    let sink = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(401))
        .mount(&sink)
        .await;
    let app = spawn_app_on(fresh_database().await, |_| {}).await;
    let guid = configured(
        &app,
        &json!({"providerId": WEBHOOK, "credentials": {"url": format!("{}/hook", sink.uri())}}),
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO customers (email) VALUES ('ann@example.com')",
    )
    .await;
    let listed = || async {
        let body: Value = admin_get(&app, "/api/integrations")
            .await
            .json()
            .await
            .unwrap();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["guid"] == guid.as_str())
            .cloned()
            .unwrap()
    };
    crate::events::eventually(Duration::from_secs(5), "the refusal listed", || async {
        listed().await["problem"]
            .as_str()
            .is_some_and(|p| p.contains("401"))
    })
    .await;
    assert_eq!(listed().await["status"], "active");
    admin_get(&app, &format!("/api/integrations/provider/disable/{guid}")).await;
    let disabled = listed().await;
    assert_eq!(disabled["status"], "disabled");
    assert!(
        disabled["problem"]
            .as_str()
            .is_some_and(|p| p.contains("401")),
        "{disabled}"
    );
}

#[tokio::test]
async fn products_link_to_the_store_url_configured_here() {
    let app = spawn_app_on(fresh_database().await, no_bootstrap).await;
    configured(
        &app,
        &json!({"providerId": SHOPIFY, "credentials": {"apiSecret": SECRET, "storeUrl": "https://store.example.com/"},
                "settings": {"syncProducts": true}}),
    )
    .await;
    let body = crate::shopify::product();
    let headers = vec![
        ("X-Shopify-Topic", Some("products/create".to_owned())),
        ("X-Shopify-Hmac-Sha256", Some(sign(SECRET, body.as_bytes()))),
        ("X-Shopify-Shop-Domain", Some(SHOP_DOMAIN.to_owned())),
        ("X-Shopify-Webhook-Id", Some("w-product".to_owned())),
    ];
    let answer = post_raw(&app, "/shopify/webhooks/products", &headers, body).await;
    assert_eq!(answer.status().as_u16(), 200);
    crate::shopify::settled(&app).await;
    let url: String =
        sqlx::query_scalar("SELECT url FROM products WHERE shopify_id = 788032119674292922")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(url, "https://store.example.com/products/example-t-shirt");
}

#[tokio::test]
async fn a_change_made_while_a_process_had_lost_its_listen_connection_reaches_it_when_it_is_back() {
    let (first, second) = two_processes().await;
    let listening = "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND query = 'LISTEN \"shopbridge_integrations\"'";
    crate::events::eventually(Duration::from_secs(5), "both processes listen", || async {
        count(&first.pool, listening).await == 2
    })
    .await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query = 'LISTEN \"shopbridge_integrations\"'",
    )
    .execute(&first.pool)
    .await
    .unwrap();
    configured(
        &first,
        &json!({"providerId": SHOPIFY, "credentials": {"apiSecret": SECRET, "storeUrl": "https://shop.example.com"}}),
    )
    .await;
    within_a_second(&second, 200, "after the reconnection").await;
}
