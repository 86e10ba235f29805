//! What `shopbridge mapping detect|check|show` report, from the database's catalog.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgConnection;

use super::capture::{self, Watch, ENTITIES};
use super::{Mapping, Type, RELATIONS, SCHEMA};

/// Each mapped relation's key type, as PostgreSQL prints it.
pub async fn key_types(conn: &mut PgConnection) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, format_type(a.atttypid, a.atttypmod)
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped
         WHERE n.nspname = $1",
    )
    .bind(SCHEMA)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The relations the mapping defined (with or without an `id`).
pub async fn defined(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'v'",
    )
    .bind(SCHEMA)
    .fetch_all(conn)
    .await
}

pub async fn watches(conn: &mut PgConnection) -> Result<Vec<Watch>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT w.entity, format('%I.%I', n.nspname, c.relname) AS source, w.key, w.creates
         FROM {SCHEMA}.watches w
         JOIN pg_class c ON c.oid = w.source
         JOIN pg_namespace n ON n.oid = c.relnamespace
         ORDER BY w.n"
    )))
    .fetch_all(conn)
    .await
}

/// Which preset fits the connected database, from the tables it has.
pub async fn detect(conn: &mut PgConnection) -> Result<Option<Mapping>, sqlx::Error> {
    const SIGNATURES: [(&str, &[&str]); 3] = [
        (
            "medusa-v2",
            &[
                "order",
                "order_item",
                "order_line_item",
                "order_summary",
                "customer",
                "product_variant",
            ],
        ),
        (
            "saleor",
            &[
                "account_user",
                "order_order",
                "order_orderline",
                "product_product",
                "product_productvariant",
            ],
        ),
        (
            "reference",
            &["customers", "orders", "order_items", "products"],
        ),
    ];
    for (preset, tables) in SIGNATURES {
        let found: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables
             WHERE schemaname NOT IN ('shopbridge', $2) AND tablename = ANY ($1)",
        )
        .bind(tables)
        .bind(SCHEMA)
        .fetch_one(&mut *conn)
        .await?;
        if found == tables.len() as i64 {
            return Mapping::parse(preset)
                .map(Some)
                .map_err(sqlx::Error::Protocol);
        }
    }
    Ok(None)
}

/// The outcome of `mapping check`: empty `problems` means the mapping serves.
#[derive(Debug, Serialize)]
pub struct Report {
    pub mapping: String,
    /// Relations the mapping leaves out: the shop has none of them.
    pub empty: Vec<String>,
    pub problems: Vec<String>,
    /// Indexes the window queries need and the shop lacks, as statements to run.
    pub create_indexes: Vec<String>,
    /// Rows read per relation in the sample.
    pub sampled: HashMap<String, i64>,
}

/// Checks the installed mapping: every reference relation has its columns with fitting
/// types and keys, the indexes the window queries need exist, and a sample of each relation
/// and each entity's snapshot reads without error.
pub async fn check(conn: &mut PgConnection, mapping: &Mapping) -> Result<Report, sqlx::Error> {
    let mut report = Report {
        mapping: mapping.name(),
        empty: Vec::new(),
        problems: Vec::new(),
        create_indexes: Vec::new(),
        sampled: HashMap::new(),
    };
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
                t.typcategory::text
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_type t ON t.oid = a.atttypid
         WHERE c.oid = ANY (SELECT to_regclass(name) FROM unnest($1::text[]) AS name)
           AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(RELATIONS.iter().map(|r| r.name).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let column = |relation: &str, name: &str| {
        columns
            .iter()
            .find(|(r, c, _, _)| r == relation && c == name)
            .map(|(_, _, ty, category)| (ty.as_str(), category.as_str()))
    };
    let empty: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'v' AND pg_get_viewdef(c.oid) ~ 'WHERE false'",
    )
    .bind(SCHEMA)
    .fetch_all(&mut *conn)
    .await?;
    report.empty = empty;
    report.empty.sort();
    for relation in RELATIONS {
        for (name, ty) in relation.columns {
            let Some((actual, category)) = column(relation.name, name) else {
                report
                    .problems
                    .push(format!("{}: no column `{name}`", relation.name));
                continue;
            };
            let expected = match ty {
                Type::Sql(sql) => sql_category(sql).map(|c| (c, sql.to_string())),
                Type::Key(None) => None,
                Type::Key(Some(of)) => column(of, "id").map(|(t, _)| ("", t.to_string())),
            };
            match expected {
                Some(("", key)) if key != actual => report.problems.push(format!(
                    "{}.{name} is {actual}, but the key it refers to is {key}",
                    relation.name
                )),
                Some((expected, sql))
                    if !expected.is_empty()
                        && expected != category
                        && !(expected == "S" && category == "E") =>
                {
                    report.problems.push(format!(
                        "{}.{name} is {actual}, where {sql} is expected",
                        relation.name
                    ))
                }
                _ => {}
            }
        }
        if report.problems.iter().any(|p| p.starts_with(relation.name)) {
            continue;
        }
        match sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM (SELECT * FROM {} LIMIT 100) sample",
            relation.name
        )))
        .fetch_one(&mut *conn)
        .await
        {
            Ok(rows) => {
                report.sampled.insert(relation.name.into(), rows);
            }
            Err(e) => report
                .problems
                .push(format!("{}: reading a sample failed: {e}", relation.name)),
        }
    }
    if mapping.sql().is_some() {
        for entity in ENTITIES {
            if report
                .problems
                .iter()
                .any(|p| p.starts_with(entity.relation))
            {
                continue;
            }
            let sample = format!(
                "SELECT count({}(id)) FROM (SELECT id FROM {} LIMIT 10) sample",
                entity.snapshot, entity.relation
            );
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sample))
                .execute(&mut *conn)
                .await
            {
                report
                    .problems
                    .push(format!("{} snapshot: {e}", entity.name));
            }
        }
        report.create_indexes = missing_indexes(conn).await?;
    }
    Ok(report)
}

/// An SQL type's category (`pg_type.typcategory`): a view may use any type of it.
fn sql_category(sql: &str) -> Option<&'static str> {
    match sql {
        "bigint" | "integer" | "numeric" => Some("N"),
        "text" => Some("S"),
        "timestamptz" | "date" => Some("D"),
        "boolean" => Some("B"),
        _ => None,
    }
}

/// The mapping's `needs_index()` calls the shop's tables do not answer yet.
async fn missing_indexes(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT format('CREATE INDEX CONCURRENTLY ON %s (%s)%s;', n.source::text, n.columns,
                       coalesce(' WHERE ' || n.predicate, ''))
         FROM {SCHEMA}.needed_indexes n
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_index i
             WHERE i.indrelid = n.source
               AND pg_get_indexdef(i.indexrelid) LIKE '%USING btree (' || n.columns || ')%'
               AND coalesce(pg_get_expr(i.indpred, i.indrelid), '')
                   = coalesce('(' || n.predicate || ')', ''))
         ORDER BY n.n"
    )))
    .fetch_all(conn)
    .await
}

/// `mapping show`: the SQL each relation runs (the view's definition as PostgreSQL keeps
/// it), then the capture generated from the watches.
pub async fn show(conn: &mut PgConnection, mapping: &Mapping) -> Result<String, sqlx::Error> {
    if mapping.sql().is_none() {
        return Ok("-- reference: the readers query the shop's own tables, \
                   as docs/schema.sql shows them\n"
            .into());
    }
    let views: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_viewdef(c.oid, true)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'v' ORDER BY c.relname",
    )
    .bind(SCHEMA)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = format!("-- mapping {}\n", mapping.name());
    for (name, definition) in views {
        out.push_str(&format!(
            "\nCREATE VIEW {SCHEMA}.{name} AS\n{}\n",
            definition.trim_end()
        ));
    }
    let keys = key_types(conn).await?;
    let watches = watches(conn).await?;
    let generated = capture::generate(&watches, |relation| {
        keys.get(relation)
            .cloned()
            .unwrap_or_else(|| "bigint".into())
    })
    .map_err(sqlx::Error::Protocol)?;
    out.push_str("\n-- capture, generated from the watches\n");
    out.push_str(&generated);
    Ok(out)
}
