//! The shop's history in Waymore's mass-data shapes (seed 000), one SQL statement per part.
//!
//! Every part statement takes $1 the last id before the part, $2 the part's last id, $3 the
//! part size, and returns the part's objects as one JSON array. Ids,
//! quantities and totals are strings, as in Waymore's mass-data examples; a guest's
//! customer_id is "0"; dates are ISO (`YYYY-MM-DD`).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

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

    /// The table whose ids the export walks.
    pub fn table(self) -> &'static str {
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
           'customer_id', coalesce(s.customer_id, 0)::text,
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
               'customer_id', coalesce(o.customer_id, 0)::text,
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

/// Each entity's last id and row count now, in [`MassEntity::ALL`]'s order: the history an
/// export sends.
pub async fn bounds(conn: &mut PgConnection) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let selects: Vec<String> = MassEntity::ALL
        .iter()
        .enumerate()
        .map(|(position, entity)| {
            format!(
                "SELECT {position} AS position, coalesce(max(id), 0) AS upper, count(*) AS total FROM {}",
                entity.table()
            )
        })
        .collect();
    let rows: Vec<(i32, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{} ORDER BY position",
        selects.join(" UNION ALL ")
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(_, upper, total)| (upper, total))
        .collect())
}

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

/// The last id of the next part after `after` (ids up to `bound`, `size` rows at most), or
/// `None` when no row is left there. An index-only walk: parts are cut one after the other,
/// then built and sent in parallel.
pub async fn next_range(
    pool: &PgPool,
    entity: MassEntity,
    after: i64,
    bound: i64,
    size: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let keys = format!(
        "SELECT id FROM {table} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        table = entity.table(),
    );
    crate::jobs::next_part_end(pool, &keys, after, bound, size).await
}

/// The objects with ids in (`after`, `last`] (at most `size`).
pub async fn part(
    pool: &PgPool,
    entity: MassEntity,
    after: i64,
    last: i64,
    size: i64,
) -> Result<Part, sqlx::Error> {
    let sql = format!(
        "WITH part AS (
             SELECT * FROM {table} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3
         ),
         objects AS ({objects})
         SELECT coalesce(json_agg(obj ORDER BY id), '[]'::json)::text AS objects,
                count(*) AS count
         FROM objects",
        table = entity.table(),
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
