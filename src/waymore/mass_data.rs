//! The shop's history in Waymore's mass-data shapes (seed 000), one SQL statement per part.
//!
//! Every part statement takes $1 the last position before the part, $2 the part's last
//! position, $3 the part size (positions as the stage's [`Walk`] numbers the rows), and
//! returns the part's objects as one JSON array. Ids,
//! quantities and totals are strings, as in Waymore's mass-data examples; a guest's
//! customer_id is "0"; dates are ISO (`YYYY-MM-DD`).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::jobs::walk::Walk;

/// The entities in the order Waymore wants them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MassEntity {
    Customers,
    Subscribers,
    Products,
    Wishlist,
    Orders,
}

impl MassEntity {
    pub const ALL: [MassEntity; 5] = [
        MassEntity::Customers,
        MassEntity::Subscribers,
        MassEntity::Products,
        MassEntity::Wishlist,
        MassEntity::Orders,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MassEntity::Customers => "customers",
            MassEntity::Subscribers => "subscribers",
            MassEntity::Products => "products",
            MassEntity::Wishlist => "wishlist",
            MassEntity::Orders => "orders",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        MassEntity::ALL.into_iter().find(|e| e.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            MassEntity::Customers => "shop customers",
            MassEntity::Subscribers => "newsletter subscribers",
            MassEntity::Products => "shop products",
            MassEntity::Wishlist => "shop wishlist",
            MassEntity::Orders => "shop orders",
        }
    }

    /// The relation the export walks.
    pub fn relation(self) -> &'static str {
        match self {
            MassEntity::Customers => "customers",
            MassEntity::Subscribers => "newsletter_subscriptions",
            MassEntity::Products => "products",
            MassEntity::Wishlist => "wishlist_items",
            MassEntity::Orders => "orders",
        }
    }

    fn objects_sql(self) -> &'static str {
        match self {
            MassEntity::Customers => CUSTOMERS,
            MassEntity::Subscribers => SUBSCRIBERS,
            MassEntity::Products => PRODUCTS,
            MassEntity::Wishlist => WISHLIST,
            MassEntity::Orders => ORDERS,
        }
    }
}

/// `part` holds the part's rows of the entity's table; each query yields (id, obj).
/// Customers are the bulk of a shop, so their objects are built set-based here rather
/// than by waymore_customer_json() per row, which the events use: several times faster in
/// the export benchmark.
const CUSTOMERS: &str = r#"
SELECT c.id,
       json_build_object(
           'customer', json_build_object(
               'id', c.id::text,
               'lastname', coalesce(c.lastname, ''),
               'firstname', coalesce(c.firstname, ''),
               'birthday', coalesce(to_char(c.birthday, 'YYYY-MM-DD'), ''),
               'email', c.email,
               'phone', coalesce(c.phone, '')),
           'addresses', coalesce(a.list, '[]'::json),
           'cart', coalesce(cart.obj, '{}'::json)) AS obj
FROM part c
LEFT JOIN (
    SELECT customer_id,
           json_agg(json_build_object(
               'country', coalesce(country, ''),
               'city', coalesce(city, ''),
               'address1', address1,
               'postcode', coalesce(postcode, ''),
               'company', coalesce(company, '')) ORDER BY is_default DESC, id) AS list
    FROM customer_addresses
    WHERE customer_id IN (SELECT id FROM part)
    GROUP BY customer_id
) a ON a.customer_id = c.id
LEFT JOIN (
    SELECT ca.customer_id,
           json_build_object('cart_products', json_agg(json_build_object(
               'product_id', ci.product_id::text,
               'quantity', ci.quantity::text) ORDER BY ci.id)) AS obj
    FROM carts ca
    JOIN cart_items ci ON ci.cart_id = ca.id
    WHERE ca.customer_id IN (SELECT id FROM part)
    GROUP BY ca.customer_id
) cart ON cart.customer_id = c.id
"#;

/// As the `Newsletter` event's data.
const SUBSCRIBERS: &str = r#"
SELECT s.id,
       json_build_object(
           'customer_id', coalesce(s.customer_id::text, '0'),
           'email', s.email,
           'subscription', s.subscribed) AS obj
FROM part s
"#;

/// The same objects as the ProductAdd / ProductUpdate events' data.
const PRODUCTS: &str = r#"
SELECT p.id, waymore_product_json(p.id) AS obj FROM part p
"#;

/// As the `WishlistAdd` event's data.
const WISHLIST: &str = r#"
SELECT w.id,
       json_build_object('product_id', w.product_id::text, 'customer_id', w.customer_id::text) AS obj
FROM part w
"#;

const ORDERS: &str = r#"
SELECT o.id,
       json_build_object(
           'order_details', json_build_object(
               'customer_id', coalesce(o.customer_id::text, '0'),
               'order_id', o.id::text,
               'order_status', coalesce(s.label, o.status),
               'shipping_method', coalesce(o.shipping_method, ''),
               'payment_method', coalesce(o.payment_method, ''),
               'total_price', o.total::text),
           'order_products', coalesce(i.list, '[]'::json)) AS obj
FROM part o
LEFT JOIN order_statuses s ON s.code = o.status
LEFT JOIN (
    SELECT order_id,
           json_agg(json_build_object(
               'product_id', product_id::text,
               'quantity', quantity::text,
               'option_id', option_id::text) ORDER BY id) AS list
    FROM order_items
    WHERE order_id IN (SELECT id FROM part)
    GROUP BY order_id
) i ON i.order_id = o.id
"#;

/// One part: its objects (a JSON array) and how many.
pub struct Part {
    pub objects: Box<RawValue>,
    pub count: i64,
}

#[derive(sqlx::FromRow)]
struct PartRow {
    objects: String,
    count: i64,
}

/// The objects at positions in (`after`, `last`] of `walk` (at most `size`).
pub async fn part(
    pool: &PgPool,
    entity: MassEntity,
    walk: &Walk,
    after: i64,
    last: i64,
    size: i64,
) -> Result<Part, sqlx::Error> {
    let sql = format!(
        "WITH part AS (SELECT * FROM {rows} walked),
         objects AS ({objects})
         SELECT coalesce(json_agg(obj ORDER BY id), '[]'::json)::text AS objects,
                count(*) AS count
         FROM objects",
        rows = walk.rows(),
        objects = entity.objects_sql(),
    );
    let row: PartRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(last)
        .bind(size)
        .fetch_one(pool)
        .await?;
    let objects = RawValue::from_string(row.objects)
        .map_err(|e| sqlx::Error::Decode(format!("part JSON from the database: {e}").into()))?;
    Ok(Part {
        objects,
        count: row.count,
    })
}
