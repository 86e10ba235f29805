use serde_json::json;

use shopbridge::rfmcube::Order;

use super::{post, post_ok};
use crate::helpers::{assert_error, spawn_app};

const SHOP: &str = "
    WITH b AS (INSERT INTO brands (name) VALUES ('Nike') RETURNING id),
    cat AS (INSERT INTO categories (name) VALUES ('Shoes'), ('Men') RETURNING id),
    p AS (INSERT INTO products (sku, name, price, brand_id) SELECT 'SHOE-1', 'Runner', 85.85, id FROM b RETURNING id),
    pc AS (INSERT INTO product_categories (product_id, category_id) SELECT p.id, cat.id FROM p, cat),
    c AS (INSERT INTO customers (email) VALUES ('buyer@example.com') RETURNING id),
    o AS (INSERT INTO orders (reference, customer_id, customer_email, status, payment_method,
                              shipping_method, currency, total, delivery_country, delivery_province,
                              delivery_city, delivery_postcode)
          SELECT 'SB-1', c.id, 'buyer@example.com', 'shipped', 'credit card', 'courier', 'EUR',
                 171.70, 'Italy', 'MI', 'Milan', '20121' FROM c RETURNING id),
    g AS (INSERT INTO orders (reference, customer_email, status, total)
          VALUES ('SB-2', 'guest@example.net', 'pending', 0) RETURNING id),
    i AS (INSERT INTO order_items (order_id, product_id, sku, name, quantity, price)
          SELECT o.id, p.id, 'SHOE-1', 'Runner', 2, 85.85 FROM o, p)
    SELECT (SELECT id FROM o), (SELECT id FROM g), (SELECT id FROM c), (SELECT id FROM p)";

#[tokio::test]
async fn an_order_carries_its_items_with_brand_and_categories() {
    let app = spawn_app().await;
    let (order, _, customer, product): (i64, i64, i64, i64) =
        sqlx::query_as(SHOP).fetch_one(&app.pool).await.unwrap();
    let body = post_ok(&app, "/rfmcube/orders", &json!({})).await;
    let orders: Vec<Order> = serde_json::from_value(body["orders"].clone()).unwrap();
    let o = orders.iter().find(|o| o.id == order.to_string()).unwrap();
    assert_eq!(o.order_reference.as_deref(), Some("SB-1"));
    assert_eq!(
        (o.status.as_str(), o.status_label.as_deref()),
        ("shipped", Some("Shipped"))
    );
    assert_eq!(o.amount, 171.70);
    assert_eq!(o.currency.as_deref(), Some("EUR"));
    assert_eq!(o.customer_id, Some(customer.to_string()));
    assert_eq!(o.customer_email, "buyer@example.com");
    assert_eq!(o.payment_method.as_deref(), Some("credit card"));
    assert_eq!(o.shipping_method.as_deref(), Some("courier"));
    assert_eq!(o.delivery.city.as_deref(), Some("Milan"));
    assert_eq!(o.delivery.province.as_deref(), Some("MI"));
    assert_eq!(o.items.len(), 1);
    let item = &o.items[0];
    assert_eq!(item.product_id, Some(product));
    assert_eq!(
        (item.sku.as_str(), item.name.as_str()),
        ("SHOE-1", "Runner")
    );
    assert_eq!(item.brand.as_deref(), Some("Nike"));
    assert_eq!(item.categories, vec!["Men", "Shoes"]);
    assert_eq!((item.quantity, item.price), (2, 85.85));
}

#[tokio::test]
async fn a_guest_order_has_no_customer_id_but_an_email() {
    let app = spawn_app().await;
    let (_, guest, _, _): (i64, i64, i64, i64) =
        sqlx::query_as(SHOP).fetch_one(&app.pool).await.unwrap();
    let body = post_ok(&app, "/rfmcube/orders", &json!({})).await;
    let orders: Vec<Order> = serde_json::from_value(body["orders"].clone()).unwrap();
    let g = orders.iter().find(|o| o.id == guest.to_string()).unwrap();
    assert_eq!(g.customer_id, None);
    assert_eq!(g.customer_email, "guest@example.net");
    assert!(g.items.is_empty());
    let guest_id = guest.to_string();
    let raw = body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"].as_str() == Some(&guest_id))
        .unwrap();
    assert!(
        raw["customerId"].is_null(),
        "customerId is present and null"
    );
}

#[tokio::test]
async fn a_deleted_product_leaves_the_item_with_its_own_sku_and_name() {
    let app = spawn_app().await;
    let (order, _, _, product): (i64, i64, i64, i64) =
        sqlx::query_as(SHOP).fetch_one(&app.pool).await.unwrap();
    sqlx::query("DELETE FROM products WHERE id = $1")
        .bind(product)
        .execute(&app.pool)
        .await
        .unwrap();
    let body = post_ok(&app, "/rfmcube/orders", &json!({})).await;
    let orders: Vec<Order> = serde_json::from_value(body["orders"].clone()).unwrap();
    let item = &orders
        .iter()
        .find(|o| o.id == order.to_string())
        .unwrap()
        .items[0];
    assert_eq!(
        (item.product_id, item.sku.as_str(), item.brand.as_deref()),
        (None, "SHOE-1", None)
    );
    assert!(item.categories.is_empty());
}

/// Statements PostgreSQL ran over the shop's order tables and the crawl horizon for this
/// database, from pg_stat_statements: the background workers' own are left out.
async fn statements_run(pool: &sqlx::PgPool) -> Option<i64> {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(pool)
        .await
        .ok()?;
    sqlx::query_scalar(
        "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat_statements%'
           AND query NOT LIKE '%waymore%' AND query NOT LIKE '%advisory%'
           AND query NOT ILIKE 'LISTEN%' AND query NOT IN ('BEGIN', 'COMMIT')
           -- Not what the app's own workers run meanwhile (the pruners at start, a poll):
           -- every statement of a page reads the shop's tables or the horizon.
           AND query ~* '\\m(orders|order_items|products|crawl_horizon)\\M'",
    )
    .fetch_one(pool)
    .await
    .ok()
}

#[tokio::test]
async fn a_page_costs_the_same_two_statements_whatever_its_size() {
    let app = spawn_app().await;
    for _ in 0..40 {
        sqlx::query_as::<_, (i64, i64, i64, i64)>(sqlx::AssertSqlSafe(
            SHOP.replace("'Nike'", "'Nike' || gen_random_uuid()")
                .replace("'SB-1'", "gen_random_uuid()::text")
                .replace("'SB-2'", "gen_random_uuid()::text")
                .replace(
                    "'SHOE-1', 'Runner', 85.85",
                    "gen_random_uuid()::text, 'Runner', 85.85",
                )
                .replace(
                    "('buyer@example.com')",
                    "(gen_random_uuid() || '@example.com')",
                ),
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    }
    // The first request of a process also reads the cursor key, once.
    post_ok(&app, "/rfmcube/orders", &json!({"pageSize": 1})).await;
    let Some(mut before) = statements_run(&app.pool).await else {
        assert!(
            std::env::var("DATABASE_URL").is_ok(),
            "pg_stat_statements must be available in the test cluster"
        );
        eprintln!("skipped: the server at DATABASE_URL does not load pg_stat_statements");
        return;
    };
    for page_size in [1, 10, 80] {
        let body = post_ok(&app, "/rfmcube/orders", &json!({"pageSize": page_size})).await;
        assert_eq!(body["orders"].as_array().unwrap().len(), page_size.min(80));
        let after = statements_run(&app.pool).await.unwrap();
        // The crawl horizon, then the page: the same two whatever the page size.
        assert_eq!(after - before, 2, "statements for a page of {page_size}");
        before = after;
    }
    let cursor =
        post_ok(&app, "/rfmcube/orders", &json!({"pageSize": 5})).await["nextCursor"].clone();
    before = statements_run(&app.pool).await.unwrap();
    post_ok(
        &app,
        "/rfmcube/orders",
        &json!({"pageSize": 50, "cursor": cursor}),
    )
    .await;
    assert_eq!(
        statements_run(&app.pool).await.unwrap() - before,
        2,
        "statements for a cursor page"
    );
}

#[tokio::test]
async fn an_internal_error_hides_the_sql_and_keeps_the_envelope() {
    let app = spawn_app().await;
    sqlx::query("DROP TABLE order_items CASCADE")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = post(&app, "/rfmcube/orders", &json!({})).await;
    let message = assert_error(response, 500, "INTERNAL").await;
    for leak in ["order_items", "SELECT", "relation", "sqlx", "panicked"] {
        assert!(
            !message.contains(leak),
            "the message leaks {leak:?}: {message}"
        );
    }
}
