//! The sample-event page and `/one/events.json`: escaping, filters, keyset pages,
//! credentials, retention.

use std::time::Duration;

use serde_json::{json, Value};

use super::{get, post, stored};
use crate::helpers::{assert_error, spawn_app};
use shopbridge::one::inbox;

#[tokio::test]
async fn payload_values_are_shown_as_text_never_as_markup() {
    let app = spawn_app().await;
    post(
        &app,
        json!({"event": "Cart opened", "customerId": "<script>alert(1)</script>",
               "cartId": "\"><img src=x onerror=alert(2)>"}),
    )
    .await;
    let response = get(&app, "/one/events").await;
    assert_eq!(response.status().as_u16(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"));
    let html = response.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
}

#[tokio::test]
async fn the_page_lists_newest_first_with_ids_and_filters_by_kind_and_customer() {
    let app = spawn_app().await;
    post(
        &app,
        json!({"event": "Cart opened", "customerId": "C-1", "cartId": "K-1"}),
    )
    .await;
    post(
        &app,
        json!({"event": "OfferOpened", "customerId": "C-2", "offerId": "O-2"}),
    )
    .await;
    post(&app, json!({"event": "TEST"})).await;
    let html = get(&app, "/one/events").await.text().await.unwrap();
    let order: Vec<usize> = [
        ">Test event</span>",
        ">Offer opened</span>",
        ">Cart opened</span>",
    ]
    .iter()
    .map(|label| html.find(label).unwrap_or_else(|| panic!("{label} shown")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first");
    assert!(html.contains("K-1") && html.contains("O-2"));
    assert!(html.contains("3 events kept; events older than 30 days are removed."));

    // As the filter form submits it: empty fields mean no filter.
    let carts = get(&app, "/one/events?kind=cart_opened&customerId=")
        .await
        .text()
        .await
        .unwrap();
    assert!(carts.contains("C-1") && !carts.contains("C-2"));
    let customer = get(&app, "/one/events?kind=&customerId=C-2")
        .await
        .text()
        .await
        .unwrap();
    assert!(customer.contains("O-2") && !customer.contains("K-1"));
    let tests = get(&app, "/one/events?kind=test")
        .await
        .text()
        .await
        .unwrap();
    assert!(tests.contains("Test event") && !tests.contains("C-1"));
    let none = get(&app, "/one/events?customerId=nobody")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No events match these filters."));
}

#[tokio::test]
async fn the_json_endpoint_pages_by_keyset() {
    let app = spawn_app().await;
    for n in 0..5 {
        post(
            &app,
            json!({"event": "Client logged", "customerId": format!("C-{n}")}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/one/events.json?kind=client_logged&limit=2".to_owned();
    loop {
        let page: Value = get(&app, &path).await.json().await.unwrap();
        assert_eq!(page["kept"], 5);
        assert_eq!(page["retentionSecs"], 30 * 86400);
        for event in page["events"].as_array().unwrap() {
            seen.push(event["customerId"].as_str().unwrap().to_owned());
            assert_eq!(event["payload"]["event"], "Client logged");
        }
        match page["nextBefore"].as_i64() {
            Some(before) => {
                path = format!("/one/events.json?kind=client_logged&limit=2&before={before}")
            }
            None => break,
        }
    }
    assert_eq!(seen, ["C-4", "C-3", "C-2", "C-1", "C-0"]);
}

#[tokio::test]
async fn the_page_needs_the_credentials_and_refuses_bad_filters() {
    let app = spawn_app().await;
    for path in ["/one/events", "/one/events.json"] {
        let response = app.get(path).await;
        assert!(response.headers().contains_key("www-authenticate"));
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    let message = assert_error(
        get(&app, "/one/events.json?kind=order_paid").await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(message.contains("kind"), "{message}");
    assert_error(get(&app, "/one/events?limit=0").await, 400, "BAD_REQUEST").await;
    assert_error(get(&app, "/one/events?before=x").await, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn events_past_the_retention_period_are_pruned() {
    let app = spawn_app().await;
    for n in 0..3 {
        post(&app, json!({"event": "Client logged", "customerId": n})).await;
    }
    sqlx::query(
        "UPDATE one_events SET received_at = now() - interval '31 days'
         WHERE customer_id IN ('0', '1')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let deleted = inbox::prune(&app.pool, Duration::from_secs(30 * 86400))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(stored(&app).await, 1);
    let html = get(&app, "/one/events").await.text().await.unwrap();
    assert!(html.contains("1 event kept"));
}
