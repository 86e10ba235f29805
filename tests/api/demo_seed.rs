use sqlx::PgPool;

use shopbridge::demo::{self, DemoError, DemoSize};

use crate::helpers::{fresh_database, spawn_app_on};

const SIZE: DemoSize = DemoSize {
    customers: 120,
    orders: 600,
};

async fn seeded_pool() -> PgPool {
    let pool = spawn_app_on(fresh_database().await, |_| {}).await.pool;
    demo::seed(&pool, SIZE).await.expect("seed");
    pool
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A digest of the seeded shop's content, ids and timestamps included.
async fn fingerprint(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
             SELECT format('%s', c.*) AS t FROM customers c
             UNION ALL SELECT format('%s', o.*) FROM orders o
             UNION ALL SELECT format('%s', i.*) FROM order_items i
             UNION ALL SELECT format('%s', p.*) FROM products p) rows",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn seed_fills_every_part_of_the_shop() {
    let pool = seeded_pool().await;
    assert_eq!(count(&pool, "SELECT count(*) FROM customers").await, 120);
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 600);
    for table in [
        "customer_addresses",
        "newsletter_subscriptions",
        "products",
        "product_options",
        "product_categories",
        "categories",
        "brands",
        "discounts",
        "carts",
        "cart_items",
        "wishlist_items",
        "order_items",
        "shipments",
        "search_queries",
    ] {
        assert!(
            count(&pool, &format!("SELECT count(*) FROM {table}")).await > 0,
            "{table} is empty"
        );
    }
    let guests = count(
        &pool,
        "SELECT count(*) FROM orders WHERE customer_id IS NULL",
    )
    .await;
    assert!(guests > 0, "no guest orders");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM orders WHERE customer_email = ''"
        )
        .await,
        0
    );
    let mismatched = count(
        &pool,
        "SELECT count(*) FROM orders o
         WHERE o.total <> (SELECT sum(quantity * price) FROM order_items i WHERE i.order_id = o.id)",
    )
    .await;
    assert_eq!(
        mismatched, 0,
        "order totals differ from the sum of their items"
    );
    let defaults = count(
        &pool,
        "SELECT count(DISTINCT customer_id) FROM customer_addresses WHERE is_default",
    )
    .await;
    assert_eq!(defaults, 120, "every customer has a default address");
}

#[tokio::test]
async fn seed_is_deterministic() {
    let first = seeded_pool().await;
    let second = seeded_pool().await;
    assert_eq!(fingerprint(&first).await, fingerprint(&second).await);
}

#[tokio::test]
async fn seed_leaves_triggers_and_foreign_keys_in_place() {
    let pool = spawn_app_on(fresh_database().await, |_| {}).await.pool;
    let constraints = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
                       AND connamespace = 'public'::regnamespace";
    let disabled = "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'";
    let foreign_keys = count(&pool, constraints).await;
    demo::seed(&pool, SIZE).await.unwrap();
    assert_eq!(count(&pool, constraints).await, foreign_keys);
    assert_eq!(count(&pool, disabled).await, 0);
    let orphan = sqlx::query("INSERT INTO order_items (order_id, sku, name, quantity, price) VALUES (999999, 'x', 'x', 1, 1)")
        .execute(&pool)
        .await;
    assert!(
        orphan.is_err(),
        "foreign key on order_items.order_id is missing after the seed"
    );
    let moved: bool = sqlx::query_scalar(
        "UPDATE customers SET firstname = 'Changed' WHERE id = 1 RETURNING updated_at > '2026-01-01'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(moved, "updated_at trigger is off after the seed");
}

#[tokio::test]
async fn seed_refuses_a_shop_that_has_data_and_changes_nothing() {
    let pool = seeded_pool().await;
    let before = fingerprint(&pool).await;
    let error = demo::seed(&pool, SIZE)
        .await
        .expect_err("second seed fails");
    assert!(
        matches!(
            error,
            DemoError::NotEmpty {
                customers: 120,
                orders: 600
            }
        ),
        "{error}"
    );
    assert_eq!(fingerprint(&pool).await, before);
}
