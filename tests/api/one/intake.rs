//! `POST /one/webhooks`: credentials, bad bodies, the naming variants of each kind, tests,
//! unrecognised payloads, and the shop event each real event becomes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{post, post_as, stored};
use crate::events::eventually;
use crate::helpers::{assert_error, spawn_app, OLD_ONE_CREDENTIALS, ONE_CREDENTIALS};
use crate::waymore::admin;

#[tokio::test]
async fn every_configured_pair_is_accepted_and_anything_else_is_challenged() {
    let app = spawn_app().await;
    let body = json!({"event": "Client logged", "customerId": "c-1"}).to_string();
    for credentials in [ONE_CREDENTIALS, OLD_ONE_CREDENTIALS] {
        let response = post_as(&app, Some(credentials), body.clone()).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    let refused = [
        Some((ONE_CREDENTIALS.0, "wrong password")),
        Some(("someone-else", ONE_CREDENTIALS.1)),
        Some(("admin", "admin")),
        None,
    ];
    for credentials in refused {
        let response = post_as(&app, credentials, body.clone()).await;
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            r#"Basic realm="shopbridge ONe", charset="UTF-8""#,
            "a browser or ONe is asked for Basic credentials"
        );
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    assert_eq!(stored(&app).await, 2, "refused requests store nothing");
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    for body in [
        "{\"event\": ",
        "[1, 2]",
        "\"Cart opened\"",
        "",
        "{} trailing",
    ] {
        let response = post_as(&app, Some(ONE_CREDENTIALS), body).await;
        let message = assert_error(response, 400, "BAD_REQUEST").await;
        assert!(message.contains("JSON"), "{body:?}: {message}");
    }
    // The test app accepts bodies up to 64 KiB.
    let oversize = json!({"event": "Cart opened", "pad": "x".repeat(70 * 1024)}).to_string();
    let response = post_as(&app, Some(ONE_CREDENTIALS), oversize).await;
    assert_error(response, 413, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(stored(&app).await, 0);
}

#[tokio::test]
async fn each_kind_lands_with_its_ids_whatever_the_naming_variant() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"event": "Cart opened", "customerId": "C-100", "cartId": "K-7"}),
            ("cart_opened", "C-100", Some("K-7"), None),
        ),
        (
            json!({"eventType": "CART_OPENED", "data": {"customer_id": 101, "cart": {"id": 8}}}),
            ("cart_opened", "101", Some("8"), None),
        ),
        (
            json!({"event": "Client logged", "clientId": "C-102"}),
            ("client_logged", "C-102", None, None),
        ),
        (
            json!({"type": "CLIENT_LOGGED", "payload": {"customer": {"id": "C-103"}}}),
            ("client_logged", "C-103", None, None),
        ),
        (
            json!({"callingEvent": "OfferOpened BO", "customerId": "C-104", "offerId": "O-1"}),
            ("offer_opened", "C-104", None, Some("O-1")),
        ),
        (
            json!({"event_name": "offer.opened", "CUSTOMER_ID": "C-105", "offer": {"id": 2}}),
            ("offer_opened", "C-105", None, Some("2")),
        ),
    ];
    for (payload, (kind, customer, cart, offer)) in cases {
        let answer = post(&app, payload.clone()).await;
        assert_eq!(answer["kind"], kind, "{payload}");
        assert_eq!(answer["problem"], Value::Null, "{payload}");
        let row: (String, String, Option<String>, Option<String>, Value) = sqlx::query_as(
            "SELECT kind, customer_id, cart_id, offer_id, payload FROM one_events WHERE id = $1",
        )
        .bind(answer["id"].as_i64().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            (row.0.as_str(), row.1.as_str()),
            (kind, customer),
            "{payload}"
        );
        assert_eq!((row.2.as_deref(), row.3.as_deref()), (cart, offer));
        assert_eq!(row.4, payload, "stored whole, as received");
    }
}

#[tokio::test]
async fn a_test_event_is_answered_stored_as_a_test_and_not_acted_on() {
    let app = spawn_app().await;
    add_webhook(&app, "http://127.0.0.1:9/hook").await;
    let answer = post(&app, json!({"event": "TEST_WEBHOOK", "message": "hello"})).await;
    assert_eq!(answer["test"], true);
    assert_eq!(answer["problem"], "no customer id");
    let flagged = post(
        &app,
        json!({"event": "Cart opened", "test": true, "customerId": "c-1", "cartId": "k-1"}),
    )
    .await;
    assert_eq!(
        (&flagged["kind"], &flagged["test"]),
        (&json!("cart_opened"), &json!(true))
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE source = 'one'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 0, "tests never reach workflows");
}

#[tokio::test]
async fn an_unrecognised_payload_is_stored_and_flagged() {
    let app = spawn_app().await;
    let answer = post(&app, json!({"hello": "world", "userId": 5})).await;
    assert_eq!(answer["kind"], Value::Null);
    assert_eq!(answer["problem"], "no recognised event kind");
    let flagged: (Option<String>, Option<String>, String) =
        sqlx::query_as("SELECT kind, customer_id, problem FROM one_events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        flagged,
        (None, Some("5".into()), "no recognised event kind".into())
    );
}

#[tokio::test]
async fn a_cart_opened_enters_the_event_log_and_reaches_a_destination_that_takes_it() {
    let app = spawn_app().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    add_webhook(&app, &format!("{}/hook", hook.uri())).await;
    let payload = json!({"eventType": "CART_OPENED", "customerId": "C-9", "cartId": "K-9"});
    let answer = post(&app, payload.clone()).await;
    post(&app, json!({"event": "Client logged", "customerId": "C-9"})).await;
    eventually(
        Duration::from_secs(10),
        "the webhook got 2 events",
        || async { hook.received_requests().await.unwrap().len() >= 2 },
    )
    .await;
    let requests = hook.received_requests().await.unwrap();
    let delivered: Vec<Value> = requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(delivered[0]["name"], "customer.cart_opened");
    assert_eq!(
        delivered[1]["name"], "customer.logged_in",
        "in the order received"
    );
    assert_eq!(delivered[0]["entity"]["type"], "customer");
    assert_eq!(delivered[0]["entity"]["id"], "C-9");
    let event = &delivered[0]["payload"];
    assert_eq!(
        (&event["customerId"], &event["cartId"]),
        (&json!("C-9"), &json!("K-9"))
    );
    assert_eq!(event["oneEventId"], answer["id"]);
    assert_eq!(event["raw"], payload);
    let waymore_takes: bool = sqlx::query_scalar(
        "SELECT destination_takes(events, 'customer.cart_opened') FROM destinations
         WHERE name = 'waymore'",
    )
    .fetch_optional(&app.pool)
    .await
    .unwrap()
    .unwrap_or(false);
    assert!(!waymore_takes, "Waymore does not receive ONe's events");
}

#[tokio::test]
async fn without_a_destination_that_wants_them_no_shop_event_is_recorded() {
    let app = spawn_app().await;
    post(
        &app,
        json!({"event": "Cart opened", "customerId": "C-1", "cartId": "K-1"}),
    )
    .await;
    let (stored, events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM one_events WHERE event_id IS NULL),
                (SELECT count(*) FROM events)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((stored, events), (1, 0));
}

async fn add_webhook(app: &crate::helpers::TestApp, url: &str) {
    let added = admin(
        app,
        Method::POST,
        "/admin/destinations",
        Some(json!({"name": "crm", "url": url, "events": ["customer.*"]})),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
}

#[tokio::test]
async fn a_payload_holding_nul_characters_is_stored_exactly_as_received() {
    let app = spawn_app().await;
    add_webhook(&app, "http://127.0.0.1:9/hook").await;
    let body = r#"{"event": "Cart opened", "customerId": "C\u0000-1", "odd\u0000key": 1,
                   "note": "a \\u0000 b"}"#;
    let response = post_as(&app, Some(ONE_CREDENTIALS), body).await;
    assert_eq!(response.status().as_u16(), 200, "any JSON object is stored");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["kind"], "cart_opened");
    let (kept, customer, raw): (String, String, Value) = sqlx::query_as(
        "SELECT o.body, o.customer_id, e.payload -> 'raw'
         FROM one_events o JOIN events e ON e.id = o.event_id WHERE o.id = $1",
    )
    .bind(answer["id"].as_i64().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, body, "the body as received");
    assert_eq!(
        customer, "C\u{fffd}-1",
        "where text cannot hold a NUL, U+FFFD stands"
    );
    assert_eq!(raw["odd\u{fffd}key"], 1);
    assert_eq!(raw["note"], "a \\u0000 b", "an escaped backslash is text");
    let listed: Value = super::get(&app, "/one/events.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["events"][0]["payload"]["odd\u{0}key"], 1,
        "listed as received"
    );
}

#[tokio::test]
async fn numbers_are_kept_to_the_last_digit_and_the_page_still_reads_them() {
    let app = spawn_app().await;
    let body = r#"{"event": "Client logged", "customerId": "C-1",
                   "big": 123456789012345678901234567890, "huge": 1.7976931348623157e308}"#;
    let response = post_as(&app, Some(ONE_CREDENTIALS), body).await;
    assert_eq!(response.status().as_u16(), 200);
    let listed = super::get(&app, "/one/events.json").await;
    assert_eq!(listed.status().as_u16(), 200);
    let text = listed.text().await.unwrap();
    assert!(text.contains("123456789012345678901234567890"), "{text}");
    let page = super::get(&app, "/one/events").await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("123456789012345678901234567890"));
}
