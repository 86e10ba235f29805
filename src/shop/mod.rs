//! The shop's database as shopbridge reads it. Every reader (the Rfmcube pull and push, the
//! Waymore export and events, workflows) queries the reference relations by name:
//! `customers`, `orders`, `order_items`, `products`… On the reference schema they are the
//! shop's tables; over any other shop, a mapping defines them as views over the shop's own
//! tables in the schema [`SCHEMA`], which every shopbridge session searches first. The
//! mapping also says which of the shop's tables change which entity, and capture
//! ([`capture`]) is generated from that.
//!
//! A mapping is SQL (see `docs/mapping.md`): views, then `watch()` and `needs_index()` calls.

pub mod capture;
pub mod check;
mod relations;

use std::collections::HashMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};

pub use relations::{Relation, Type, RELATIONS};

/// Where a mapping's views, watches and capture live; dropping it uninstalls the mapping.
pub const SCHEMA: &str = "shopbridge_shop";

const MEDUSA_V2: &str = include_str!("presets/medusa_v2.sql");
const SALEOR: &str = include_str!("presets/saleor.sql");

/// Which tables shopbridge reads the shop from (`SHOP_MAPPING`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mapping {
    /// shopbridge's own reference schema (`migrate` creates it): no views.
    #[default]
    Reference,
    /// Medusa 2.x.
    MedusaV2,
    /// Saleor 3.x.
    Saleor,
    /// The owner's own mapping file.
    Custom { path: PathBuf, sql: String },
}

impl Mapping {
    pub const PRESETS: [&'static str; 3] = ["reference", "medusa-v2", "saleor"];

    /// A preset's name, or the path of a mapping file (read now).
    pub fn parse(value: &str) -> Result<Mapping, String> {
        match value.trim() {
            "reference" => Ok(Mapping::Reference),
            "medusa-v2" => Ok(Mapping::MedusaV2),
            "saleor" => Ok(Mapping::Saleor),
            path if path.ends_with(".sql") => {
                let sql = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the mapping file {path}: {e}"))?;
                Ok(Mapping::Custom {
                    path: path.into(),
                    sql,
                })
            }
            other => Err(format!(
                "`{other}`: one of {}, or the path of a mapping file ending in .sql",
                Self::PRESETS.join(", ")
            )),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Mapping::Reference => "reference".into(),
            Mapping::MedusaV2 => "medusa-v2".into(),
            Mapping::Saleor => "saleor".into(),
            Mapping::Custom { path, .. } => path.display().to_string(),
        }
    }

    /// The mapping's SQL; none for the reference schema.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Mapping::Reference => None,
            Mapping::MedusaV2 => Some(MEDUSA_V2),
            Mapping::Saleor => Some(SALEOR),
            Mapping::Custom { sql, .. } => Some(sql),
        }
    }

    /// What an installed mapping is recognised by (its schema's comment): its name, then a
    /// digest of it and of what shopbridge generates from it; a change installs it again.
    fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.name());
        hash.update(self.sql().unwrap_or_default());
        for template in capture::TEMPLATES {
            hash.update(template);
        }
        hash.update(SUPPORT_SQL);
        format!("{}\n{:x}", self.name(), hash.finalize())
    }
}

impl std::str::FromStr for Mapping {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Mapping::parse(value)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("the mapping {mapping}: {problem}")]
    Invalid { mapping: String, problem: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a mapping's SQL may call: `watch()` names a table whose changes change an entity,
/// `needs_index()` an index the window queries need on the shop's tables.
const SUPPORT_SQL: &str = r#"
CREATE TABLE watches (
    n serial PRIMARY KEY,
    entity text NOT NULL,
    source regclass NOT NULL,
    key text NOT NULL,
    creates boolean NOT NULL
);
CREATE FUNCTION watch(entity text, source regclass, key text, creates boolean DEFAULT false)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO watches (entity, source, key, creates) VALUES (entity, source, key, creates)
$$;
CREATE TABLE needed_indexes (
    n serial PRIMARY KEY,
    source regclass NOT NULL,
    columns text NOT NULL,
    predicate text
);
CREATE FUNCTION needs_index(source regclass, columns text, predicate text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO needed_indexes (source, columns, predicate) VALUES (source, columns, predicate)
$$;
"#;

/// Installs `mapping` over the connected database, or leaves it when the same is installed:
/// its views, the empty views of relations it leaves out, and the capture triggers on the
/// shop's tables, in one transaction (two starting processes take turns). The reference
/// mapping removes an installed one.
pub async fn install(conn: &mut PgConnection, mapping: &Mapping) -> Result<(), MappingError> {
    let invalid = |problem: String| MappingError::Invalid {
        mapping: mapping.name(),
        problem,
    };
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbridge.mapping'))")
        .execute(&mut *tx)
        .await?;
    let fingerprint = mapping.fingerprint();
    let installed: Option<String> = sqlx::query_scalar(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
    )
    .bind(SCHEMA)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let Some(sql) = mapping.sql() else {
        if installed.is_some() {
            drop_schema(&mut tx).await?;
        }
        return Ok(tx.commit().await?);
    };
    if installed.as_deref() == Some(fingerprint.as_str()) {
        return Ok(tx.commit().await?);
    }
    drop_schema(&mut tx).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA {SCHEMA};
         SET LOCAL search_path = {SCHEMA}, shopbridge, public;
         {SUPPORT_SQL}"
    )))
    .execute(&mut *tx)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .map_err(|e| invalid(e.to_string()))?;
    let keys = check::key_types(&mut tx).await?;
    let key_type = |relation: &str| {
        keys.get(relation)
            .cloned()
            .unwrap_or_else(|| "bigint".into())
    };
    let defined = check::defined(&mut tx).await?;
    let mut empty = String::new();
    for relation in RELATIONS
        .iter()
        .filter(|r| !defined.iter().any(|d| d == r.name))
    {
        let columns: Vec<String> = relation
            .columns
            .iter()
            .map(|(column, ty)| {
                let ty = match ty {
                    Type::Sql(sql) => sql.to_string(),
                    Type::Key(None) => "bigint".into(),
                    Type::Key(Some(of)) => key_type(of),
                };
                format!("NULL::{ty} AS {column}")
            })
            .collect();
        empty.push_str(&format!(
            "CREATE VIEW {SCHEMA}.{} AS SELECT {} WHERE false;\n",
            relation.name,
            columns.join(", ")
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(empty))
        .execute(&mut *tx)
        .await?;
    let watches = check::watches(&mut tx).await?;
    let capture = capture::generate(&watches, key_type).map_err(invalid)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(capture))
        .execute(&mut *tx)
        .await
        .map_err(|e| invalid(format!("capture: {e}")))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "COMMENT ON SCHEMA {SCHEMA} IS '{}'",
        fingerprint.replace('\'', "''")
    )))
    .execute(&mut *tx)
    .await?;
    Ok(tx.commit().await?)
}

/// The name of the mapping installed over the connected database; `None` on the reference
/// schema, whose tables shopbridge also writes (the Shopify intake, `update_status`).
pub async fn installed(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    let comment: Option<String> = sqlx::query_scalar(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
    )
    .bind(SCHEMA)
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(comment.and_then(|c| c.split_once('\n').map(|(name, _)| name.to_owned())))
}

/// Drops the mapping's schema: its views, and with its functions the capture triggers on
/// the shop's tables. Nothing of the shop's depends on it.
async fn drop_schema(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
    )))
    .execute(conn)
    .await
    .map(drop)
}

/// Removes every object shopbridge made in the connected database: the mapping's schema
/// (its views and capture triggers) and shopbridge's own schema (event log, deliveries,
/// jobs, integrations, secrets). On the reference schema the shop's tables stay; only the
/// capture triggers and functions shopbridge put on them go.
pub async fn uninstall(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbridge.mapping'))")
        .execute(&mut *tx)
        .await?;
    drop_schema(&mut tx).await?;
    sqlx::raw_sql("DROP SCHEMA IF EXISTS shopbridge CASCADE")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The key type of each reference relation as the connected database has it (`bigint` on
/// the reference schema; `text`, `uuid`… over a mapped shop), read on first use: the
/// service starts before the mapping is installed.
pub struct Keys {
    pool: PgPool,
    types: tokio::sync::OnceCell<HashMap<String, String>>,
}

impl Keys {
    pub fn new(pool: PgPool) -> Self {
        Keys {
            pool,
            types: tokio::sync::OnceCell::new(),
        }
    }

    /// `relation`'s key type, to cast a key given as text: `CAST($1 AS <type>)`.
    pub async fn of(&self, relation: &str) -> Result<&str, sqlx::Error> {
        let types = self
            .types
            .get_or_try_init(|| async {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT r.name, format_type(a.atttypid, a.atttypmod)
                     FROM unnest($1::text[]) AS r(name)
                     JOIN pg_attribute a ON a.attrelid = to_regclass(r.name) AND a.attname = 'id'",
                )
                .bind(RELATIONS.iter().map(|r| r.name).collect::<Vec<_>>())
                .fetch_all(&self.pool)
                .await?;
                Ok::<_, sqlx::Error>(rows.into_iter().collect())
            })
            .await?;
        types
            .get(relation)
            .map(String::as_str)
            .ok_or_else(|| sqlx::Error::Protocol(format!("the shop has no relation {relation}")))
    }
}
