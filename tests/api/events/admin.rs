//! The admin endpoints over the event log: list with filters and keyset pages, one event's
//! attempts, destinations' status; the token and bad input.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::{connected_app, eventually, exec};
use crate::helpers::assert_error;
use crate::waymore::{admin, Step};

#[tokio::test]
async fn events_are_listed_newest_first_with_filters_and_keyset_pages() {
    let (app, fake) = connected_app().await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) SELECT 'q' || g FROM generate_series(1, 5) g;
         UPDATE products SET stock_quantity = 7 WHERE id = 3",
    )
    .await;
    eventually(Duration::from_secs(10), "6 deliveries recorded", || async {
        super::delivered(&app.pool).await == 6
    })
    .await;
    assert_eq!(fake.events.acknowledged().len(), 6);
    let page: Value = admin(
        &app,
        Method::GET,
        "/admin/events?name=search.recorded&limit=2",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events[0]["id"].as_i64() > events[1]["id"].as_i64(),
        "newest first"
    );
    assert_eq!(events[0]["deliveries"][0]["destination"], "waymore");
    assert_eq!(events[0]["deliveries"][0]["state"], "delivered");
    let mut seen = 2;
    let mut before = page["nextBefore"].as_i64().expect("more pages");
    loop {
        let next: Value = admin(
            &app,
            Method::GET,
            &format!("/admin/events?name=search.recorded&limit=2&before={before}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        seen += next["events"].as_array().unwrap().len();
        match next["nextBefore"].as_i64() {
            Some(b) => before = b,
            None => break,
        }
    }
    assert_eq!(seen, 5, "every search once across the pages");
    let product: Value = admin(
        &app,
        Method::GET,
        "/admin/events?entityType=product&entityId=3&destination=waymore&state=delivered",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(product["events"][0]["name"], "product.stock_changed");
    assert_eq!(product["events"].as_array().unwrap().len(), 1);
    let none: Value = admin(&app, Method::GET, "/admin/events?state=failed", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["events"], json!([]));
}

#[tokio::test]
async fn one_event_shows_its_payload_and_every_attempt() {
    let (app, fake) = connected_app().await;
    fake.events.script(&[Step::Status(503)]);
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('shoes')",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "delivered after a retry",
        || async { super::delivered(&app.pool).await == 1 },
    )
    .await;
    assert_eq!(fake.events.acknowledged().len(), 1);
    let id: i64 = sqlx::query_scalar("SELECT id FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let event: Value = admin(&app, Method::GET, &format!("/admin/events/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(event["payload"]["query"], "shoes");
    let attempts: Vec<(bool, Value)> = event["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["delivered"].as_bool().unwrap(), a["status"].clone()))
        .collect();
    assert_eq!(attempts, [(false, json!(503)), (true, json!(200))]);
    let missing = admin(&app, Method::GET, "/admin/events/999999", None).await;
    assert_error(missing, 404, "NOT_FOUND").await;
    let bad = admin(&app, Method::GET, "/admin/events/abc", None).await;
    assert_error(bad, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn destinations_report_counts_and_webhooks_come_and_go() {
    let (app, _fake) = connected_app().await;
    let listed: Value = admin(&app, Method::GET, "/admin/destinations", None)
        .await
        .json()
        .await
        .unwrap();
    let waymore = &listed["destinations"][0];
    assert_eq!(waymore["name"], "waymore");
    assert_eq!(waymore["enabled"], true);
    assert!(waymore.get("config").is_none(), "the account stays private");
    let body = json!({"name": "crm", "url": "http://127.0.0.1:9/hook", "events": ["order.*"], "secret": "s3cret"});
    let added = admin(
        &app,
        Method::POST,
        "/admin/destinations",
        Some(body.clone()),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    let text = added.text().await.unwrap();
    assert!(
        !text.contains("s3cret"),
        "the secret is never returned: {text}"
    );
    let again = admin(&app, Method::POST, "/admin/destinations", Some(body)).await;
    assert_error(again, 409, "CONFLICT").await;
    let removed = admin(&app, Method::DELETE, "/admin/destinations/crm", None).await;
    assert_eq!(removed.status().as_u16(), 204);
    let gone = admin(&app, Method::DELETE, "/admin/destinations/crm", None).await;
    assert_error(gone, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn admin_endpoints_need_the_token_and_refuse_bad_input() {
    let (app, _fake) = connected_app().await;
    let anonymous = app.get("/admin/events").await;
    assert_error(anonymous, 401, "UNAUTHORIZED").await;
    for query in [
        "limit=0",
        "limit=x",
        "state=lost",
        "from=yesterday",
        "bogus=1",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let response = admin(&app, Method::GET, &format!("/admin/events?{query}"), None).await;
        assert_error(response, 400, "BAD_REQUEST").await;
    }
    for body in [
        json!({"name": "Bad Name", "url": "http://x.test", "events": ["*"]}),
        json!({"name": "crm", "url": "ftp://x.test", "events": ["*"]}),
        json!({"name": "crm", "url": "http://x.test", "events": []}),
        json!({"name": "crm", "url": "http://x.test", "events": ["order..x"]}),
        json!({"name": "waymore", "url": "http://x.test", "events": ["*"]}),
        json!({"name": "crm"}),
    ] {
        let response = admin(
            &app,
            Method::POST,
            "/admin/destinations",
            Some(body.clone()),
        )
        .await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 409, "{body}: {status}");
    }
    let backwards = admin(
        &app,
        Method::POST,
        "/admin/destinations/waymore/replay",
        Some(json!({"fromEventId": 5, "toEventId": 1})),
    )
    .await;
    assert_error(backwards, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn a_nul_character_in_a_filter_is_a_bad_request() {
    let app = crate::helpers::spawn_app().await;
    for path in ["/admin/events?name=order%00", "/admin/events?entityId=%00"] {
        let message = assert_error(
            admin(&app, Method::GET, path, None).await,
            400,
            "BAD_REQUEST",
        )
        .await;
        assert!(message.contains("NUL"), "{path}: {message}");
    }
}
