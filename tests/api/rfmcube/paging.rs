//! Crawls return every row of the window exactly once, ties on the timestamp included.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use super::{crawl, customers_at, ids, orders_at, post, post_ok, Mode};
use crate::helpers::{assert_error, spawn_app, spawn_app_on, TestApp};

const DAY: &str = r#"{"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z"}"#;

fn day() -> serde_json::Value {
    serde_json::from_str(DAY).unwrap()
}

/// 40 customers on one timestamp, 15 on another, 5 on a third, all inside the day.
async fn crowded_day(app: &TestApp) -> Vec<i64> {
    let mut all = customers_at(
        &app.pool,
        40,
        "2025-02-01T00:00:00Z",
        "2025-03-01T08:00:00Z",
    )
    .await;
    all.extend(
        customers_at(
            &app.pool,
            15,
            "2025-02-01T00:00:00Z",
            "2025-03-01T00:00:00Z",
        )
        .await,
    );
    all.extend(
        customers_at(
            &app.pool,
            5,
            "2025-02-01T00:00:00Z",
            "2025-03-01T23:59:59.999999Z",
        )
        .await,
    );
    all.sort();
    all
}

fn assert_each_once(rows: &[serde_json::Value], expected: &[i64], what: &str) {
    let got = ids(rows);
    let unique: HashSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "{what}: a row came twice");
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "{what}: rows missing or extra");
}

#[tokio::test]
async fn crawling_by_cursor_or_by_pages_returns_every_row_once_despite_shared_timestamps() {
    let app = spawn_app().await;
    let expected = crowded_day(&app).await;
    for page_size in [1, 2, 7, 15, 60, 1000] {
        for mode in [Mode::Cursor, Mode::Pages] {
            let rows = crawl(&app, "/rfmcube/customers", day(), page_size, mode).await;
            assert_each_once(&rows, &expected, &format!("{mode:?} size {page_size}"));
            let keys: Vec<(String, i64)> = rows
                .iter()
                .map(|r| {
                    (
                        r["updatedAt"].as_str().unwrap().to_owned(),
                        r["id"].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect();
            assert!(
                keys.windows(2).all(|w| w[0] <= w[1]),
                "ordered by (updatedAt, id)"
            );
        }
    }
}

#[tokio::test]
async fn orders_crawl_returns_every_order_once() {
    let app = spawn_app().await;
    let mut expected = orders_at(
        &app.pool,
        30,
        "2025-02-01T00:00:00Z",
        "2025-03-01T12:00:00Z",
    )
    .await;
    expected.extend(orders_at(&app.pool, 7, "2025-02-01T00:00:00Z", "2025-03-01T12:00:01Z").await);
    expected.sort();
    for page_size in [1, 4, 1000] {
        for mode in [Mode::Cursor, Mode::Pages] {
            let rows = crawl(&app, "/rfmcube/orders", day(), page_size, mode).await;
            assert_each_once(
                &rows,
                &expected,
                &format!("orders {mode:?} size {page_size}"),
            );
        }
    }
}

#[tokio::test]
async fn window_includes_from_and_excludes_to() {
    let app = spawn_app().await;
    let at_from = customers_at(&app.pool, 1, "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z").await;
    let inside = customers_at(
        &app.pool,
        1,
        "2025-01-01T00:00:00Z",
        "2025-03-01T23:59:59.999999Z",
    )
    .await;
    customers_at(&app.pool, 1, "2025-01-01T00:00:00Z", "2025-03-02T00:00:00Z").await;
    customers_at(
        &app.pool,
        1,
        "2025-01-01T00:00:00Z",
        "2025-02-28T23:59:59.999999Z",
    )
    .await;
    let rows = crawl(&app, "/rfmcube/customers", day(), 10, Mode::Cursor).await;
    assert_eq!(ids(&rows), [at_from[0], inside[0]]);
}

#[tokio::test]
async fn orders_window_excludes_upper_bound() {
    let app = spawn_app().await;
    let inside = orders_at(&app.pool, 1, "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z").await;
    orders_at(&app.pool, 1, "2025-01-01T00:00:00Z", "2025-03-02T00:00:00Z").await;
    let body = post_ok(&app, "/rfmcube/orders", &day()).await;
    assert_eq!(ids(body["orders"].as_array().unwrap()), inside);
    assert_eq!(body["total"], 1);
}

#[tokio::test]
async fn created_at_and_updated_at_windows_select_different_rows() {
    let app = spawn_app().await;
    let created_that_day =
        customers_at(&app.pool, 2, "2025-03-01T09:00:00Z", "2025-04-01T00:00:00Z").await;
    let updated_that_day =
        customers_at(&app.pool, 3, "2025-01-01T00:00:00Z", "2025-03-01T09:00:00Z").await;
    let mut by_created = day();
    by_created["dateField"] = json!("createdAt");
    let rows = crawl(&app, "/rfmcube/customers", by_created, 10, Mode::Cursor).await;
    assert_eq!(ids(&rows), created_that_day);
    let mut by_updated = day();
    by_updated["dateField"] = json!("updatedAt");
    let rows = crawl(&app, "/rfmcube/customers", by_updated, 10, Mode::Cursor).await;
    assert_eq!(ids(&rows), updated_that_day);
    let rows = crawl(&app, "/rfmcube/customers", day(), 10, Mode::Cursor).await;
    assert_eq!(ids(&rows), updated_that_day, "updatedAt is the default");
}

#[tokio::test]
async fn an_empty_window_is_an_empty_last_page() {
    let app = spawn_app().await;
    customers_at(&app.pool, 3, "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z").await;
    let body = post_ok(&app, "/rfmcube/customers", &day()).await;
    assert_eq!(body["customers"], json!([]));
    assert_eq!(
        (body["total"].as_i64(), body["totalPages"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(body["nextCursor"].is_null());
}

#[tokio::test]
async fn totals_are_exact_and_the_last_page_has_no_cursor() {
    let app = spawn_app().await;
    crowded_day(&app).await;
    let mut request = day();
    request["pageSize"] = json!(25);
    for (page, len, has_next) in [(1, 25, true), (2, 25, true), (3, 10, false), (4, 0, false)] {
        request["page"] = json!(page);
        let body = post_ok(&app, "/rfmcube/customers", &request).await;
        assert_eq!(
            body["customers"].as_array().unwrap().len(),
            len,
            "page {page}"
        );
        assert_eq!(
            (body["total"].as_i64(), body["totalPages"].as_i64()),
            (Some(60), Some(3))
        );
        assert_eq!(
            (body["page"].as_i64(), body["pageSize"].as_i64()),
            (Some(page), Some(25))
        );
        assert_eq!(body["nextCursor"].is_string(), has_next, "page {page}");
    }
}

#[tokio::test]
async fn cursor_pages_are_numbered() {
    let app = spawn_app().await;
    crowded_day(&app).await;
    let mut request = day();
    request["pageSize"] = json!(25);
    let first = post_ok(&app, "/rfmcube/customers", &request).await;
    request["cursor"] = first["nextCursor"].clone();
    let second = post_ok(&app, "/rfmcube/customers", &request).await;
    assert_eq!(second["page"], 2);
    request["cursor"] = second["nextCursor"].clone();
    assert_eq!(
        post_ok(&app, "/rfmcube/customers", &request).await["page"],
        3
    );
}

#[tokio::test]
async fn get_with_query_parameters_answers_like_post() {
    let app = spawn_app().await;
    crowded_day(&app).await;
    let post_body = post_ok(&app, "/rfmcube/customers", &json!({"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z", "pageSize": 7, "page": 2})).await;
    let get_body: serde_json::Value = app
        .client
        .get(app.url("/rfmcube/customers?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z&pageSize=7&page=2"))
        .header("api-key", crate::helpers::API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get_body["customers"], post_body["customers"]);
    assert_eq!(get_body["total"], post_body["total"]);
}

#[tokio::test]
async fn a_cursor_is_bound_to_its_window_and_endpoint() {
    let app = spawn_app().await;
    crowded_day(&app).await;
    orders_at(&app.pool, 3, "2025-03-01T01:00:00Z", "2025-03-01T01:00:00Z").await;
    let mut request = day();
    request["pageSize"] = json!(5);
    let cursor = post_ok(&app, "/rfmcube/customers", &request).await["nextCursor"].clone();

    let same_window = json!({"cursor": cursor});
    assert_eq!(
        post_ok(&app, "/rfmcube/customers", &same_window).await["page"],
        2
    );

    for conflicting in [
        json!({"cursor": cursor, "from": "2025-02-28T00:00:00Z"}),
        json!({"cursor": cursor, "to": "2025-03-03T00:00:00Z"}),
        json!({"cursor": cursor, "dateField": "createdAt"}),
    ] {
        let message = assert_error(
            post(&app, "/rfmcube/customers", &conflicting).await,
            400,
            "BAD_REQUEST",
        )
        .await;
        assert!(message.starts_with("cursor:"), "{message}");
    }
    let message = assert_error(
        post(&app, "/rfmcube/orders", &same_window).await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(message.contains("/rfmcube/customers"), "{message}");

    let mut garbled = cursor.as_str().unwrap().to_owned();
    garbled.insert(3, 'x');
    let message = assert_error(
        post(&app, "/rfmcube/customers", &json!({"cursor": garbled})).await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(message.starts_with("cursor:"), "{message}");
}

#[tokio::test]
async fn a_cursor_survives_a_restart_and_works_on_another_process() {
    let app = spawn_app().await;
    crowded_day(&app).await;
    let mut request = day();
    request["pageSize"] = json!(5);
    let cursor = post_ok(&app, "/rfmcube/customers", &request).await["nextCursor"].clone();
    let db = app.pool.connect_options().as_ref().clone();
    let other = spawn_app_on(db, |_| {}).await;
    let body = post_ok(&other, "/rfmcube/customers", &json!({"cursor": cursor})).await;
    assert_eq!(body["page"], 2);
}

#[tokio::test]
async fn a_cursor_crawl_during_concurrent_writes_returns_each_row_at_most_once() {
    let app = spawn_app().await;
    let window = json!({"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"});
    let seeded = customers_at(
        &app.pool,
        300,
        "2024-01-01T00:00:00Z",
        "2024-06-01T00:00:00Z",
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (pool, stop) = (app.pool.clone(), stop.clone());
        tokio::spawn(async move {
            let mut touched = HashSet::new();
            let mut round = 0i64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let id = seeded[(round as usize * 37) % seeded.len()];
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("UPDATE customers SET firstname = 'Changed ' || $2 WHERE id = $1")
                    .bind(id)
                    .bind(round)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO customers (email) VALUES ('new-' || gen_random_uuid() || '@example.com')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                touched.insert(id);
                tokio::task::yield_now().await;
            }
            touched
        })
    };
    let rows = crawl(&app, "/rfmcube/customers", window, 7, Mode::Cursor).await;
    stop.store(true, Ordering::Relaxed);
    let touched = writer.await.unwrap();
    let got = ids(&rows);
    let unique: HashSet<i64> = got.iter().copied().collect();
    assert_eq!(
        unique.len(),
        got.len(),
        "a row came twice during concurrent writes"
    );
    assert!(
        !touched.is_empty(),
        "the writer made no change during the crawl"
    );
    let seeded: HashSet<i64> = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM customers WHERE updated_at = '2024-06-01T00:00:00Z'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(
        seeded.is_subset(&unique),
        "rows nobody touched are all returned"
    );
}

/// `updated_at` is the writing transaction's start. A transaction held open across a crawl
/// commits rows stamped before rows the crawl could already see; the crawl stops at its
/// start (`X-Crawl-Upper`), so crawling on from there misses nothing.
#[tokio::test]
async fn a_transaction_held_open_across_a_crawl_is_not_missed() {
    let app = spawn_app().await;
    let earlier = customers_at(&app.pool, 2, "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z").await;
    let mut held = app.pool.begin().await.unwrap();
    let slow: i64 = sqlx::query_scalar(
        "INSERT INTO customers (email, firstname) VALUES ('slow@example.com', 'Slow') RETURNING id",
    )
    .fetch_one(&mut *held)
    .await
    .unwrap();
    let started: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *held)
        .await
        .unwrap();
    let fast: i64 = sqlx::query_scalar(
        "INSERT INTO customers (email, firstname) VALUES ('fast@example.com', 'Fast') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let window = json!({"from": "2019-01-01T00:00:00Z", "pageSize": 1});
    let first = post(&app, "/rfmcube/customers", &window).await;
    let upper = first.headers()["x-crawl-upper"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        upper,
        started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "the crawl stops where the open transaction began"
    );
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(
        first["totalPages"], 2,
        "the committed later row is held back too"
    );
    let mut cursor_request = window.clone();
    cursor_request["cursor"] = first["nextCursor"].clone();
    let second = post_ok(&app, "/rfmcube/customers", &cursor_request).await;
    assert_eq!(
        [
            ids(first["customers"].as_array().unwrap()),
            ids(second["customers"].as_array().unwrap())
        ]
        .concat(),
        earlier
    );
    assert!(second["nextCursor"].is_null());

    held.commit().await.unwrap();
    let next = post_ok(
        &app,
        "/rfmcube/customers",
        &json!({"from": upper, "pageSize": 10}),
    )
    .await;
    assert_eq!(ids(next["customers"].as_array().unwrap()), [slow, fast]);
}
