//! Secrets at rest: sealed with the service's key, bound to their row, readable after a
//! restart with the same key, refused at start with another, re-sealed by a rotation, and
//! never in the database in plain text.

use std::sync::Arc;

use base64::Engine;
use serde_json::json;

use super::{admin, configured, ONE, RFMCUBE, SHOPIFY, WEBHOOK};
use crate::events::{count, eventually};
use crate::helpers::{fresh_database, spawn_app_on, test_settings, test_vault, TestApp};
use shopbridge::outbound::address::SystemLookup;
use shopbridge::secrets::vault::SecretKey;
use shopbridge::startup::Application;

const SHOPIFY_SECRET: &str = "shpss_never_in_plain_text_1";
const ONE_PASSWORD: &str = "one-password-never-in-plain-text";
const RFMCUBE_KEY: &str = "rfmcube-key-never-in-plain-text";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DESTINATION_SECRET: &str = "legacy-destination-secret-text";
const AUTH: [u8; 16] = *b"sixteen-byte-key";

/// A second key, base64 of 32 bytes.
const OTHER_KEY: &str = "b3RoZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMhISE=";

async fn configure_everything(app: &TestApp) {
    configured(
        app,
        &json!({"providerId": SHOPIFY, "credentials": {"apiSecret": SHOPIFY_SECRET, "storeUrl": "https://shop.example.com"}}),
    )
    .await;
    configured(
        app,
        &json!({"providerId": ONE, "credentials": {"username": "one", "password": ONE_PASSWORD}}),
    )
    .await;
    configured(
        app,
        &json!({"providerId": RFMCUBE, "credentials": {"apiKeys": [RFMCUBE_KEY]}}),
    )
    .await;
    configured(
        app,
        &json!({"providerId": WEBHOOK, "credentials": {"url": "https://crm.example.com/hook", "secret": WEBHOOK_SECRET}}),
    )
    .await;
    let added = admin(app.client.post(app.url("/admin/destinations")))
        .json(&json!({"name": "crm", "url": "https://crm.example.com/other", "events": ["*"], "secret": DESTINATION_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let saved = admin(
        app.client
            .post(app.url("/api/integrations/save-vapid-subscription")),
    )
    .json(&json!({
        "endpoint": "https://push.example.com/send/abc",
        "keys": {"p256dh": super::vapid::P256DH, "auth": b64.encode(AUTH)}
    }))
    .send()
    .await
    .unwrap();
    assert_eq!(saved.status().as_u16(), 201);
    crate::events::connected(&app.pool).await;
}

/// Every row of the database, as `pg_dump --data-only` prints it.
async fn dump(app: &TestApp) -> String {
    let mut pg_dump = shopbridge::db::schema::pg_dump(&app.pool, None).unwrap();
    let output = pg_dump
        .args(["--data-only", "--no-owner"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What ONe's webhook answers `app` with the credentials configured for it.
async fn one_answers(app: &TestApp) -> u16 {
    app.client
        .post(app.url("/one/webhooks"))
        .basic_auth("one", Some(ONE_PASSWORD))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The forms a secret's bytes could take in a dump: as text, hex (bytea) and base64.
fn forms(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        hex,
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        forms.push(text.to_owned());
    }
    forms
}

#[tokio::test]
async fn no_secret_is_in_the_database_in_plain_text() {
    let app = spawn_app_on(fresh_database().await, |_| {}).await;
    configure_everything(&app).await;
    let dump = dump(&app).await;
    assert!(
        dump.contains("COPY shopbridge.secrets"),
        "the dump holds the data"
    );
    let whsec_key = base64::engine::general_purpose::STANDARD
        .decode(WEBHOOK_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    for secret in [
        SHOPIFY_SECRET.as_bytes(),
        ONE_PASSWORD.as_bytes(),
        RFMCUBE_KEY.as_bytes(),
        WEBHOOK_SECRET.as_bytes(),
        &whsec_key,
        DESTINATION_SECRET.as_bytes(),
        &AUTH,
        crate::waymore::UUID.as_bytes(),
        crate::helpers::SECRET_KEY.as_bytes(),
    ] {
        for form in forms(secret) {
            assert!(!dump.contains(&form), "{form} is in the dump");
        }
    }
    let sealed = count(&app.pool, "SELECT count(*) FROM secrets").await;
    assert_eq!(
        sealed, 9,
        "4 integrations, 3 destinations (Waymore's UUID), the VAPID key, 1 subscription"
    );
}

#[tokio::test]
async fn a_sealed_value_copied_into_another_row_does_not_open() {
    let db = fresh_database().await;
    let app = spawn_app_on(db.clone(), |_| {}).await;
    configure_everything(&app).await;
    let (shopify_owner, sealed): (String, Vec<u8>) = sqlx::query_as(
        "SELECT s.owner, s.sealed FROM secrets s JOIN integrations i ON s.owner = 'integration/' || i.id
         WHERE i.provider = 'shopify'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let one_owner: String =
        sqlx::query_scalar("SELECT 'integration/' || id FROM integrations WHERE provider = 'one'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let vault = test_vault();
    assert!(vault.open(&shopify_owner, "credentials", &sealed).is_ok());
    let moved = vault.open(&one_owner, "credentials", &sealed).unwrap_err();
    assert!(
        moved.to_string().contains("copied from another row"),
        "{moved}"
    );

    sqlx::query("UPDATE secrets SET sealed = $1 WHERE owner = $2")
        .bind(&sealed)
        .bind(&one_owner)
        .execute(&app.pool)
        .await
        .unwrap();
    // ONe now holds Shopify's credentials: no process takes them as ONe's.
    let restarted = spawn_app_on(db, |_| {}).await;
    assert_eq!(
        one_answers(&restarted).await,
        503,
        "held as disabled, not opened"
    );
}

#[tokio::test]
async fn a_restart_with_the_same_key_reads_everything_back_and_another_key_stops_the_start() {
    let db = fresh_database().await;
    let app = spawn_app_on(db.clone(), |_| {}).await;
    configure_everything(&app).await;
    let restarted = spawn_app_on(db.clone(), |_| {}).await;
    assert_eq!(
        one_answers(&restarted).await,
        200,
        "the password reads back"
    );

    let mut settings = test_settings(db.clone());
    settings.vault.key = Some(SecretKey::parse(OTHER_KEY).unwrap());
    let pool = sqlx::PgPool::connect_with(db).await.unwrap();
    let error = Application::build_with(&settings, pool, Arc::new(SystemLookup))
        .await
        .err()
        .expect("the start stops")
        .to_string();
    let expected = SecretKey::parse(crate::helpers::SECRET_KEY).unwrap().id();
    assert!(
        error.contains(&format!("sealed under key {expected}")),
        "{error}"
    );
    assert!(error.contains("SHOPBRIDGE_SECRET_KEY_PREVIOUS"), "{error}");
}

#[tokio::test]
async fn a_rotation_reseals_every_secret_under_the_new_key() {
    let db = fresh_database().await;
    let app = spawn_app_on(db.clone(), |_| {}).await;
    configure_everything(&app).await;
    let old = SecretKey::parse(crate::helpers::SECRET_KEY).unwrap();
    let new = SecretKey::parse(OTHER_KEY).unwrap();
    let rotating = spawn_app_on(db.clone(), |s| {
        s.vault.key = Some(new.clone());
        s.vault.previous = Some(old.clone());
    })
    .await;
    eventually(
        std::time::Duration::from_secs(5),
        "every secret re-sealed",
        || async {
            count(
                &rotating.pool,
                &format!(
                "SELECT count(*) FROM secrets WHERE encode(sealed_key_id(sealed), 'hex') <> '{}'",
                new.id()
            ),
            )
            .await
                == 0
        },
    )
    .await;
    let rotated = spawn_app_on(db, |s| s.vault.key = Some(new.clone())).await;
    let answer = rotated
        .client
        .get(rotated.url("/rfmcube/customers"))
        .header("api-key", RFMCUBE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status().as_u16(),
        200,
        "read back under the new key alone"
    );
}

#[tokio::test]
async fn webhook_secrets_kept_readable_before_are_sealed_at_start() {
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    sqlx::query(
        "INSERT INTO destinations (name, kind, events, config)
         VALUES ('old', 'webhook', '{*}', jsonb_build_object('url', 'https://crm.example.com', 'secret', $1::text))",
    )
    .bind(DESTINATION_SECRET)
    .execute(&pool)
    .await
    .unwrap();
    let app = spawn_app_on(db, |_| {}).await;
    let config: serde_json::Value =
        sqlx::query_scalar("SELECT config FROM destinations WHERE name = 'old'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(config, json!({"url": "https://crm.example.com"}));
    let (id, sealed): (i64, Vec<u8>) = sqlx::query_as(
        "SELECT d.id, s.sealed FROM destinations d JOIN secrets s ON s.owner = 'destination/' || d.id
         WHERE d.name = 'old'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let opened = test_vault()
        .open(&format!("destination/{id}"), "config", &sealed)
        .unwrap();
    let opened: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(opened, json!({"secret": DESTINATION_SECRET}));
}

#[tokio::test]
async fn the_uuid_of_a_shop_connected_before_is_sealed_at_start() {
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    // As a shop connected before this version leaves it: the UUID readable in the config.
    sqlx::query(
        "INSERT INTO waymore_connection (uuid_hint, username) VALUES ('8e10…6314', 'owner')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE destinations SET config = config || jsonb_build_object('uuid', $1::text) WHERE name = 'waymore'")
        .bind(crate::waymore::UUID)
        .execute(&pool)
        .await
        .unwrap();
    let app = spawn_app_on(db, |_| {}).await;
    let readable: serde_json::Value =
        sqlx::query_scalar("SELECT config FROM destinations WHERE name = 'waymore'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(readable.get("uuid").is_none(), "{readable}");
    let config = shopbridge::delivery::destinations::config(&app.pool, &test_vault(), "waymore")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config["uuid"], crate::waymore::UUID);
}
