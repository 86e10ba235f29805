//! One SQL statement per page, whatever the page size (after reading the crawl horizon): the
//! window's exact count, the page's rows as JSON (built by PostgreSQL), and the key of the
//! last row for the next cursor.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::cursor::Cursor;
use super::request::{PageRequest, Paging};
use super::window::{DateField, Entity};
use super::{customers, orders};
use crate::shop::Keys;

/// `base` is the page plus one row (to learn whether another page follows), in key order.
/// Parameters: $1 from, $2 upper bound, $3 page size, then $4 offset (offset paging) or
/// $4/$5 the last key returned (keyset paging).
const PAGE_SQL: &str = r#"
WITH base AS (
    SELECT t.*
    FROM {table} t
    WHERE t.{date_column} >= $1 AND t.{date_column} < $2 {after}
    ORDER BY t.{date_column}, t.id
    LIMIT $3 + 1 {offset}
),
{ctes}
page_rows AS ({rows}),
kept AS (
    SELECT * FROM page_rows ORDER BY key, id LIMIT $3
)
SELECT (SELECT count(*) FROM {table} WHERE {date_column} >= $1 AND {date_column} < $2) AS total,
       (SELECT count(*) FROM base) > $3 AS has_more,
       last.key AS last_key,
       last.id::text AS last_id,
       coalesce((SELECT json_agg(obj ORDER BY key, id) FROM kept), '[]'::json)::text AS rows
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT key, id FROM kept ORDER BY key DESC, id DESC LIMIT 1) last ON true
"#;

/// What distinguishes one page statement from another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Variant {
    entity: Entity,
    field: DateField,
    keyset: bool,
}

impl Variant {
    fn sql(self) -> String {
        let (ctes, rows) = match self.entity {
            Entity::Customers => ("", customers::ROWS_SQL),
            Entity::Orders => (orders::CTES_SQL, orders::ROWS_SQL),
        };
        let (after, offset) = if self.keyset {
            ("AND (t.{date_column}, t.id) > ($4, CAST($5::text AS {key_type}))", "")
        } else {
            ("", "OFFSET $4")
        };
        PAGE_SQL
            .replace("{ctes}", ctes)
            .replace("{rows}", rows)
            .replace("{after}", after)
            .replace("{offset}", offset)
            .replace("{table}", self.entity.relation())
            .replace("{date_column}", self.field.column())
    }

    /// Every variant's statement, built once.
    fn statement(self) -> &'static str {
        static STATEMENTS: LazyLock<HashMap<Variant, String>> = LazyLock::new(|| {
            let mut all = HashMap::new();
            for entity in [Entity::Customers, Entity::Orders] {
                for field in [DateField::UpdatedAt, DateField::CreatedAt] {
                    for keyset in [false, true] {
                        let variant = Variant {
                            entity,
                            field,
                            keyset,
                        };
                        all.insert(variant, variant.sql());
                    }
                }
            }
            all
        });
        &STATEMENTS[&self]
    }
}

#[derive(sqlx::FromRow)]
struct PageRow {
    total: i64,
    has_more: bool,
    last_key: Option<DateTime<Utc>>,
    last_id: Option<String>,
    rows: String,
}

/// A page as the endpoint answers it.
pub struct Page {
    pub rows: Box<RawValue>,
    pub page: u32,
    pub page_size: u32,
    pub total: i64,
    pub total_pages: i64,
    pub next: Option<Cursor>,
    /// Where this page stopped: the window's end, or the crawl horizon when that came first.
    pub upper: DateTime<Utc>,
}

/// The page's rows stop at the window's end, or earlier at the crawl horizon
/// (`crawl_horizon()`: the start of the oldest transaction in progress), leaving rows that
/// may still be joined by earlier-stamped ones to the next crawl. Taken in a statement of its
/// own so the page statement is planned with a known bound; rows stamped before it were
/// committed before it was taken, so the page sees them all.
pub async fn fetch(
    pool: &PgPool,
    keys: &Keys,
    request: &PageRequest,
) -> Result<Page, sqlx::Error> {
    let window = request.window;
    let horizon: DateTime<Utc> = sqlx::query_scalar("SELECT crawl_horizon()")
        .fetch_one(pool)
        .await?;
    let size = i64::from(request.page_size);
    let variant = Variant {
        entity: request.entity,
        field: window.field,
        keyset: matches!(request.paging, Paging::After(_)),
    };
    let statement = variant
        .statement()
        .replace("{key_type}", keys.of(variant.entity.relation()).await?);
    let query = sqlx::query_as::<_, PageRow>(sqlx::AssertSqlSafe(statement));
    let (upper, page) = match &request.paging {
        Paging::Offset { page } => (window.to.min(horizon), *page),
        Paging::After(cursor) => (cursor.upper.min(horizon), cursor.page),
    };
    let query = query.bind(window.from).bind(upper).bind(size);
    let query = match &request.paging {
        Paging::Offset { page } => query.bind((i64::from(*page) - 1) * size),
        Paging::After(cursor) => query.bind(cursor.after.0).bind(cursor.after.1.clone()),
    };
    let row = query.fetch_one(pool).await?;
    let next = match (row.has_more, row.last_key, row.last_id) {
        (true, Some(key), Some(id)) => Some(Cursor {
            entity: request.entity,
            window,
            upper,
            after: (key, id),
            page: page + 1,
        }),
        _ => None,
    };
    let rows = RawValue::from_string(row.rows)
        .map_err(|e| sqlx::Error::Decode(format!("page JSON from the database: {e}").into()))?;
    Ok(Page {
        rows,
        page,
        page_size: request.page_size,
        total: row.total,
        total_pages: (row.total + size - 1) / size,
        next,
        upper,
    })
}
