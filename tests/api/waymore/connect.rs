use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{
    admin, app_with, connect, export_finished, post_connect, status, FakeWaymore, Step, UUID,
};
use crate::helpers::{assert_error, spawn_app, test_vault};
use shopbridge::delivery::destinations;

#[tokio::test]
async fn connect_sends_the_contract_fields_stores_the_uuid_and_starts_the_export() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    let body = connect(&app).await;
    assert_eq!(body["connected"], true);
    assert_eq!(body["uuid"], "8e10…6314");
    assert_eq!(body["signupUrl"], "https://www.routee.net/");
    assert!(body["exportId"].is_i64());

    let sent = fake.auth_requests().await;
    assert_eq!(sent.len(), 1);
    let auth = &sent[0];
    assert_eq!(auth["username"], "owner@shop.test");
    assert_eq!(auth["password"], "s3cret-Pa55");
    assert_eq!(auth["source"], "shopbridge");
    assert_eq!(auth["type"], "E-Commerce");
    assert_eq!(auth["domain"], "shop.test");
    assert!(auth["version"].is_string() && auth["plugin_version"].is_string());

    let hint: String = sqlx::query_scalar("SELECT uuid_hint FROM waymore_connection")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(hint, "8e10…6314");
    // The UUID itself is sealed with the destination's config: readable nowhere else.
    let config = destinations::config(&app.pool, &test_vault(), "waymore")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config["uuid"], UUID);
    let readable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM destinations WHERE config::text LIKE '%' || $1 || '%'",
    )
    .bind(UUID)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(readable, 0);
    let finished = export_finished(&app).await;
    assert_eq!(finished["export"]["state"], "completed");
}

#[tokio::test]
async fn the_password_is_stored_nowhere() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    connect(&app).await;
    export_finished(&app).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
         WHERE table_schema IN ('shopbridge', 'public')",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for table in tables {
        let found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            r#"SELECT count(*) FROM {table} t WHERE t::text LIKE '%s3cret-Pa55%'"#
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(found, 0, "the password is in {table}");
    }
}

async fn fake_refusing(status: u16, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/authenticate"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn refused_credentials_are_a_configuration_error_with_waymore_s_message() {
    for (status, body) in [
        (401, json!({"message": "Invalid username or password"})),
        (200, json!({"message": "Invalid username or password"})),
    ] {
        let server = fake_refusing(status, body).await;
        let fake = FakeWaymore {
            server,
            data: Default::default(),
            events: Default::default(),
        };
        let app = app_with(&fake, 100).await;
        let response = post_connect(&app, json!({"username": "u", "password": "p"})).await;
        let message = assert_error(response, 400, "CONFIGURATION_ERROR").await;
        assert!(
            message.contains("Invalid username or password"),
            "{message}"
        );
        assert!(
            message.contains("https://www.routee.net/"),
            "the sign-up link is shown: {message}"
        );
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM waymore_connection")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(stored, 0);
        let exports: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'waymore.export'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(exports, 0);
    }
}

#[tokio::test]
async fn an_unreachable_waymore_is_an_upstream_error() {
    let app = spawn_app().await;
    let response = post_connect(&app, json!({"username": "u", "password": "p"})).await;
    let message = assert_error(response, 502, "UPSTREAM_ERROR").await;
    assert!(message.contains("https://www.routee.net/"), "{message}");
}

#[tokio::test]
async fn a_second_connect_conflicts() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    connect(&app).await;
    let again = post_connect(&app, json!({"username": "u", "password": "p"})).await;
    assert_error(again, 409, "CONFLICT").await;
    assert_eq!(
        fake.auth_requests().await.len(),
        1,
        "Waymore is not asked again"
    );
}

#[tokio::test]
async fn disconnect_sends_uninstall_then_forgets_the_uuid() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    connect(&app).await;
    export_finished(&app).await;
    let response = admin(&app, Method::DELETE, "/waymore/connect", None).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"connected": false, "signupUrl": "https://www.routee.net/"})
    );

    let events = fake.events.acknowledged();
    assert_eq!(
        events,
        vec![json!({"event": "Uninstall", "uuid": UUID, "data": {}})]
    );
    let requests = fake.server.received_requests().await.unwrap();
    let uninstall = requests
        .iter()
        .find(|r| r.url.path() == "/api/event")
        .unwrap();
    assert!(
        uninstall.headers.get("x-event-id").is_some(),
        "X-Event-Id header"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM waymore_connection")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(status(&app).await["connected"], false);

    let again = admin(&app, Method::DELETE, "/waymore/connect", None).await;
    assert_error(again, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn disconnect_keeps_the_connection_when_waymore_refuses_uninstall() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    connect(&app).await;
    export_finished(&app).await;
    fake.events.script(&[Step::Status(503)]);
    let response = admin(&app, Method::DELETE, "/waymore/connect", None).await;
    assert_error(response, 502, "UPSTREAM_ERROR").await;
    assert_eq!(status(&app).await["connected"], true);
}

#[tokio::test]
async fn status_masks_the_uuid_and_shows_the_export() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    let before = status(&app).await;
    assert_eq!(before["connected"], false);
    assert_eq!(before["signupUrl"], "https://www.routee.net/");
    connect(&app).await;
    let after = export_finished(&app).await;
    assert_eq!(after["uuid"], "8e10…6314");
    assert!(
        !after.to_string().contains(UUID),
        "the whole UUID is never shown"
    );
    let entities: Vec<&str> = after["export"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity"].as_str().unwrap())
        .collect();
    assert_eq!(
        entities,
        ["customers", "subscribers", "products", "wishlist", "orders"]
    );
}

#[tokio::test]
async fn admin_endpoints_refuse_a_missing_or_wrong_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::POST, "/waymore/connect"),
        (Method::DELETE, "/waymore/connect"),
        (Method::GET, "/waymore/status"),
        (Method::POST, "/waymore/export"),
    ] {
        let none = app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(none, 401, "UNAUTHORIZED").await;
        let wrong = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth("guess")
            .send()
            .await
            .unwrap();
        assert_error(wrong, 401, "UNAUTHORIZED").await;
        let basic = app
            .client
            .request(method, app.url(path))
            .basic_auth("admin", Some("x"))
            .send()
            .await
            .unwrap();
        assert_error(basic, 401, "UNAUTHORIZED").await;
    }
}

#[tokio::test]
async fn bad_connect_bodies_are_bad_requests() {
    let app = spawn_app().await;
    for (body, hint) in [
        (json!({}), "username"),
        (json!({"username": "u"}), "password"),
        (json!({"username": "", "password": "p"}), "username"),
        (json!({"username": "u", "password": "   "}), "password"),
        (json!({"username": 5, "password": "p"}), "username"),
        (json!(["u", "p"]), "Invalid request"),
    ] {
        let response = post_connect(&app, body.clone()).await;
        let message = assert_error(response, 400, "BAD_REQUEST").await;
        assert!(message.contains(hint), "{body} → {message}");
    }
}

#[tokio::test]
async fn export_needs_a_connection() {
    let app = spawn_app().await;
    let response = admin(&app, Method::POST, "/waymore/export", None).await;
    let message = assert_error(response, 409, "CONFLICT").await;
    assert!(message.contains("https://www.routee.net/"), "{message}");
}

#[tokio::test]
async fn text_waymore_or_postgresql_cannot_take_is_refused_before_waymore_is_asked() {
    let fake = FakeWaymore::start().await;
    let app = app_with(&fake, 100).await;
    let long = "x".repeat(1025);
    for (body, hint) in [
        (json!({"username": "own\u{0}er", "password": "x"}), "NUL"),
        (json!({"username": "owner", "password": "pa\u{0}ss"}), "NUL"),
        (
            json!({"username": "own\ner", "password": "x"}),
            "username: must not contain control",
        ),
        (
            json!({"username": "owner", "password": long}),
            "password: must be at most 1024",
        ),
    ] {
        let response = post_connect(&app, body.clone()).await;
        let message = assert_error(response, 400, "BAD_REQUEST").await;
        assert!(message.contains(hint), "{body} → {message}");
    }
    assert!(
        fake.auth_requests().await.is_empty(),
        "Waymore was not asked"
    );
    let connected = post_connect(&app, json!({"username": "owner", "password": "x"})).await;
    assert_eq!(
        connected.status().as_u16(),
        202,
        "then a good connect works"
    );
}

#[tokio::test]
async fn a_uuid_that_cannot_be_stored_is_an_upstream_error_and_connect_can_be_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/authenticate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"uuid": "ab\u{0}cd-1234"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/authenticate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"uuid": UUID})))
        .mount(&server)
        .await;
    let app = crate::helpers::spawn_app_on(crate::helpers::fresh_database().await, |s| {
        s.waymore = crate::helpers::waymore_settings(&server.uri());
    })
    .await;
    let body = json!({"username": "owner", "password": "x"});
    let message = assert_error(
        post_connect(&app, body.clone()).await,
        502,
        "UPSTREAM_ERROR",
    )
    .await;
    assert!(message.contains("nothing was stored"), "{message}");
    assert_eq!(post_connect(&app, body).await.status().as_u16(), 202);
}
