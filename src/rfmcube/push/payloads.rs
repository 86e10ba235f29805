//! The shop's customers and orders in the push API's shapes (seed 002), built by PostgreSQL
//! one statement per batch, with an md5 of each customer and order as sent so that what
//! Rfmcube was sent can be recorded and compared later ([`record_sent`]).
//!
//! The fields are the pull webservice's (the same status and label, `delivery`, items with
//! `item_id`/`product_id`/`brand`), so a shop that moves from pull to push sends the same
//! data. An order carries `customerId` and `customerEmail` everywhere, as `merge_order`
//! needs them. A guest (an order without a customer) is a customer without an `id`: its
//! orders grouped by email, as the seed says Rfmcube manages them. Orders of a customer
//! deleted in the shop, which the shop keeps as guest orders, are never sent again.

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;
use uuid::Uuid;

use crate::rfmcube::customers::{customer_joins, customer_object};
use crate::rfmcube::orders::order_object;

/// The customer's own fields, over `base_customers` (rows of `customers`): the pull
/// webservice's.
const CUSTOMER_OBJECTS: &str = concat!(
    "customer_objects AS (\n    SELECT c.id, c.email, ",
    customer_object!(),
    " AS obj\n    FROM base_customers c",
    customer_joins!(),
    "),\n"
);

/// Each order of `base` (rows of `orders`) as sent, the pull webservice's, with its hash;
/// after the pull webservice's item CTEs over the same `base`.
const ORDER_OBJECTS: &str = concat!(
    r#"
order_objects AS (
    SELECT o.id, o.customer_id, o.customer_email, o.created_at, o.updated_at, obj,
           md5(obj::text)::uuid AS hash
    FROM base o
    LEFT JOIN order_statuses s ON s.code = o.status
    LEFT JOIN item_lists il ON il.order_id = o.id
    CROSS JOIN LATERAL (SELECT "#,
    order_object!(),
    r#" AS obj) built
),
"#
);

/// Customers and guests as `/import` entries: `base_customers` (rows of `customers`) and
/// `chosen_guests` (lowercased emails) say which. One row per entry, customers by id, then
/// guests by their first order.
const ENTRIES_SQL: &str = r#"
WITH base_customers AS ({customers}),
chosen_guests AS ({guests}),
base AS (
    SELECT o.* FROM orders o WHERE o.customer_id IN (SELECT id FROM base_customers)
    UNION ALL
    SELECT o.* FROM orders o
    WHERE o.customer_id IS NULL AND lower(o.customer_email) IN (SELECT email FROM chosen_guests)
      AND {not_deleted}
),
{items}
{orders}
{customers_objects}
order_lists AS (
    SELECT coalesce(customer_id::text, lower(customer_email)) AS owner,
           -- A guest is known by the email of its latest order, as written there.
           (array_agg(customer_email ORDER BY id DESC))[1] AS email, min(id) AS first_order,
           json_agg(obj ORDER BY id) AS list,
           array_agg(id ORDER BY id) AS ids, array_agg(hash ORDER BY id) AS hashes,
           utc_iso8601(min(created_at)) AS created_at, utc_iso8601(max(updated_at)) AS updated_at
    FROM order_objects
    GROUP BY 1
)
SELECT c.id AS customer_id, c.email,
       left(c.obj::text, -1) || ', "orders" : ' || coalesce(l.list, '[]'::json)::text || '}'
           AS json,
       md5(c.obj::text)::uuid AS hash,
       coalesce(l.ids, '{}') AS order_ids, coalesce(l.hashes, '{}') AS order_hashes,
       0 AS section, c.id AS position
FROM customer_objects c
LEFT JOIN order_lists l ON l.owner = c.id::text
UNION ALL
SELECT NULL, l.email,
       json_build_object('email', l.email, 'createdAt', l.created_at, 'updatedAt', l.updated_at,
                         'orders', l.list)::text,
       NULL, l.ids, l.hashes, 1, l.first_order
FROM order_lists l
WHERE l.owner IN (SELECT email FROM chosen_guests)
ORDER BY section, position
"#;

/// Over an order `o`: it is not one of a deleted customer's orders, which the shop keeps as
/// guest orders (one placed after the deletion is a new guest's).
const NOT_DELETED: &str = "(o.customer_id IS NOT NULL OR NOT EXISTS (
    SELECT 1 FROM rfmcube_push_sent t
    WHERE t.hash IS NULL AND lower(t.email) = lower(o.customer_email)
      AND o.created_at < t.sent_at))";

/// A common table expression without the comma that joins it to the next.
fn last_cte(cte: &str) -> &str {
    cte.trim_end().trim_end_matches(',')
}

/// Customers with ids in ($1, $2], at most $3: `customers!("*")` their rows,
/// `customers!("id")` their ids (for cutting parts).
macro_rules! customers {
    ($columns:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM customers WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
        )
    };
}

/// A guest's key is its first guest order: guests whose first order's id is in ($1, $2],
/// at most $3. `guests!("lower(o.customer_email) AS email")` their emails,
/// `guests!("o.id")` their keys (for cutting parts).
macro_rules! guests {
    ($columns:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM orders o
             WHERE o.customer_id IS NULL AND o.id > $1 AND o.id <= $2
               AND NOT EXISTS (SELECT 1 FROM orders f
                               WHERE f.customer_id IS NULL AND f.id < o.id
                                 AND lower(f.customer_email) = lower(o.customer_email))
             ORDER BY o.id LIMIT $3"
        )
    };
}

const CUSTOMER_RANGE: &str = customers!("*");
const GUEST_RANGE: &str = guests!("lower(o.customer_email) AS email");
/// The keys of the customers and guests stages, for [`crate::jobs::next_part_end`].
pub const CUSTOMER_KEYS: &str = customers!("id");
pub const GUEST_KEYS: &str = guests!("o.id");

/// Nothing of this kind.
const NONE_CUSTOMERS: &str = "SELECT * FROM customers WHERE false";
const NONE_GUESTS: &str = "SELECT NULL::text AS email WHERE false";

/// Which customers and guests a batch holds.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Customers with ids in `(after, last]`, at most `size`.
    Customers { after: i64, last: i64, size: i64 },
    /// Guests whose first order's id is in `(after, last]`, at most `size`.
    Guests { after: i64, last: i64, size: i64 },
    /// These customers, and the guests of these (lowercased) emails.
    Chosen {
        customers: &'a [i64],
        guests: &'a [String],
    },
}

/// One customer or guest with its orders, as an `/import` entry, and what to record once
/// Rfmcube has it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub json: Box<RawValue>,
    pub sent: Vec<Sent>,
}

/// A customer or order as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub entity: &'static str,
    pub id: i64,
    pub email: String,
    pub hash: Uuid,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    customer_id: Option<i64>,
    email: String,
    json: String,
    hash: Option<Uuid>,
    order_ids: Vec<i64>,
    order_hashes: Vec<Uuid>,
}

fn raw(json: String) -> Result<Box<RawValue>, sqlx::Error> {
    RawValue::from_string(json)
        .map_err(|e| sqlx::Error::Decode(format!("JSON from the database: {e}").into()))
}

/// The entries of `selection`, in order.
pub async fn entries(pool: &PgPool, selection: Selection<'_>) -> Result<Vec<Entry>, sqlx::Error> {
    let (customers, guests) = match selection {
        Selection::Customers { .. } => (CUSTOMER_RANGE, NONE_GUESTS),
        Selection::Guests { .. } => (NONE_CUSTOMERS, GUEST_RANGE),
        Selection::Chosen { .. } => (
            "SELECT * FROM customers WHERE id = ANY ($1)",
            "SELECT lower(unnest($2::text[])) AS email",
        ),
    };
    let sql = ENTRIES_SQL
        .replace("{customers}", customers)
        .replace("{guests}", guests)
        .replace("{items}", crate::rfmcube::orders::CTES_SQL)
        .replace("{orders}", ORDER_OBJECTS)
        .replace("{customers_objects}", CUSTOMER_OBJECTS)
        .replace("{not_deleted}", NOT_DELETED);
    let query = sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(sql));
    let query = match selection {
        Selection::Customers { after, last, size } | Selection::Guests { after, last, size } => {
            query.bind(after).bind(last).bind(size)
        }
        Selection::Chosen { customers, guests } => query.bind(customers).bind(guests),
    };
    // A part's statement is estimated dear enough to be compiled (JIT), which costs more
    // than it saves on a part's few thousand rows.
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    let rows = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|row| {
            let mut sent: Vec<Sent> = row
                .customer_id
                .zip(row.hash)
                .map(|(id, hash)| Sent {
                    entity: "customer",
                    id,
                    email: row.email.clone(),
                    hash,
                })
                .into_iter()
                .collect();
            sent.extend(
                row.order_ids
                    .iter()
                    .zip(&row.order_hashes)
                    .map(|(&id, &hash)| Sent {
                        entity: "order",
                        id,
                        email: row.email.clone(),
                        hash,
                    }),
            );
            Ok(Entry {
                json: raw(row.json)?,
                sent,
            })
        })
        .collect()
}

/// Whom changes of these customers and orders touch: customers by id, guests by
/// (lowercased) email.
pub async fn owners(
    pool: &PgPool,
    customers: &[i64],
    orders: &[i64],
) -> Result<(Vec<i64>, Vec<String>), sqlx::Error> {
    sqlx::query_as(
        "SELECT ARRAY(SELECT unnest($1::bigint[])
                      UNION
                      SELECT customer_id FROM orders
                      WHERE id = ANY ($2) AND customer_id IS NOT NULL),
                ARRAY(SELECT DISTINCT lower(customer_email) FROM orders
                      WHERE id = ANY ($2) AND customer_id IS NULL)",
    )
    .bind(customers)
    .bind(orders)
    .fetch_one(pool)
    .await
}

/// A customer's own fields as `merge_customer` sends them; `None` once it is gone.
pub async fn customer(
    pool: &PgPool,
    id: i64,
) -> Result<Option<(Box<RawValue>, Sent)>, sqlx::Error> {
    let sql = format!(
        "WITH base_customers AS (SELECT * FROM customers WHERE id = $1),
         {customers}
         SELECT obj::text, email, md5(obj::text)::uuid FROM customer_objects",
        customers = last_cte(CUSTOMER_OBJECTS),
    );
    one(pool, &sql, "customer", id).await
}

/// An order as `merge_order` sends it; `None` once it is gone, or when it is a guest order
/// of a customer deleted in the shop.
pub async fn order(pool: &PgPool, id: i64) -> Result<Option<(Box<RawValue>, Sent)>, sqlx::Error> {
    let sql = format!(
        "WITH base AS (SELECT o.* FROM orders o WHERE o.id = $1 AND {NOT_DELETED}),
         {items}
         {orders}
         SELECT obj::text, customer_email, hash FROM order_objects",
        items = crate::rfmcube::orders::CTES_SQL,
        orders = last_cte(ORDER_OBJECTS),
    );
    one(pool, &sql, "order", id).await
}

/// One `entity` by `sql` (taking its id, giving its JSON, email and hash), and what to
/// record once Rfmcube has it.
async fn one(
    pool: &PgPool,
    sql: &str,
    entity: &'static str,
    id: i64,
) -> Result<Option<(Box<RawValue>, Sent)>, sqlx::Error> {
    let row: Option<(String, String, Uuid)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|(json, email, hash)| {
        Ok((
            raw(json)?,
            Sent {
                entity,
                id,
                email,
                hash,
            },
        ))
    })
    .transpose()
}

/// A customer deleted in the shop as an `/import` entry that keeps its id and orders with
/// nothing personal: `email` replaced by `anonymous` in the customer and its orders (which
/// the shop now keeps as guest orders of that email).
pub async fn anonymised(
    pool: &PgPool,
    id: i64,
    email: &str,
    anonymous: &str,
) -> Result<Box<RawValue>, sqlx::Error> {
    let sql = format!(
        "WITH base AS (
             SELECT o.* FROM orders o
             WHERE o.customer_id IS NULL AND lower(o.customer_email) = lower($2)
         ),
         {items}
         {orders}
         SELECT json_build_object(
                    'id', $1::text, 'email', $3::text,
                    'orders', coalesce(json_agg(
                        (obj::jsonb || jsonb_build_object('customerId', $1::text,
                                                          'customerEmail', $3::text))
                        ORDER BY id), '[]'))::text
         FROM order_objects",
        items = crate::rfmcube::orders::CTES_SQL,
        orders = last_cte(ORDER_OBJECTS),
    );
    let json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(email)
        .bind(anonymous)
        .fetch_one(pool)
        .await?;
    raw(json)
}

/// Records what Rfmcube now has, in one statement.
pub async fn record_sent<'a>(
    pool: &PgPool,
    sent: impl IntoIterator<Item = &'a Sent>,
) -> Result<(), sqlx::Error> {
    let (mut entities, mut ids, mut emails, mut hashes) = (vec![], vec![], vec![], vec![]);
    for s in sent {
        entities.push(s.entity);
        ids.push(s.id);
        emails.push(s.email.as_str());
        hashes.push(s.hash);
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rfmcube_push_sent AS s (entity, id, email, hash)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[])
         ON CONFLICT (entity, id) DO UPDATE
         SET email = EXCLUDED.email, hash = EXCLUDED.hash, sent_at = now()",
    )
    .bind(entities)
    .bind(ids)
    .bind(emails)
    .bind(hashes)
    .execute(pool)
    .await?;
    Ok(())
}

/// A customer deleted in the shop, and deleted (or anonymised) at Rfmcube: its tombstone.
pub async fn record_deleted(pool: &PgPool, id: i64, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rfmcube_push_sent AS s (entity, id, email, hash)
         VALUES ('customer', $1, $2, NULL)
         ON CONFLICT (entity, id) DO UPDATE SET email = EXCLUDED.email, hash = NULL, sent_at = now()",
    )
    .bind(id)
    .bind(email)
    .execute(pool)
    .await?;
    Ok(())
}

/// The `/import` body around `entries`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportBody<'a> {
    pub overwrite_descriptors: bool,
    pub trigger_integrations: bool,
    pub recalculate_stats: bool,
    pub customers: Vec<&'a RawValue>,
}

impl<'a> ImportBody<'a> {
    pub fn of(entries: &'a [Entry]) -> Self {
        ImportBody {
            overwrite_descriptors: false,
            trigger_integrations: false,
            recalculate_stats: false,
            customers: entries.iter().map(|e| e.json.as_ref()).collect(),
        }
    }
}
