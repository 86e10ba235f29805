//! Real-time events: plain SQL changes in the shop tables reach Waymore, in seed 000's shapes.

use serde_json::{json, Value};

use crate::events::{acknowledged, connected, exec, one_at_a_time_app, shop_then_connect, SHOP};

#[tokio::test]
async fn changes_made_before_connecting_are_not_sent() {
    let (app, fake) = one_at_a_time_app().await;
    exec(&app.pool, SHOP).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('before')",
    )
    .await;
    connected(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('after')",
    )
    .await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["data"]["search_string"], "after");
}

#[tokio::test]
async fn customer_add_carries_the_addresses_of_its_transaction() {
    let (app, fake) = one_at_a_time_app().await;
    connected(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO customers (id, email, firstname, lastname, phone, birthday) VALUES (7, 'ana@example.com', 'Ana', 'Silva', '0123', '2000-01-01');
        INSERT INTO customer_addresses (customer_id, is_default, address1, city, postcode, country, company) VALUES (7, true, 'Rua 1', 'Lisbon', '1100', 'Portugal', '');
        COMMIT;").await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "CustomerAdd");
    assert_eq!(
        events[0]["data"],
        json!({
            "customer": {"id": "7", "lastname": "Silva", "firstname": "Ana", "birthday": "2000-01-01", "email": "ana@example.com", "phone": "0123"},
            "addresses": [{"country": "Portugal", "city": "Lisbon", "address1": "Rua 1", "postcode": "1100", "company": ""}]
        })
    );
}

#[tokio::test]
async fn customer_update_is_one_event_for_fields_and_addresses_changed_together() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "BEGIN;
        UPDATE customers SET firstname = 'Johnny' WHERE id = 1061;
        UPDATE customer_addresses SET city = 'Boston' WHERE customer_id = 1061;
        INSERT INTO customer_addresses (customer_id, city) VALUES (1061, 'Albany');
        COMMIT;",
    )
    .await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "CustomerUpdate");
    assert_eq!(events[0]["data"]["customer"]["firstname"], "Johnny");
    assert_eq!(events[0]["data"]["addresses"][0]["city"], "Boston");
    assert_eq!(events[0]["data"]["addresses"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn cart_update_shows_the_cart_as_committed_and_an_empty_one_when_the_last_line_goes() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "BEGIN;
        UPDATE cart_items SET quantity = 2 WHERE cart_id = 5;
        INSERT INTO cart_items (cart_id, product_id, quantity) VALUES (5, 778, 1);
        COMMIT;",
    )
    .await;
    exec(&app.pool, "DELETE FROM cart_items WHERE cart_id = 5").await;
    let events = acknowledged(&fake, 2).await;
    assert_eq!(events[0]["event"], "CartUpdate");
    assert_eq!(
        events[0]["data"],
        json!({
            "customer_id": "1061",
            "cart_products": [
                {"product_id": "778", "option_id": "1", "quantity": "2"},
                {"product_id": "778", "option_id": null, "quantity": "1"}
            ],
            "cart_url": "https://shop.test/cart"
        })
    );
    assert_eq!(events[1]["data"]["cart_products"], json!([]));
}

#[tokio::test]
async fn product_add_carries_the_options_of_its_transaction_and_update_follows() {
    let (app, fake) = one_at_a_time_app().await;
    connected(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO categories (id, name) VALUES (1, 'Clothes'), (2, 'Men');
        INSERT INTO products (id, sku, name, description, short_description, price, stock_quantity, image_url, url)
            VALUES (9, 'P9', 't-shirt', 'printed t-shirt', 'printed', 29.4, 499, 'http://example.com/t.jpg', 'http://example.com/t.html');
        INSERT INTO product_categories VALUES (9, 1), (9, 2);
        INSERT INTO product_options (product_id, sku, size, color, stock_quantity, price) VALUES (9, 'P9-S', 'S', 'White', 250, 29.4), (9, 'P9-M', 'M', 'Red', 249, NULL);
        INSERT INTO discounts (product_id, price) VALUES (9, 23.52);
        COMMIT;").await;
    exec(
        &app.pool,
        "UPDATE products SET name = 'printed t-shirt' WHERE id = 9",
    )
    .await;
    let events = acknowledged(&fake, 2).await;
    assert_eq!(events[0]["event"], "ProductAdd");
    let data = &events[0]["data"];
    assert_eq!(data["product_id"], "9");
    assert_eq!(data["categories"], json!(["Clothes", "Men"]));
    assert_eq!(
        (data["stock_quantity"].as_i64(), data["price"].as_f64()),
        (Some(499), Some(29.4))
    );
    assert_eq!(data["image_link"], "http://example.com/t.jpg");
    assert_eq!(data["product_link"], "http://example.com/t.html");
    assert_eq!(data["discount"]["price"], 23.52);
    let options = data["product_options"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options[1]["size"], "M");
    assert_eq!(
        options[1]["price"], 29.4,
        "an option without a price has the product's"
    );
    assert_eq!(events[1]["event"], "ProductUpdate");
    assert_eq!(events[1]["data"]["name"], "printed t-shirt");
}

#[tokio::test]
async fn stock_changes_and_out_of_stock() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 4 WHERE id = 778",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE product_options SET stock_quantity = 99 WHERE id = 1",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 0 WHERE id = 778",
    )
    .await;
    let events = acknowledged(&fake, 4).await;
    let got: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["event"].clone(), e["data"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "stock_quantity": 4})
            ),
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "option_id": "1", "stock_quantity": 99})
            ),
            (
                json!("ProductStockUpdate"),
                json!({"product_id": "778", "stock_quantity": 0})
            ),
            (json!("ProductOutOfStock"), json!({"product_id": "778"})),
        ]
    );
}

#[tokio::test]
async fn order_add_holds_the_items_of_its_transaction_and_a_guest_is_customer_0() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO orders (id, reference, customer_email, status, payment_method, shipping_method, total, delivery_city, delivery_country)
            VALUES (12, 'R12', 'guest@example.com', 'pending', 'Bank transfer', 'My carrier', 103.47, 'myCity', 'Greece');
        INSERT INTO order_items (order_id, product_id, sku, name, quantity, price) VALUES (12, 778, 'TS', 't-shirt', 1, 50);
        INSERT INTO order_items (order_id, product_id, option_id, sku, name, quantity, price) VALUES (12, 778, 1, 'TS-S', 't-shirt', 2, 26.735);
        COMMIT;").await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderAdd");
    let data = &events[0]["data"];
    assert_eq!(data["customer_id"], 0);
    let details = &data["order_details"];
    assert_eq!(details["order_id"], "12");
    assert_eq!(details["order_status"], "Pending");
    assert_eq!(
        (
            details["shipping_method"].as_str(),
            details["payment_method"].as_str()
        ),
        (Some("My carrier"), Some("Bank transfer"))
    );
    assert_eq!(details["total_price"], 103.47);
    assert_eq!(
        (details["email"].as_str(), details["city"].as_str()),
        (Some("guest@example.com"), Some("myCity"))
    );
    for field in [
        "lastname",
        "firstname",
        "birthday",
        "company",
        "newsletter",
        "website",
        "address1",
        "address2",
        "postcode",
        "phone",
        "phone_mobile",
        "country",
    ] {
        assert!(details.get(field).is_some(), "order_details.{field}");
    }
    assert_eq!(
        data["order_products"],
        json!([
            {"product_id": "778", "quantity": "1", "option_id": null},
            {"product_id": "778", "quantity": "2", "option_id": "1"}
        ])
    );
}

#[tokio::test]
async fn order_status_update() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'processing' WHERE id = 123",
    )
    .await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderStatusUpdate");
    assert_eq!(
        events[0]["data"],
        json!({"customer_id": "1061", "order_id": "123", "order_status": "Processing"})
    );
}

#[tokio::test]
async fn order_payment_confirmed() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "UPDATE orders SET payment_state = 'confirmed', payment_confirmed_at = now() WHERE id = 123").await;
    exec(
        &app.pool,
        "UPDATE orders SET payment_method = 'card' WHERE id = 123",
    )
    .await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderPaymentConfirmed");
    assert_eq!(
        events[0]["data"],
        json!({"customer_id": "1061", "order_id": "123"})
    );
}

#[tokio::test]
async fn an_order_changed_in_the_transaction_that_adds_it_is_one_order_add() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(&app.pool, "BEGIN;
        INSERT INTO orders (id, reference, customer_email, status, total) VALUES (13, 'R13', 'g@example.com', 'pending', 5);
        UPDATE orders SET status = 'processing' WHERE id = 13;
        COMMIT;").await;
    let events = acknowledged(&fake, 1).await;
    assert_eq!(events[0]["event"], "OrderAdd");
    assert_eq!(
        events[0]["data"]["order_details"]["order_status"],
        "Processing"
    );
}

/// The events delivered, as (event, data).
fn events_and_data(events: &[Value]) -> Vec<(Value, Value)> {
    events
        .iter()
        .map(|e| (e["event"].clone(), e["data"].clone()))
        .collect()
}

#[tokio::test]
async fn wishlist_add_and_delete() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO wishlist_items (customer_id, product_id) VALUES (1061, 778)",
    )
    .await;
    exec(
        &app.pool,
        "DELETE FROM wishlist_items WHERE customer_id = 1061",
    )
    .await;
    let events = acknowledged(&fake, 2).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("WishlistAdd"),
                json!({"product_id": "778", "customer_id": "1061"})
            ),
            (
                json!("WishlistDelete"),
                json!({"product_id": "778", "customer_id": "1061"})
            ),
        ]
    );
}

#[tokio::test]
async fn newsletter_subscriptions_of_guests_and_customers() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO newsletter_subscriptions (email) VALUES ('guest@example.com')",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE newsletter_subscriptions SET subscribed = false",
    )
    .await;
    exec(&app.pool, "INSERT INTO newsletter_subscriptions (email, customer_id) VALUES ('john@example.com', 1061)").await;
    let events = acknowledged(&fake, 3).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("Newsletter"),
                json!({"customer_id": "0", "email": "guest@example.com", "subscription": true})
            ),
            (
                json!("Newsletter"),
                json!({"customer_id": "0", "email": "guest@example.com", "subscription": false})
            ),
            (
                json!("Newsletter"),
                json!({"customer_id": "1061", "email": "john@example.com", "subscription": true})
            ),
        ]
    );
}

#[tokio::test]
async fn searches_of_visitors_and_customers() {
    let (app, fake) = one_at_a_time_app().await;
    shop_then_connect(&app.pool).await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('blue car')",
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (customer_id, query) VALUES (1061, 'red car')",
    )
    .await;
    let events = acknowledged(&fake, 2).await;
    assert_eq!(
        events_and_data(&events),
        vec![
            (
                json!("Search"),
                json!({"customer_id": "", "search_string": "blue car"})
            ),
            (
                json!("Search"),
                json!({"customer_id": "1061", "search_string": "red car"})
            ),
        ]
    );
}
