//! Web Push: the shop's VAPID public key, served without authentication and the same in
//! every process, and subscriptions checked at the door.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::admin;
use crate::events::count;
use crate::helpers::{assert_error, fresh_database, spawn_app, spawn_app_on, TestApp};

/// The browser key and auth secret of RFC 8291's example.
pub const P256DH: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
pub const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

async fn save(app: &TestApp, body: &Value) -> reqwest::Response {
    admin(
        app.client
            .post(app.url("/api/integrations/save-vapid-subscription")),
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

async fn public_key(app: &TestApp) -> String {
    let response = app.get("/api/integrations/vapid-public-key").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    body["data"]["publicKey"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_seed_example_saves_a_subscription_and_the_same_endpoint_updates_it() {
    let app = spawn_app().await;
    let seed = json!({
        "endpoint": "https://fcm.googleapis.com/fcm/send/...",
        "keys": {"p256dh": P256DH, "auth": AUTH}
    });
    let response = save(&app, &seed).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    sqlx::query("INSERT INTO customers (id, email) VALUES (42, 'ann@example.com')")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut again = seed.clone();
    again["customerId"] = json!(42);
    again["customerEmail"] = json!("ann@example.com");
    let response = save(&app, &again).await;
    assert_eq!(response.status().as_u16(), 200);
    let rows: Vec<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT customer_id, customer_email FROM push_subscriptions")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows, [(Some(42), Some("ann@example.com".to_owned()))]);
    let auth_sealed = count(
        &app.pool,
        "SELECT count(*) FROM secrets WHERE owner LIKE 'push_subscription/%'",
    )
    .await;
    assert_eq!(auth_sealed, 1);
}

#[tokio::test]
async fn subscriptions_that_cannot_be_pushed_to_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let valid = json!({"endpoint": "https://push.example.com/send/1", "keys": {"p256dh": P256DH, "auth": AUTH}});
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = valid.clone();
        change(&mut body);
        body
    };
    let mut off_curve = URL_SAFE_NO_PAD.decode(P256DH).unwrap();
    off_curve[64] ^= 1;
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|b| b["endpoint"] = json!("http://push.example.com/send/1")),
            "endpoint",
        ),
        (
            with(&|b| b["endpoint"] = json!("https://10.0.0.7/send/1")),
            "endpoint",
        ),
        (
            with(&|b| b["endpoint"] = json!("https://169.254.169.254/latest")),
            "endpoint",
        ),
        (with(&|b| b["endpoint"] = json!("not a url")), "endpoint"),
        (
            with(&|b| b["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode(&off_curve))),
            "keys.p256dh",
        ),
        (
            with(&|b| b["keys"]["p256dh"] = json!("public-key-string")),
            "keys.p256dh",
        ),
        (
            with(&|b| b["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 33]))),
            "keys.p256dh",
        ),
        (
            with(&|b| b["keys"]["auth"] = json!(URL_SAFE_NO_PAD.encode([1u8; 15]))),
            "keys.auth",
        ),
        (
            with(&|b| b["keys"]["auth"] = json!("auth-secret-string")),
            "keys.auth",
        ),
        (with(&|b| b["customerId"] = json!(999_999)), "customerId"),
        (
            with(&|b| b["customerEmail"] = json!("not an email")),
            "customerEmail",
        ),
    ];
    for (body, field) in cases {
        let message = assert_error(save(&app, &body).await, 400, "BAD_REQUEST").await;
        assert!(message.starts_with(field), "{field}: {message}");
    }
    let missing_keys = json!({"endpoint": "https://push.example.com/send/1"});
    assert_error(save(&app, &missing_keys).await, 400, "BAD_REQUEST").await;
    let saved = count(&app.pool, "SELECT count(*) FROM push_subscriptions").await;
    assert_eq!(saved, 0);
}

#[tokio::test]
async fn the_vapid_public_key_is_made_once_served_openly_and_the_same_everywhere() {
    let db = fresh_database().await;
    let first = spawn_app_on(db.clone(), |_| {}).await;
    let second = spawn_app_on(db, |_| {}).await;
    let key = public_key(&first).await;
    assert_eq!(public_key(&second).await, key);
    let point = URL_SAFE_NO_PAD.decode(&key).unwrap();
    assert_eq!(point.len(), 65);
    assert!(p256::PublicKey::from_sec1_bytes(&point).is_ok());
    let private = count(
        &first.pool,
        "SELECT count(*) FROM secrets WHERE owner = 'vapid'",
    )
    .await;
    assert_eq!(private, 1, "the private key is sealed");
}
