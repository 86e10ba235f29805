//! The `medusa-v2` preset over a store's tables as Medusa 2.0.0 makes and writes them.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use shopbridge::shop::{self, check, Mapping};

use super::{add_hook, catalog, exported, hooks, mapped_app, receiver, shop_database, shop_writes};
use crate::events::eventually;
use crate::helpers::assert_error;
use crate::helpers::TestApp;
use crate::integrations::{configure, SHOPIFY};
use crate::rfmcube::{crawl, post_ok, Mode};
use crate::workflows::{self, trigger_id};

const SCHEMA: &str = include_str!("medusa_v2.sql");

/// A Medusa value's raw form, as its BigNumber columns keep it beside the number.
fn raw(value: &str) -> String {
    format!("jsonb_build_object('value', '{value}', 'precision', 20)")
}

/// The statements Medusa's create-order workflow runs for order `n` (one transaction): its
/// shipping address, the order at version 1, its line items and their version-1 items,
/// the version-1 summary and the shipping method. `items` are (sku, title, quantity, unit
/// price in major units).
fn place_order(n: u32, customer: &str, at: &str, items: &[(&str, &str, u32, &str)]) -> String {
    let total: f64 = items
        .iter()
        .map(|(_, _, q, p)| f64::from(*q) * p.parse::<f64>().unwrap())
        .sum::<f64>()
        + 4.9;
    let mut sql = format!(
        "INSERT INTO order_address (id, customer_id, first_name, last_name, address_1, city,
                                    country_code, province, postal_code, created_at, updated_at)
         VALUES ('caaddr_{n}', '{customer}', 'Maria', 'Rossi', 'Via Roma 1', 'Milano', 'it',
                 'MI', '20121', '{at}', '{at}');
         INSERT INTO \"order\" (id, region_id, customer_id, version, sales_channel_id, status,
                              email, currency_code, shipping_address_id, billing_address_id,
                              created_at, updated_at)
         VALUES ('order_01JD{n:04}', 'reg_01EU', '{customer}', 1, 'sc_01DEFAULT', 'pending',
                 'maria.rossi@example.com', 'eur', 'caaddr_{n}', 'caaddr_{n}', '{at}', '{at}');
         INSERT INTO order_summary (id, order_id, version, totals, created_at, updated_at)
         VALUES ('ordsum_{n}_1', 'order_01JD{n:04}', 1, {totals}, '{at}', '{at}');
         INSERT INTO order_shipping_method (id, name, amount, raw_amount, created_at, updated_at)
         VALUES ('ordsm_{n}', 'Standard Shipping', 4.9, {raw_shipping}, '{at}', '{at}');
         INSERT INTO order_shipping (id, order_id, version, shipping_method_id, created_at,
                                     updated_at)
         VALUES ('ordspmv_{n}', 'order_01JD{n:04}', 1, 'ordsm_{n}', '{at}', '{at}');",
        totals = totals(total, 0.0),
        raw_shipping = raw("4.9"),
    );
    for (i, (sku, title, quantity, price)) in items.iter().enumerate() {
        let zero = raw("0");
        sql.push_str(&format!(
            "INSERT INTO order_line_item (id, title, variant_id, product_id, product_title,
                                          variant_sku, variant_title, requires_shipping,
                                          is_discountable, is_tax_inclusive, unit_price,
                                          raw_unit_price, created_at, updated_at)
             VALUES ('ordli_{n}_{i}', '{title}', 'variant_{sku}', 'prod_{sku}', '{title}',
                     '{sku}', 'Default', true, true, false, {price}, {raw_price}, '{at}',
                     '{at}');
             INSERT INTO order_item (id, order_id, version, item_id, quantity, raw_quantity,
                                     fulfilled_quantity, raw_fulfilled_quantity,
                                     delivered_quantity, raw_delivered_quantity,
                                     shipped_quantity, raw_shipped_quantity,
                                     return_requested_quantity, raw_return_requested_quantity,
                                     return_received_quantity, raw_return_received_quantity,
                                     return_dismissed_quantity, raw_return_dismissed_quantity,
                                     written_off_quantity, raw_written_off_quantity,
                                     created_at, updated_at)
             VALUES ('orditem_{n}_{i}_1', 'order_01JD{n:04}', 1, 'ordli_{n}_{i}', {quantity},
                     {raw_quantity}, 0, {zero}, 0, {zero}, 0, {zero}, 0, {zero}, 0, {zero}, 0,
                     {zero}, 0, {zero}, '{at}', '{at}');",
            raw_price = raw(price),
            raw_quantity = raw(&quantity.to_string()),
        ));
    }
    sql
}

/// An order summary's totals as Medusa stores them: each total beside its raw form.
fn totals(total: f64, paid: f64) -> String {
    let fields: Vec<String> = [
        ("current_order_total", total),
        ("original_order_total", total),
        ("transaction_total", paid),
        ("pending_difference", total - paid),
        ("difference_sum", 0.0),
        ("paid_total", paid),
        ("refunded_total", 0.0),
    ]
    .iter()
    .map(|(name, value)| {
        format!(
            "'{name}', {value}, 'raw_{name}', {}",
            raw(&value.to_string())
        )
    })
    .collect();
    format!("jsonb_build_object({})", fields.join(", "))
}

/// An order edit as Medusa confirms one: version 2 of every item (the first one's quantity
/// changed), version 2 of the summary, the order moved to version 2.
fn edit_order(n: u32, items: usize, first_quantity: u32, total: f64, at: &str) -> String {
    format!(
        "INSERT INTO order_item (id, order_id, version, item_id, quantity, raw_quantity,
                                 fulfilled_quantity, raw_fulfilled_quantity, delivered_quantity,
                                 raw_delivered_quantity, shipped_quantity, raw_shipped_quantity,
                                 return_requested_quantity, raw_return_requested_quantity,
                                 return_received_quantity, raw_return_received_quantity,
                                 return_dismissed_quantity, raw_return_dismissed_quantity,
                                 written_off_quantity, raw_written_off_quantity, created_at,
                                 updated_at)
         SELECT 'orditem_{n}_' || i || '_2', order_id, 2, item_id,
                CASE WHEN i = 0 THEN {first_quantity} ELSE quantity END,
                CASE WHEN i = 0 THEN {raw_quantity} ELSE raw_quantity END,
                fulfilled_quantity, raw_fulfilled_quantity, delivered_quantity,
                raw_delivered_quantity, shipped_quantity, raw_shipped_quantity,
                return_requested_quantity, raw_return_requested_quantity,
                return_received_quantity, raw_return_received_quantity,
                return_dismissed_quantity, raw_return_dismissed_quantity, written_off_quantity,
                raw_written_off_quantity, '{at}', '{at}'
         FROM order_item, generate_series(0, {last}) i
         WHERE id = 'orditem_{n}_' || i || '_1';
         INSERT INTO order_summary (id, order_id, version, totals, created_at, updated_at)
         VALUES ('ordsum_{n}_2', 'order_01JD{n:04}', 2, {totals}, '{at}', '{at}');
         UPDATE \"order\" SET version = 2, updated_at = '{at}' WHERE id = 'order_01JD{n:04}';",
        raw_quantity = raw(&first_quantity.to_string()),
        last = items - 1,
        totals = totals(total, 0.0),
    )
}

fn add_customers(n: u32, at: &str) -> String {
    format!(
        "INSERT INTO customer (id, first_name, last_name, email, phone, has_account, created_at,
                               updated_at)
         SELECT 'cus_01JD' || lpad(g::text, 4, '0'), 'Name' || g, 'Surname' || g,
                'customer' || g || '@example.com', '+39 02 ' || g, true, '{at}', '{at}'
         FROM generate_series(1, {n}) g;
         INSERT INTO customer_address (id, customer_id, is_default_shipping, address_1, city,
                                       country_code, postal_code, created_at, updated_at)
         SELECT 'cuaddr_' || g, 'cus_01JD' || lpad(g::text, 4, '0'), true, 'Via ' || g,
                'Torino', 'it', '10100', '{at}', '{at}'
         FROM generate_series(1, {n}) g;"
    )
}

async fn medusa_store() -> PgConnectOptions {
    shop_database(SCHEMA).await
}

const WINDOW: &str = "2026-03-01T00:00:00Z";
const WINDOW_END: &str = "2026-03-02T00:00:00Z";

#[tokio::test]
async fn the_pull_reads_a_medusa_order_as_its_current_version_stands() {
    let store = medusa_store().await;
    shop_writes(&store, &add_customers(2, "2026-03-01T08:00:00Z")).await;
    shop_writes(
        &store,
        &place_order(
            1,
            "cus_01JD0001",
            "2026-03-01T09:00:00Z",
            &[("TSHIRT-M", "T-shirt M", 2, "19.5"), ("MUG", "Mug", 1, "8")],
        ),
    )
    .await;
    shop_writes(
        &store,
        &place_order(
            2,
            "cus_01JD0002",
            "2026-03-01T10:00:00Z",
            &[("MUG", "Mug", 4, "8")],
        ),
    )
    .await;
    // The first order edited: three T-shirts instead of two.
    shop_writes(&store, &edit_order(1, 2, 3, 71.4, "2026-03-01T11:00:00Z")).await;
    let app = mapped_app(store, Mapping::MedusaV2).await;

    let body = post_ok(
        &app,
        "/rfmcube/orders",
        &json!({"from": WINDOW, "to": WINDOW_END}),
    )
    .await;
    let orders = body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "{body}");
    let (second, first) = (&orders[0], &orders[1]);
    assert_eq!(first["id"], "order_01JD0001");
    assert_eq!(first["orderReference"], "1");
    assert_eq!(first["amount"], 71.4, "the edited version's total");
    assert_eq!(first["currency"], "EUR");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["statusLabel"], "Pending");
    assert_eq!(first["customerId"], "cus_01JD0001");
    assert_eq!(first["shippingMethod"], "Standard Shipping");
    assert_eq!(first["delivery"]["city"], "Milano");
    assert_eq!(first["delivery"]["country"], "IT");
    assert_eq!(first["updatedAt"], "2026-03-01T11:00:00Z");
    let items: Vec<(Value, Value, Value)> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["sku"].clone(), i["quantity"].clone(), i["price"].clone()))
        .collect();
    assert_eq!(
        items,
        [
            (json!("TSHIRT-M"), json!(3), json!(19.5)),
            (json!("MUG"), json!(1), json!(8))
        ],
        "items of the current version, once each"
    );
    assert_eq!(second["id"], "order_01JD0002");
    assert_eq!(second["amount"], 36.9);
    assert_eq!(second["items"][0]["item_id"], "ordli_2_0");
    assert_eq!(second["items"][0]["product_id"], "prod_MUG");

    // The same totals as PostgreSQL reads them from Medusa's tables.
    let mut conn = PgConnection::connect_with(&app_options(&app))
        .await
        .unwrap();
    let direct: Vec<(String, f64)> = sqlx::query_as(
        "SELECT o.id, (s.totals ->> 'current_order_total')::float8
         FROM public.\"order\" o
         JOIN public.order_summary s ON s.order_id = o.id AND s.version = o.version
         ORDER BY o.updated_at, o.id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let pulled: Vec<(String, f64)> = orders
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().into(),
                o["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pulled, direct);
}

fn app_options(app: &TestApp) -> PgConnectOptions {
    (*app.pool.connect_options()).clone()
}

#[tokio::test]
async fn keyset_paging_walks_medusa_customers_by_their_text_ids_once_each() {
    let store = medusa_store().await;
    // Seven customers stamped in one instant: only their ids tell the pages apart.
    shop_writes(&store, &add_customers(7, "2026-03-01T08:00:00Z")).await;
    shop_writes(
        &store,
        "UPDATE customer SET deleted_at = now() WHERE id = 'cus_01JD0004'",
    )
    .await;
    let app = mapped_app(store, Mapping::MedusaV2).await;

    let window = json!({"from": WINDOW, "to": WINDOW_END});
    for mode in [Mode::Cursor, Mode::Pages] {
        let rows = crawl(&app, "/rfmcube/customers", window.clone(), 2, mode).await;
        let ids: Vec<&str> = rows.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "cus_01JD0001",
                "cus_01JD0002",
                "cus_01JD0003",
                "cus_01JD0005",
                "cus_01JD0006",
                "cus_01JD0007"
            ],
            "{mode:?}: each once, the soft-deleted one left out"
        );
        assert_eq!(rows[0]["email"], "customer1@example.com");
        assert_eq!(rows[0]["city"], "Torino");
        assert_eq!(rows[0]["country"], "IT");
    }
}

#[tokio::test]
async fn an_order_placed_the_way_medusa_writes_it_reaches_a_webhook_as_order_created() {
    let store = medusa_store().await;
    shop_writes(&store, &add_customers(1, "2026-03-01T08:00:00Z")).await;
    let app = mapped_app(store.clone(), Mapping::MedusaV2).await;
    let receiver = receiver().await;
    add_hook(&app, &receiver, json!(["order.*", "customer.*"])).await;

    shop_writes(
        &store,
        &place_order(
            1,
            "cus_01JD0001",
            "2026-03-01T09:00:00Z",
            &[("TSHIRT-M", "T-shirt M", 2, "19.5"), ("MUG", "Mug", 1, "8")],
        ),
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "order.created delivered",
        || async { !hooks(&receiver).await.is_empty() },
    )
    .await;
    let created = &hooks(&receiver).await[0];
    assert_eq!(created["name"], "order.created");
    assert_eq!(
        created["entity"],
        json!({"type": "order", "id": "order_01JD0001"})
    );
    let order = &created["payload"]["order"];
    assert_eq!(order["id"], "order_01JD0001");
    assert_eq!(order["total"], 51.9);
    assert_eq!(order["delivery"]["city"], "Milano");
    assert_eq!(
        created["payload"]["customer"]["email"],
        "customer1@example.com"
    );
    let skus: Vec<&str> = created["payload"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["TSHIRT-M", "MUG"], "every item, read at commit");

    // An edit is one order.updated with the new version; a write that changes nothing the
    // mapping reads (Medusa's metadata) is none.
    shop_writes(&store, &edit_order(1, 2, 3, 71.4, "2026-03-01T11:00:00Z")).await;
    shop_writes(
        &store,
        "UPDATE \"order\" SET metadata = '{\"note\": \"gift\"}' WHERE id = 'order_01JD0001'",
    )
    .await;
    shop_writes(
        &store,
        "UPDATE customer SET deleted_at = now() WHERE id = 'cus_01JD0001'",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the edit and the deletion delivered",
        || async { hooks(&receiver).await.len() >= 3 },
    )
    .await;
    let received = hooks(&receiver).await;
    let names: Vec<&str> = received
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["order.created", "order.updated", "customer.deleted"]
    );
    assert_eq!(received[1]["payload"]["order"]["total"], 71.4);
    assert_eq!(received[1]["payload"]["items"][0]["quantity"], 3);
    assert_eq!(
        received[2]["payload"],
        json!({"id": "cus_01JD0001", "email": null}),
        "no customer event was recorded before, so its email is not known"
    );
}

#[tokio::test]
async fn uninstall_leaves_the_medusa_schema_as_it_was() {
    let store = medusa_store().await;
    let mut conn = PgConnection::connect_with(&store).await.unwrap();
    let before = catalog(&mut conn).await;
    let app = mapped_app(store.clone(), Mapping::MedusaV2).await;
    shop_writes(&store, &add_customers(1, "2026-03-01T08:00:00Z")).await;
    shop_writes(
        &store,
        &place_order(
            1,
            "cus_01JD0001",
            "2026-03-01T09:00:00Z",
            &[("MUG", "Mug", 1, "8")],
        ),
    )
    .await;
    let installed = catalog(&mut conn).await;
    assert!(
        installed
            .iter()
            .any(|c| c.starts_with("trigger shopbridge_capture")),
        "capture is on the shop's tables"
    );
    assert_eq!(
        installed
            .iter()
            .filter(|c| c.starts_with("column "))
            .count(),
        before.iter().filter(|c| c.starts_with("column ")).count(),
        "no table or column added to the shop's schema"
    );
    app.pool.close().await;

    shop::uninstall(&mut conn).await.unwrap();
    assert_eq!(catalog(&mut conn).await, before);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM public.\"order\"")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(orders, 1, "the shop's rows stay");
}

#[tokio::test]
async fn mapping_check_names_the_indexes_medusa_lacks_until_they_exist() {
    let store = medusa_store().await;
    let mut conn = PgConnection::connect_with(&store).await.unwrap();
    assert_eq!(
        check::detect(&mut conn).await.unwrap(),
        Some(Mapping::MedusaV2)
    );
    let app = mapped_app(store.clone(), Mapping::MedusaV2).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let report = check::check(&mut conn, &Mapping::MedusaV2).await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert!(
        report.empty.contains(&"carts".to_string()),
        "{:?}",
        report.empty
    );
    assert!(
        report.create_indexes.contains(
            &"CREATE INDEX CONCURRENTLY ON \"order\" (updated_at, id) WHERE deleted_at IS NULL;"
                .to_string()
        ),
        "{:?}",
        report.create_indexes
    );
    for statement in &report.create_indexes {
        let statement = statement.replace(" CONCURRENTLY", "");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let report = check::check(&mut conn, &Mapping::MedusaV2).await.unwrap();
    assert_eq!(report.create_indexes, Vec::<String>::new());
}

#[tokio::test]
async fn a_mapping_that_leaves_out_a_column_does_not_check() {
    let store = medusa_store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.sql");
    std::fs::write(
        &file,
        "CREATE VIEW customers AS
         SELECT c.id, coalesce(c.email, '') AS email, c.first_name AS firstname,
                c.last_name AS lastname, c.created_at, c.updated_at
         FROM public.customer c;",
    )
    .unwrap();
    let mapping = Mapping::parse(file.to_str().unwrap()).unwrap();
    let app = mapped_app(store, mapping.clone()).await;
    let report = check::check(&mut app.pool.acquire().await.unwrap(), &mapping)
        .await
        .unwrap();
    assert_eq!(
        report.problems,
        [
            "customers: no column `phone`",
            "customers: no column `birthday`"
        ]
    );
}

fn add_products(n: u32) -> String {
    format!(
        "INSERT INTO product_collection (id, title, handle)
         VALUES ('pcol_01SUMMER', 'Summer', 'summer');
         INSERT INTO product (id, title, handle, description, status, collection_id, thumbnail)
         SELECT 'prod_01JD' || lpad(g::text, 4, '0'), 'Product ' || g, 'product-' || g,
                'About product ' || g, 'published', 'pcol_01SUMMER', 'https://cdn.test/' || g
         FROM generate_series(1, {n}) g;
         INSERT INTO product_variant (id, title, sku, product_id)
         SELECT 'variant_01JD' || lpad(g::text, 4, '0') || v, 'Size ' || v,
                'SKU-' || g || '-' || v, 'prod_01JD' || lpad(g::text, 4, '0')
         FROM generate_series(1, {n}) g, unnest(ARRAY['S', 'M']) v;"
    )
}

#[tokio::test]
async fn the_waymore_export_sends_a_medusa_store_s_history_once_in_parts() {
    let store = medusa_store().await;
    shop_writes(&store, &add_customers(23, "2026-03-01T08:00:00Z")).await;
    shop_writes(&store, &add_products(9)).await;
    for n in 1..=17 {
        let customer = format!("cus_01JD{:04}", 1 + n % 23);
        shop_writes(
            &store,
            &place_order(
                n,
                &customer,
                "2026-03-01T09:00:00Z",
                &[("MUG", "Mug", n, "8")],
            ),
        )
        .await;
    }
    let sent = exported(store, Mapping::MedusaV2, 5).await;
    let ids = |entity: &str, id: fn(&Value) -> String| -> Vec<String> {
        let mut ids: Vec<String> = sent
            .get(entity)
            .map_or(vec![], |o| o.iter().map(id).collect());
        ids.sort();
        ids
    };
    let customers = ids("customers", |o| {
        o["customer"]["id"].as_str().unwrap().into()
    });
    assert_eq!(customers.len(), 23);
    assert_eq!(customers[0], "cus_01JD0001");
    let orders = ids("orders", |o| {
        o["order_details"]["order_id"].as_str().unwrap().into()
    });
    let expected: Vec<String> = (1..=17).map(|n| format!("order_01JD{n:04}")).collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(orders, expected, "every order once");
    let products = ids("products", |o| o["product_id"].as_str().unwrap().into());
    assert_eq!(products.len(), 9);
    let order_7 = sent["orders"]
        .iter()
        .find(|o| o["order_details"]["order_id"] == "order_01JD0007")
        .unwrap();
    assert_eq!(order_7["order_details"]["total_price"], "60.9");
    assert_eq!(order_7["order_products"][0]["quantity"], "7");
    let product = sent["products"]
        .iter()
        .find(|p| p["product_id"] == "prod_01JD0001")
        .unwrap();
    assert_eq!(product["product_options"].as_array().unwrap().len(), 2);
    assert_eq!(product["image_link"], "https://cdn.test/1");
}

#[tokio::test]
async fn what_would_write_a_mapped_shop_is_refused_naming_the_mapping() {
    let app = mapped_app(medusa_store().await, Mapping::MedusaV2).await;
    let shopify = configure(
        &app,
        &json!({
            "providerId": SHOPIFY,
            "credentials": {"apiSecret": "0123456789abcdef", "storeUrl": "https://demo.myshopify.com"},
            "settings": {}
        }),
    )
    .await;
    let message = assert_error(shopify, 400, "CONFIGURATION_ERROR").await;
    assert!(message.contains("mapping medusa-v2"), "{message}");

    let trigger = trigger_id(&app, "Order", "order_status_changed").await;
    let status = workflows::post(
        &app,
        "/api/workflows/configure",
        &json!({"name": "ship it", "entityType": "Order", "triggerId": trigger,
                "action": {"type": "update_status", "status": "completed"}, "conditions": {}}),
    )
    .await;
    let message = assert_error(status, 409, "CONFLICT").await;
    assert!(message.contains("mapping medusa-v2"), "{message}");
}

#[tokio::test]
async fn a_medusa_store_is_not_given_the_reference_tables_by_mistake() {
    let store = medusa_store().await;
    let mut conn = PgConnection::connect_with(&store).await.unwrap();
    let before = catalog(&mut conn).await;
    let refused = shopbridge::db::migrate(&mut conn, &Mapping::Reference)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("SHOP_MAPPING=medusa-v2"),
        "{refused}"
    );
    assert_eq!(catalog(&mut conn).await, before, "nothing installed");
}

#[tokio::test]
async fn a_product_created_with_its_variants_is_one_product_created() {
    let store = medusa_store().await;
    let app = mapped_app(store.clone(), Mapping::MedusaV2).await;
    let receiver = receiver().await;
    add_hook(&app, &receiver, json!(["product.*"])).await;

    shop_writes(&store, &add_products(1)).await;
    shop_writes(
        &store,
        "UPDATE product_variant SET sku = 'SKU-1-L', updated_at = now()
         WHERE id = 'variant_01JD0001M'",
    )
    .await;
    eventually(Duration::from_secs(10), "both events delivered", || async {
        hooks(&receiver).await.len() >= 2
    })
    .await;
    let received = hooks(&receiver).await;
    assert_eq!(received[0]["name"], "product.created");
    let product = &received[0]["payload"];
    assert_eq!(product["product"]["id"], "prod_01JD0001");
    assert_eq!(product["product"]["brand"], "Summer");
    let skus: Vec<&str> = product["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus.len(), 2, "both variants, read at commit");
    assert_eq!(received[1]["name"], "product.updated");
    assert!(received[1]["payload"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["sku"] == "SKU-1-L"));
}
