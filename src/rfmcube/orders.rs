//! The nightly order crawl: orders with their items, each item with its product's brand
//! and category names, all built in the one page statement.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Extra common table expressions over `base` (the page's orders): their items, and the
/// categories of those items' products only.
pub(super) const CTES_SQL: &str = r#"
page_items AS (
    SELECT oi.* FROM order_items oi WHERE oi.order_id IN (SELECT id FROM base)
),
item_categories AS (
    SELECT pc.product_id, json_agg(cat.name ORDER BY cat.name) AS names
    FROM product_categories pc
    JOIN categories cat ON cat.id = pc.category_id
    WHERE pc.product_id IN (SELECT product_id FROM page_items)
    GROUP BY pc.product_id
),
item_lists AS (
    SELECT i.order_id,
           json_agg(json_build_object(
               'item_id', i.id,
               'product_id', i.product_id,
               'sku', i.sku,
               'name', i.name,
               'brand', b.name,
               'categories', coalesce(ic.names, '[]'::json),
               'quantity', i.quantity,
               'price', i.price) ORDER BY i.id) AS items
    FROM page_items i
    LEFT JOIN products p ON p.id = i.product_id
    LEFT JOIN brands b ON b.id = p.brand_id
    LEFT JOIN item_categories ic ON ic.product_id = i.product_id
    GROUP BY i.order_id
),
"#;

/// An order `o` as Rfmcube receives it, pulled or pushed: with `s` its status row and `il`
/// its item list (from [`CTES_SQL`]).
macro_rules! order_object {
    () => {
        r#"json_build_object(
           'id', o.id::text,
           'orderReference', o.reference,
           'status', o.status,
           'statusLabel', s.label,
           'amount', o.total,
           'currency', o.currency,
           'createdAt', utc_iso8601(o.created_at),
           'updatedAt', utc_iso8601(o.updated_at),
           'customerId', o.customer_id::text,
           'customerEmail', o.customer_email,
           'paymentMethod', o.payment_method,
           'shippingMethod', o.shipping_method,
           'delivery', json_build_object(
               'country', o.delivery_country,
               'province', o.delivery_province,
               'city', o.delivery_city,
               'postcode', o.delivery_postcode),
           'items', coalesce(il.items, '[]'::json))"#
    };
}
pub(crate) use order_object;

/// JSON for each row of `base` (the page's orders); `key` is the paging column.
pub(super) const ROWS_SQL: &str = concat!(
    "SELECT o.id, o.{date_column} AS key, ",
    order_object!(),
    r#" AS obj
FROM base o
LEFT JOIN order_statuses s ON s.code = o.status
LEFT JOIN item_lists il ON il.order_id = o.id
"#
);

/// An order as Rfmcube receives it. Every field is always present, `null` when unknown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Order {
    #[schema(example = "1042")]
    pub id: String,
    /// The shop's human order number.
    #[schema(example = "SB00001042")]
    pub order_reference: Option<String>,
    /// The shop's own status code.
    #[schema(example = "delivered")]
    pub status: String,
    #[schema(example = "Delivered")]
    pub status_label: Option<String>,
    /// Order total.
    #[schema(example = 85.85)]
    pub amount: f64,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    #[schema(example = "2025-03-01T13:30:39Z")]
    pub created_at: String,
    /// Moves when the order or its items change.
    #[schema(example = "2025-03-02T09:00:00Z")]
    pub updated_at: String,
    /// `null` for guest orders.
    #[schema(example = "17")]
    pub customer_id: Option<String>,
    /// Set for guests too.
    pub customer_email: String,
    pub payment_method: Option<String>,
    pub shipping_method: Option<String>,
    pub delivery: Delivery,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
}

/// snake_case, as in Rfmcube's own examples.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub item_id: i64,
    /// `null` when the product was deleted since.
    pub product_id: Option<i64>,
    pub sku: String,
    pub name: String,
    pub brand: Option<String>,
    pub categories: Vec<String>,
    pub quantity: i32,
    pub price: f64,
}
