//! How stored webhooks become shop rows: the seed's payloads as mapped, versions, waiting
//! fulfillments, failures, a crash, and the rest of the shop seeing the result.

use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::*;
use crate::events::{connected_app, count, exec};
use crate::helpers::{fresh_database, spawn_app, spawn_app_on, ADMIN_TOKEN, API_KEY};

const ORDER_ID: i64 = 820_982_911_946_154_508;

#[tokio::test]
async fn the_seed_order_lands_with_its_buyer_items_totals_and_delivery_address() {
    let app = spawn_app().await;
    send(&app, "orders/create", "w-order", &order()).await;
    settled(&app).await;
    assert_eq!(state_of(&app, "w-order").await.0, "applied");

    let order = json_row(
        &app,
        "SELECT reference, customer_email, status, payment_state, payment_confirmed_at,
                payment_method, shipping_method, currency, total::text,
                subtotal::text, discount_total::text, shipping_total::text, tax_total::text
         FROM orders",
    )
    .await;
    assert_eq!(
        order,
        json!({
            "reference": "#9999", "customer_email": "jon@doe.ca", "status": "canceled",
            "payment_state": "failed", "payment_confirmed_at": null,
            "payment_method": "visa, bogus", "shipping_method": "Generic Shipping",
            "currency": "USD", "total": "403.00", "subtotal": "393.00",
            "discount_total": "5.00", "shipping_total": "10.00", "tax_total": "0.00"
        }),
        "voided and cancelled: payment failed, order canceled"
    );
    let delivery: (String, String, String, String) = sqlx::query_as(
        "SELECT concat_ws('|', delivery_firstname, delivery_lastname, delivery_company),
                concat_ws('|', delivery_address1, delivery_address2, delivery_city, delivery_province),
                concat_ws('|', delivery_postcode, delivery_country, delivery_phone),
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
         FROM orders WHERE shopify_id = $1",
    )
    .bind(ORDER_ID)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        delivery,
        (
            "Steve|Shipper|Shipping Company".into(),
            "123 Shipping Street|Shippington|Kentucky".into(),
            "40003|United States|555-555-SHIP".into(),
            "2019-03-06 19:33:46".into()
        )
    );

    let buyer: (String, String, String, i64, String) = sqlx::query_as(
        "SELECT c.email, c.firstname, c.lastname, c.shopify_id,
                concat_ws('|', a.is_default, a.address1, a.city, a.province, a.postcode, a.country, a.phone)
         FROM orders o JOIN customers c ON c.id = o.customer_id
         JOIN customer_addresses a ON a.customer_id = c.id
         WHERE o.shopify_id = $1",
    )
    .bind(ORDER_ID)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        buyer,
        (
            "john@test.com".into(),
            "John".into(),
            "Smith".into(),
            115_310_627_314_723_954,
            "t|123 Elm St.|Ottawa|Ontario|K2H7A8|Canada|123-123-1234".into()
        )
    );

    let items: Vec<(i64, String, String, i32, String, Option<i64>)> = sqlx::query_as(
        "SELECT i.shopify_id, i.sku, i.name, i.quantity, i.price::text, i.product_id
         FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.shopify_id = $1 ORDER BY i.shopify_id",
    )
    .bind(ORDER_ID)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        items,
        vec![
            (
                141_249_953_214_522_974,
                "IPOD2008PINK".into(),
                "IPod Nano - 8GB".into(),
                1,
                "199.00".into(),
                None
            ),
            (
                866_550_311_766_439_020,
                "IPOD2008PINK".into(),
                "IPod Nano - 8GB".into(),
                1,
                "199.00".into(),
                None
            ),
        ],
        "ids beyond 2^53 kept exactly; product 632910392 was never received"
    );
}

#[tokio::test]
async fn a_paid_order_is_confirmed_and_its_items_link_to_products_received_before() {
    let app = spawn_app().await;
    let line = json!({"id": 5, "product_id": 788_032_119_674_292_922_i64, "variant_id": 757_650_484_644_203_962_i64,
                      "sku": "example-shirt-m", "name": "Example T-Shirt - Medium", "quantity": 2, "price": "19.99"});
    send(&app, "products/create", "w-product", &product()).await;
    settled(&app).await;
    let paid = order_with(json!({
        "financial_status": "paid", "cancelled_at": null, "fulfillment_status": null,
        "processed_at": "2019-03-06T14:40:00-05:00", "line_items": [line], "customer": null
    }));
    send(&app, "orders/create", "w-paid", &paid).await;
    settled(&app).await;
    let row: (String, String, Option<String>, i64, String, String) = sqlx::query_as(
        "SELECT o.status, o.payment_state::text,
                to_char(o.payment_confirmed_at AT TIME ZONE 'UTC', 'HH24:MI'),
                (SELECT count(*) FROM customers), p.sku, po.sku
         FROM orders o JOIN order_items i ON i.order_id = o.id
         JOIN products p ON p.id = i.product_id JOIN product_options po ON po.id = i.option_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "processing".into(),
            "confirmed".into(),
            Some("19:40".into()),
            0,
            "example-t-shirt".into(),
            "example-shirt-m".into()
        ),
        "a guest order (no customer object) creates no customer"
    );
}

#[tokio::test]
async fn the_seed_fulfillment_becomes_a_shipment_of_its_order_with_tracking_and_lines() {
    let app = spawn_app().await;
    send(
        &app,
        "orders/create",
        "w-order",
        &order_with(json!({"cancelled_at": null, "financial_status": "paid"})),
    )
    .await;
    settled(&app).await;
    let shipped = fulfillment().replace(r#""status": "pending""#, r#""status": "success""#);
    send(&app, "fulfillments/create", "w-fulfillment", &shipped).await;
    settled(&app).await;
    let shipment: (i64, String, String, String, String, bool, String) = sqlx::query_as(
        "SELECT s.shopify_id, s.status, s.carrier, s.tracking_number, s.tracking_url,
                s.shipped_at IS NOT NULL, o.status
         FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.shopify_id = $1",
    )
    .bind(ORDER_ID)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        shipment,
        (
            123_456,
            "shipped".into(),
            "UPS".into(),
            "1z827wk74630".into(),
            "http://wwwapps.ups.com/etracking/tracking.cgi?InquiryNumber1=1z827wk74630&TypeOfInquiryNumber=T&AcceptUPSLicenseAgreement=yes&submit=Track".into(),
            true,
            "shipped".into()
        ),
        "the order follows its shipment"
    );
    let lines: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT i.shopify_id, si.quantity FROM shipment_items si
         JOIN order_items i ON i.id = si.order_item_id ORDER BY i.shopify_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        lines,
        vec![(141_249_953_214_522_974, 1), (866_550_311_766_439_020, 1)]
    );
}

#[tokio::test]
async fn the_seed_product_lands_with_brand_variants_stock_categories_image_and_link() {
    let app = spawn_app().await;
    send(&app, "products/create", "w-product", &product()).await;
    settled(&app).await;
    let row: (String, String, String, String, i32, String, String, bool) = sqlx::query_as(
        "SELECT p.sku, p.name, b.name, p.price::text, p.stock_quantity, p.image_url, p.url, p.active
         FROM products p JOIN brands b ON b.id = p.brand_id WHERE p.shopify_id = 788032119674292922",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "example-t-shirt".into(),
            "Example T-Shirt".into(),
            "Acme".into(),
            "19.99".into(),
            125,
            "https://cdn.shopify.com/s/assets/shopify_shirt-39bb555874ecaeed0a1170417d58bbcf792f7ceb56acfe758384f788710ba635.png".into(),
            format!("https://{SHOP_DOMAIN}/products/example-t-shirt"),
            true
        )
    );
    let options: Vec<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(o) FROM (
             SELECT shopify_id::text, sku, size, color, stock_quantity, price::text
             FROM product_options ORDER BY sku DESC) o",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        options,
        vec![
            json!({"shopify_id": "642667041472713922", "sku": "example-shirt-s", "size": "Small",
                   "color": null, "stock_quantity": 75, "price": "19.99"}),
            json!({"shopify_id": "757650484644203962", "sku": "example-shirt-m", "size": "Medium",
                   "color": null, "stock_quantity": 50, "price": "19.99"}),
        ]
    );
    let categories: Vec<String> = sqlx::query_scalar(
        "SELECT c.name FROM product_categories pc JOIN categories c ON c.id = pc.category_id ORDER BY c.name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        categories,
        vec!["Shirts", "mens t-shirt example"],
        "Shopify's tags are comma-separated"
    );

    // A later update drops a variant and a tag; a deletion deactivates.
    let mut update: Value = serde_json::from_str(&product()).unwrap();
    update["updated_at"] = json!("2019-03-07T10:00:00Z");
    update["tags"] = json!("");
    update["variants"].as_array_mut().unwrap().truncate(1);
    send(&app, "products/update", "w-update", &update.to_string()).await;
    settled(&app).await;
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM product_options").await,
        1
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM product_categories").await,
        1
    );
    assert_eq!(
        count(&app.pool, "SELECT stock_quantity::int8 FROM products").await,
        75
    );
    send(
        &app,
        "products/delete",
        "w-delete",
        r#"{"id": 788032119674292922}"#,
    )
    .await;
    send(&app, "products/update", "w-late", &product()).await;
    settled(&app).await;
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM products WHERE active").await,
        0,
        "deleted stays deleted"
    );
}

#[tokio::test]
async fn an_older_version_of_an_order_never_overwrites_a_newer_one() {
    let app = spawn_app().await;
    let newer =
        order_with(json!({"updated_at": "2019-03-06T15:00:00-05:00", "total_price": "403.00"}));
    let older = order_with(
        json!({"updated_at": "2019-03-06T14:50:00-05:00", "total_price": "999.00", "note": "older"}),
    );
    let newest =
        order_with(json!({"updated_at": "2019-03-06T15:10:00-05:00", "total_price": "410.00"}));
    send(&app, "orders/create", "w-newer", &newer).await;
    settled(&app).await;
    send(&app, "orders/updated", "w-older", &older).await;
    settled(&app).await;
    let (state, outcome) = state_of(&app, "w-older").await;
    assert_eq!(state, "applied");
    assert!(outcome.unwrap().contains("newer"), "skipped, and says why");
    assert_eq!(
        count(&app.pool, "SELECT total::int8 FROM orders").await,
        403
    );
    send(&app, "orders/updated", "w-newest", &newest).await;
    settled(&app).await;
    assert_eq!(
        count(&app.pool, "SELECT total::int8 FROM orders").await,
        410
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM order_items").await,
        2
    );
}

#[tokio::test]
async fn a_fulfillment_before_its_order_waits_for_it() {
    // Retries so slow that only the order's arrival can wake the fulfillment in time.
    let app = spawn_app_on(fresh_database().await, |s| {
        s.shopify.retry.base = Duration::from_secs(600);
    })
    .await;
    send(&app, "fulfillments/create", "w-fulfillment", &fulfillment()).await;
    eventually(Duration::from_secs(10), "the fulfillment waits", || async {
        count(
            &app.pool,
            "SELECT count(*) FROM shopify_webhooks WHERE waiting_for_order IS NOT NULL",
        )
        .await
            == 1
    })
    .await;
    let (state, outcome) = state_of(&app, "w-fulfillment").await;
    assert_eq!(state, "pending");
    assert!(outcome.unwrap().contains(&ORDER_ID.to_string()));
    assert_eq!(count(&app.pool, "SELECT count(*) FROM shipments").await, 0);
    let status = admin_status(&app).await;
    assert_eq!(
        (
            status["pending"].as_i64(),
            status["waitingForOrder"].as_i64()
        ),
        (Some(1), Some(1))
    );

    send(&app, "orders/create", "w-order", &order()).await;
    eventually(
        Duration::from_secs(10),
        "the shipment is applied",
        || async { count(&app.pool, "SELECT count(*) FROM shipment_items").await == 2 },
    )
    .await;
    assert_eq!(state_of(&app, "w-fulfillment").await.0, "applied");
}

#[tokio::test]
async fn a_webhook_stored_before_a_crash_is_applied_after_restart() {
    let db = fresh_database().await;
    // The first process only stores (its applier is elsewhere, or has not started).
    let first = spawn_app_on(db.clone(), |s| s.shopify.apply_concurrency = 0).await;
    send(&first, "orders/create", "w-crash", &order()).await;
    // A worker claims it, writes part of it, and dies before committing.
    let mut worker = PgConnection::connect_with(&db).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut worker)
        .await
        .unwrap();
    sqlx::raw_sql(
        "BEGIN;
         SELECT id FROM shopify_webhooks FOR UPDATE;
         INSERT INTO customers (email) VALUES ('john@test.com');",
    )
    .execute(&mut worker)
    .await
    .unwrap();
    exec(&first.pool, &format!("SELECT pg_terminate_backend({pid})")).await;
    assert_eq!(state_of(&first, "w-crash").await.0, "pending");

    let second = spawn_app_on(db, |_| {}).await;
    settled(&second).await;
    assert_eq!(state_of(&second, "w-crash").await.0, "applied");
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items),
                (SELECT count(*) FROM customers)",
    )
    .fetch_one(&second.pool)
    .await
    .unwrap();
    assert_eq!(
        counts,
        (1, 2, 1),
        "applied once, nothing left of the dead attempt"
    );
}

#[tokio::test]
async fn a_webhook_that_cannot_be_applied_is_failed_visible_and_reprocessed_once_fixed() {
    let app = spawn_app().await;
    // The shop already sells something under the product's handle.
    exec(
        &app.pool,
        "INSERT INTO products (sku, name, price) VALUES ('example-t-shirt', 'Local shirt', 5)",
    )
    .await;
    send(&app, "products/create", "w-clash", &product()).await;
    settled(&app).await;
    let (state, error) = state_of(&app, "w-clash").await;
    assert_eq!(state, "failed");
    assert!(error.unwrap().contains("products_sku_key"));

    let status = admin_status(&app).await;
    assert_eq!(status["failed"], 1, "{status}");
    assert_eq!(status["received"], 1);
    assert_eq!(status["lastError"]["webhookId"], "w-clash");
    let failed: Value = admin(
        &app,
        reqwest::Method::GET,
        "/admin/shopify/webhooks?state=failed",
        None,
    )
    .await;
    assert_eq!(failed["webhooks"][0]["webhookId"], "w-clash");
    let id = failed["webhooks"][0]["id"].as_i64().unwrap();
    let detail = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/shopify/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(detail["body"]["handle"], "example-t-shirt");

    exec(
        &app.pool,
        "UPDATE products SET sku = 'local-shirt' WHERE shopify_id IS NULL",
    )
    .await;
    let queued = admin(
        &app,
        reqwest::Method::POST,
        "/admin/shopify/webhooks/reprocess",
        Some(json!({})),
    )
    .await;
    assert_eq!(queued["queued"], 1);
    settled(&app).await;
    assert_eq!(state_of(&app, "w-clash").await.0, "applied");
    let status = admin_status(&app).await;
    assert_eq!(
        (status["applied"].as_i64(), status["failed"].as_i64()),
        (Some(1), Some(0))
    );
    assert!(status["lastError"].is_null());
}

#[tokio::test]
async fn an_order_from_shopify_reaches_waymore_as_order_add_and_rfmcube_s_next_crawl() {
    let (app, fake) = connected_app().await;
    send(&app, "orders/create", "w-order", &order()).await;
    eventually(Duration::from_secs(20), "OrderAdd delivered", || async {
        fake.events
            .acknowledged()
            .iter()
            .any(|e| e["event"] == "OrderAdd")
    })
    .await;
    let events = fake.events.acknowledged();
    let order_add = events.iter().find(|e| e["event"] == "OrderAdd").unwrap();
    let details = &order_add["data"]["order_details"];
    assert_eq!(details["email"], "jon@doe.ca");
    assert_eq!(details["total_price"], 403.0);
    assert_eq!(
        order_add["data"]["order_products"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let crawl = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", API_KEY)
        .json(&json!({"from": "2000-01-01T00:00:00Z", "dateField": "createdAt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(crawl.status().as_u16(), 200);
    let crawl: Value = crawl.json().await.unwrap();
    let orders = crawl["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{crawl}");
    assert_eq!(orders[0]["orderReference"], "#9999", "{crawl}");
}

/// The one row `sql` selects, as a JSON object of its columns.
async fn json_row(app: &TestApp, sql: &str) -> Value {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT to_jsonb(r) FROM ({sql}) r"
    )))
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn admin_status(app: &TestApp) -> Value {
    admin(app, reqwest::Method::GET, "/admin/shopify", None).await
}

#[tokio::test]
async fn two_processes_apply_each_webhook_once() {
    let db = fresh_database().await;
    let first = spawn_app_on(db.clone(), |_| {}).await;
    let second = spawn_app_on(db, |_| {}).await;
    for n in 0..40_i64 {
        let body = order_with(json!({
            "id": ORDER_ID + n, "name": format!("#P{n}"),
            "line_items": [
                {"id": 2 * n, "quantity": 1, "price": "1.00", "sku": "A"},
                {"id": 2 * n + 1, "quantity": 2, "price": "2.00", "sku": "B"}
            ]
        }));
        let app = if n % 2 == 0 { &first } else { &second };
        send(app, "orders/create", &format!("w-{n}"), &body).await;
    }
    settled(&first).await;
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items),
                (SELECT count(*) FROM customers),
                (SELECT count(*) FROM shopify_webhooks WHERE state = 'applied' AND attempts = 1)",
    )
    .fetch_one(&first.pool)
    .await
    .unwrap();
    assert_eq!(
        counts,
        (40, 80, 1, 40),
        "each applied once, the shared buyer once"
    );
}
