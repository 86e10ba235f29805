//! The database keeps `updated_at` current by itself, for any writer.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::helpers::{fresh_database, spawn_app_on};

const LONG_AGO: &str = "2020-01-01T00:00:00Z";

async fn pool() -> PgPool {
    spawn_app_on(fresh_database().await, |_| {}).await.pool
}

fn long_ago() -> DateTime<Utc> {
    LONG_AGO.parse().unwrap()
}

async fn updated_at(pool: &PgPool, table: &str, id: i64) -> DateTime<Utc> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT updated_at FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn customer(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (email, firstname, created_at, updated_at)
         VALUES ('ana@example.com', 'Ana', $1, $1) RETURNING id",
    )
    .bind(long_ago())
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Sets a row's updated_at to LONG_AGO, with the trigger that would refuse it held off.
async fn backdate(pool: &PgPool, table: &str, id: i64) {
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        format!("ALTER TABLE {table} DISABLE TRIGGER {table}_touch_updated_at"),
        format!("UPDATE {table} SET updated_at = '{LONG_AGO}' WHERE id = {id}"),
        format!("ALTER TABLE {table} ENABLE TRIGGER {table}_touch_updated_at"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// An order with one item, both written long ago.
async fn order_with_item(pool: &PgPool) -> (i64, i64) {
    let (order, item): (i64, i64) = sqlx::query_as(
        "WITH o AS (INSERT INTO orders (reference, customer_email, status, total)
                    VALUES ('R-1', 'guest@example.com', 'pending', 10) RETURNING id)
         INSERT INTO order_items (order_id, sku, name, quantity, price)
         SELECT o.id, 'S1', 'Mug', 1, 10 FROM o RETURNING order_id, id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    backdate(pool, "orders", order).await;
    assert_eq!(updated_at(pool, "orders", order).await, long_ago());
    (order, item)
}

#[tokio::test]
async fn updated_at_moves_when_a_row_changes() {
    let pool = pool().await;
    let id = customer(&pool).await;
    sqlx::query("UPDATE customers SET firstname = 'Anna' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "customers", id).await > long_ago());
}

#[tokio::test]
async fn updated_at_stays_on_a_no_op_update() {
    let pool = pool().await;
    let id = customer(&pool).await;
    sqlx::query("UPDATE customers SET firstname = firstname WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(updated_at(&pool, "customers", id).await, long_ago());
}

#[tokio::test]
async fn an_explicit_stale_updated_at_is_overridden() {
    let pool = pool().await;
    let id = customer(&pool).await;
    sqlx::query("UPDATE customers SET firstname = 'X', updated_at = '2001-01-01Z' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "customers", id).await > long_ago());
}

#[tokio::test]
async fn order_updated_at_moves_when_an_item_is_added() {
    let pool = pool().await;
    let (order, _) = order_with_item(&pool).await;
    sqlx::query(
        "INSERT INTO order_items (order_id, sku, name, quantity, price) VALUES ($1, 'S2', 'Cup', 2, 3)",
    )
    .bind(order)
    .execute(&pool)
    .await
    .unwrap();
    assert!(updated_at(&pool, "orders", order).await > long_ago());
}

#[tokio::test]
async fn order_updated_at_moves_when_an_item_changes() {
    let pool = pool().await;
    let (order, item) = order_with_item(&pool).await;
    sqlx::query("UPDATE order_items SET quantity = 5 WHERE id = $1")
        .bind(item)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "orders", order).await > long_ago());
}

#[tokio::test]
async fn order_updated_at_moves_when_an_item_is_removed() {
    let pool = pool().await;
    let (order, item) = order_with_item(&pool).await;
    sqlx::query("DELETE FROM order_items WHERE id = $1")
        .bind(item)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "orders", order).await > long_ago());
}

#[tokio::test]
async fn other_orders_keep_their_updated_at() {
    let pool = pool().await;
    let (order, item) = order_with_item(&pool).await;
    let other: i64 = sqlx::query_scalar(
        "INSERT INTO orders (reference, customer_email, status, total, created_at, updated_at)
         VALUES ('R-2', 'b@example.com', 'pending', 1, $1, $1) RETURNING id",
    )
    .bind(long_ago())
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE order_items SET quantity = 7 WHERE id = $1")
        .bind(item)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "orders", order).await > long_ago());
    assert_eq!(updated_at(&pool, "orders", other).await, long_ago());
}

#[tokio::test]
async fn customer_updated_at_moves_when_an_address_changes() {
    let pool = pool().await;
    let id = customer(&pool).await;
    sqlx::query("INSERT INTO customer_addresses (customer_id, is_default, city) VALUES ($1, true, 'Athens')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(updated_at(&pool, "customers", id).await > long_ago());
}

#[tokio::test]
async fn a_customer_has_at_most_one_default_address() {
    let pool = pool().await;
    let id = customer(&pool).await;
    let insert = "INSERT INTO customer_addresses (customer_id, is_default, city) VALUES ($1, true, 'Athens')";
    sqlx::query(insert).bind(id).execute(&pool).await.unwrap();
    let second = sqlx::query(insert).bind(id).execute(&pool).await;
    assert!(second.is_err(), "a second default address was accepted");
}
