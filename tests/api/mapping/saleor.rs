//! The `saleor` preset over a store's tables as Saleor 3.20 makes and writes them.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use shopbridge::shop::{self, check, Mapping};

use super::{add_hook, catalog, exported, hooks, mapped_app, receiver, shop_database, shop_writes};
use crate::events::eventually;
use crate::rfmcube::{crawl, post_ok, Mode};

const SCHEMA: &str = include_str!("saleor.sql");

/// A channel, a product type and category, and `products` products with two variants each
/// (variant ids `10 * product + 1` and `+ 2`), as Saleor's dashboard creates them.
fn catalogue(products: u32) -> String {
    format!(
        "INSERT INTO channel_channel (id, name, slug, is_active, currency_code, default_country)
         VALUES (1, 'Default channel', 'default-channel', true, 'EUR', 'IT');
         INSERT INTO product_producttype (id, name, slug, kind, has_variants,
                                          is_shipping_required)
         VALUES (1, 'Apparel', 'apparel', 'normal', true, true);
         INSERT INTO product_category (id, name, slug, description_plaintext, lft, rght,
                                       tree_id, level, updated_at)
         VALUES (1, 'Shirts', 'shirts', '', 1, 2, 1, 0, '2026-02-01T00:00:00Z');
         INSERT INTO product_product (id, name, slug, description_plaintext, product_type_id,
                                      category_id, created_at, updated_at, search_document,
                                      search_index_dirty)
         SELECT g, 'Shirt ' || g, 'shirt-' || g, 'A shirt', 1, 1, '2026-02-01T00:00:00Z',
                '2026-02-01T00:00:00Z', '', false
         FROM generate_series(1, {products}) g;
         INSERT INTO product_productvariant (id, sku, name, product_id, track_inventory,
                                             is_preorder, sort_order, created_at, updated_at)
         SELECT 10 * g + v, 'SHIRT-' || g || '-' || v, CASE v WHEN 1 THEN 'S' ELSE 'M' END, g,
                true, false, v, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z'
         FROM generate_series(1, {products}) g, generate_series(1, 2) v;"
    )
}

/// Customer `n` signing up: the user, their address, linked and made the default.
fn sign_up(n: u32, at: &str) -> String {
    format!(
        "INSERT INTO account_address (id, first_name, last_name, company_name,
                                      street_address_1, street_address_2, city, city_area,
                                      postal_code, country, country_area, phone)
         VALUES ({n}, 'Name{n}', 'Surname{n}', '', 'Via {n}', '', 'ROMA', '', '00100', 'IT',
                 'RM', '+390600{n}');
         INSERT INTO account_user (id, password, email, first_name, last_name, is_staff,
                                   is_active, is_confirmed, date_joined, updated_at,
                                   default_shipping_address_id, default_billing_address_id,
                                   language_code, uuid, search_document)
         VALUES ({n}, '!', 'user{n}@example.com', 'Name{n}', 'Surname{n}', false, true, true,
                 '{at}', '{at}', {n}, {n}, 'en', gen_random_uuid(), '');
         INSERT INTO account_user_addresses (user_id, address_id) VALUES ({n}, {n});"
    )
}

/// What Saleor's checkout completion writes for order `n` of `user`: a copy of the address
/// for the order, the order (unconfirmed totals first), its lines, then the totals, in one
/// transaction. Lines are (variant, quantity, gross unit price).
fn checkout(n: u32, user: u32, at: &str, lines: &[(u32, u32, &str)]) -> String {
    let total: f64 = lines
        .iter()
        .map(|(_, q, p)| f64::from(*q) * p.parse::<f64>().unwrap())
        .sum::<f64>()
        + 5.0;
    let id = order_id(n);
    let address = 1000 + n;
    let mut sql = format!(
        "INSERT INTO account_address (id, first_name, last_name, company_name,
                                      street_address_1, street_address_2, city, city_area,
                                      postal_code, country, country_area, phone)
         VALUES ({address}, 'Name{user}', 'Surname{user}', '', 'Via {user}', '', 'ROMA', '',
                 '00100', 'IT', 'RM', '');
         INSERT INTO order_order (id, use_old_id, created_at, updated_at, status,
             authorize_status, charge_status, user_id, language_code, tracking_client_id,
             billing_address_id, shipping_address_id, user_email, origin, currency,
             shipping_method_name, channel_id, shipping_price_net_amount,
             shipping_price_gross_amount, base_shipping_price_amount,
             undiscounted_base_shipping_price_amount, checkout_token, total_net_amount,
             undiscounted_total_net_amount, total_gross_amount, undiscounted_total_gross_amount,
             total_charged_amount, total_authorized_amount, subtotal_net_amount,
             subtotal_gross_amount, display_gross_prices, customer_note, weight,
             search_document, should_refresh_prices, tax_exemption)
         VALUES ('{id}', false, '{at}', '{at}', 'unfulfilled', 'full', 'full', {user}, 'en', '',
                 {address}, {address}, 'user{user}@example.com', 'checkout', 'EUR',
                 'DHL', 1, 4.1, 5, 4.1, 4.1, gen_random_uuid()::text, 0, 0, 0, 0, 0, 0, 0, 0,
                 true, '', 0, '', false, false);"
    );
    for (i, (variant, quantity, price)) in lines.iter().enumerate() {
        let line = format!("0190f5a1-0000-7000-9000-{n:08}{i:04}");
        sql.push_str(&format!(
            "INSERT INTO order_orderline (id, created_at, order_id, variant_id, product_name,
                 variant_name, translated_product_name, translated_variant_name, product_sku,
                 product_variant_id, is_shipping_required, is_gift_card, quantity,
                 quantity_fulfilled, is_gift, currency, unit_discount_amount,
                 unit_discount_value, unit_price_net_amount, unit_price_gross_amount,
                 total_price_net_amount, total_price_gross_amount,
                 undiscounted_unit_price_gross_amount, undiscounted_unit_price_net_amount,
                 undiscounted_total_price_gross_amount, undiscounted_total_price_net_amount,
                 base_unit_price_amount, undiscounted_base_unit_price_amount)
             SELECT '{line}', '{at}', '{id}', v.id, p.name, v.name, '', '', v.sku,
                    'UHJvZHVjdFZhcmlhbnQ6' || v.id, true, false, {quantity}, 0, false, 'EUR', 0,
                    0, {price} / 1.22, {price}, {quantity} * {price} / 1.22,
                    {quantity} * {price}, {price}, {price} / 1.22, {quantity} * {price},
                    {quantity} * {price} / 1.22, {price}, {price}
             FROM product_productvariant v JOIN product_product p ON p.id = v.product_id
             WHERE v.id = {variant};"
        ));
    }
    sql.push_str(&format!(
        "UPDATE order_order SET total_gross_amount = {total}, total_net_amount = {total} / 1.22,
                subtotal_gross_amount = {subtotal}, total_charged_amount = {total},
                updated_at = '{at}'
         WHERE id = '{id}';",
        subtotal = total - 5.0,
    ));
    sql
}

fn order_id(n: u32) -> String {
    format!("0190f5a1-0000-7000-8000-{n:012}")
}

async fn saleor_store() -> sqlx::postgres::PgConnectOptions {
    shop_database(SCHEMA).await
}

#[tokio::test]
async fn the_pull_reads_saleor_orders_with_their_statuses_and_gross_totals() {
    let store = saleor_store().await;
    shop_writes(&store, &catalogue(3)).await;
    shop_writes(&store, &sign_up(1, "2026-03-01T08:00:00Z")).await;
    shop_writes(
        &store,
        &checkout(
            1,
            1,
            "2026-03-01T09:00:00Z",
            &[(11, 2, "24.4"), (22, 1, "12.2")],
        ),
    )
    .await;
    shop_writes(
        &store,
        &checkout(2, 1, "2026-03-01T09:30:00Z", &[(31, 1, "24.4")]),
    )
    .await;
    // Part of the first order shipped; a draft the staff is preparing is no order yet.
    shop_writes(
        &store,
        &format!(
            "UPDATE order_order SET status = 'partially fulfilled', updated_at = '2026-03-01T10:00:00Z'
             WHERE id = '{}';
             UPDATE order_order SET status = 'draft' WHERE id = '{}';",
            order_id(1),
            order_id(2)
        ),
    )
    .await;
    let app = mapped_app(store, Mapping::Saleor).await;

    let body = post_ok(
        &app,
        "/rfmcube/orders",
        &json!({"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}),
    )
    .await;
    let orders = body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "the draft is left out: {body}");
    let order = &orders[0];
    assert_eq!(order["id"], order_id(1));
    assert_eq!(order["orderReference"], "1");
    assert_eq!(order["status"], "partially fulfilled");
    assert_eq!(order["statusLabel"], "Partially fulfilled");
    assert_eq!(order["amount"], 66.0);
    assert_eq!(order["customerId"], "1");
    assert_eq!(order["shippingMethod"], "DHL");
    assert_eq!(order["delivery"]["city"], "ROMA");
    let items: Vec<(Value, Value, Value, Value)> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sku"].clone(),
                i["name"].clone(),
                i["quantity"].clone(),
                i["price"].clone(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                json!("SHIRT-1-1"),
                json!("Shirt 1 (S)"),
                json!(2),
                json!(24.4)
            ),
            (
                json!("SHIRT-2-2"),
                json!("Shirt 2 (M)"),
                json!(1),
                json!(12.2)
            ),
        ]
    );
    let customers = crawl(
        &app,
        "/rfmcube/customers",
        json!({"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}),
        10,
        Mode::Cursor,
    )
    .await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["phone"], "+3906001");
    assert_eq!(customers[0]["postcode"], "00100");
}

#[tokio::test]
async fn a_saleor_checkout_is_one_order_created_and_a_fulfilment_an_update() {
    let store = saleor_store().await;
    shop_writes(&store, &catalogue(2)).await;
    shop_writes(&store, &sign_up(1, "2026-03-01T08:00:00Z")).await;
    let app = mapped_app(store.clone(), Mapping::Saleor).await;
    let receiver = receiver().await;
    add_hook(&app, &receiver, json!(["order.*", "customer.*"])).await;

    shop_writes(&store, &sign_up(2, "2026-03-01T08:30:00Z")).await;
    shop_writes(
        &store,
        &checkout(1, 2, "2026-03-01T09:00:00Z", &[(11, 2, "24.4")]),
    )
    .await;
    shop_writes(
        &store,
        &format!(
            "UPDATE order_order SET status = 'partially fulfilled', updated_at = now()
             WHERE id = '{}'",
            order_id(1)
        ),
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "three events delivered",
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
        ["customer.created", "order.created", "order.updated"]
    );
    assert_eq!(received[0]["entity"]["id"], "2");
    assert_eq!(received[0]["payload"]["addresses"][0]["city"], "ROMA");
    let created = &received[1]["payload"];
    assert_eq!(
        created["order"]["total"], 53.8,
        "the totals written last in the transaction"
    );
    assert_eq!(created["order"]["payment_state"], "confirmed");
    assert_eq!(created["customer"]["email"], "user2@example.com");
    assert_eq!(
        received[2]["payload"]["order"]["status"],
        "partially fulfilled"
    );
}

#[tokio::test]
async fn the_waymore_export_sends_saleor_s_integer_and_uuid_keyed_history() {
    let store = saleor_store().await;
    shop_writes(&store, &catalogue(4)).await;
    for n in 1..=6 {
        shop_writes(&store, &sign_up(n, "2026-03-01T08:00:00Z")).await;
    }
    for n in 1..=9 {
        shop_writes(
            &store,
            &checkout(n, 1 + n % 6, "2026-03-01T09:00:00Z", &[(21, n, "10")]),
        )
        .await;
    }
    let sent = exported(store, Mapping::Saleor, 4).await;
    let mut orders: Vec<String> = sent["orders"]
        .iter()
        .map(|o| o["order_details"]["order_id"].as_str().unwrap().to_owned())
        .collect();
    orders.sort();
    assert_eq!(orders, (1..=9).map(order_id).collect::<Vec<_>>());
    assert_eq!(sent["customers"].len(), 6);
    assert_eq!(sent["products"].len(), 4);
    let order_3 = sent["orders"]
        .iter()
        .find(|o| o["order_details"]["order_id"] == order_id(3))
        .unwrap();
    assert_eq!(order_3["order_details"]["total_price"], "35.000");
    assert_eq!(order_3["order_details"]["customer_id"], "4");
    assert_eq!(order_3["order_products"][0]["product_id"], "2");
}

#[tokio::test]
async fn saleor_is_detected_and_uninstall_leaves_its_schema_as_it_was() {
    let store = saleor_store().await;
    let mut conn = PgConnection::connect_with(&store).await.unwrap();
    assert_eq!(
        check::detect(&mut conn).await.unwrap(),
        Some(Mapping::Saleor)
    );
    let before = catalog(&mut conn).await;
    let app = mapped_app(store.clone(), Mapping::Saleor).await;
    let report = check::check(&mut app.pool.acquire().await.unwrap(), &Mapping::Saleor)
        .await
        .unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    app.pool.close().await;
    shop::uninstall(&mut conn).await.unwrap();
    assert_eq!(catalog(&mut conn).await, before);
}
