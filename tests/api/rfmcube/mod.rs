//! The Rfmcube pull webservice, as Rfmcube's nightly crawler uses it.

mod customers;
mod orders;
mod paging;
mod push;
mod standin;
mod validation;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{TestApp, API_KEY};

/// A POST as Rfmcube sends it.
pub async fn post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("api-key", API_KEY)
        .header("accept", "application/json")
        .json(body)
        .send()
        .await
        .expect("request sent")
}

pub async fn post_ok(app: &TestApp, path: &str, body: &Value) -> Value {
    let response = post(app, path, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status.as_u16(), 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Pages,
    Cursor,
}

/// Crawls the whole window page after page; returns the rows in the order received.
pub async fn crawl(
    app: &TestApp,
    path: &str,
    window: Value,
    page_size: u32,
    mode: Mode,
) -> Vec<Value> {
    let key = if path.ends_with("customers") {
        "customers"
    } else {
        "orders"
    };
    let mut rows = Vec::new();
    let mut request = window.clone();
    request["pageSize"] = json!(page_size);
    for page in 1.. {
        if let Mode::Pages = mode {
            request["page"] = json!(page);
        }
        let body = post_ok(app, path, &request).await;
        let got = body[key].as_array().unwrap();
        rows.extend(got.iter().cloned());
        match mode {
            Mode::Pages if got.is_empty() => break,
            Mode::Pages => {}
            Mode::Cursor => match body["nextCursor"].as_str() {
                Some(cursor) => request["cursor"] = json!(cursor),
                None => break,
            },
        }
        assert!(page < 100_000, "crawl does not end");
    }
    rows
}

pub fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Inserts `n` customers at `updated_at` (and `created_at`); returns their ids.
pub async fn customers_at(pool: &PgPool, n: usize, created_at: &str, updated_at: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO customers (email, firstname, created_at, updated_at)
         SELECT 'c' || gen_random_uuid() || '@example.com', 'Test', $2::timestamptz, $3::timestamptz
         FROM generate_series(1, $1)
         RETURNING id",
    )
    .bind(n as i32)
    .bind(created_at)
    .bind(updated_at)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Inserts `n` guest orders with one item each, stamped `created_at`/`updated_at` as given
/// (the trigger that would move updated_at to now() for the items is held off).
pub async fn orders_at(pool: &PgPool, n: usize, created_at: &str, updated_at: &str) -> Vec<i64> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE order_items DISABLE TRIGGER order_items_touch_parent_on_insert")
        .execute(&mut *tx)
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH o AS (
             INSERT INTO orders (reference, customer_email, status, total, created_at, updated_at)
             SELECT 'T-' || gen_random_uuid(), 'guest@example.com', 'pending', 10,
                    $2::timestamptz, $3::timestamptz
             FROM generate_series(1, $1)
             RETURNING id)
         INSERT INTO order_items (order_id, sku, name, quantity, price)
         SELECT id, 'SKU', 'Thing', 1, 10 FROM o
         RETURNING order_id",
    )
    .bind(n as i32)
    .bind(created_at)
    .bind(updated_at)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    // The event triggers deferred to the commit fire now: a table with pending trigger
    // events cannot be altered.
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE order_items ENABLE TRIGGER order_items_touch_parent_on_insert")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ids
}
