//! The `integrations` table: what a shop has configured, its credentials sealed beside it
//! in `secrets` under `integration/<id>`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::Configuration;
use crate::delivery::destinations;
use crate::secrets::vault::{Vault, VaultError};

const CREDENTIALS: &str = "credentials";

/// Why a destination is held while its integration is disabled.
pub const DISABLED: &str = "its integration is disabled";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::Type, serde::Serialize, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Disabled,
}

/// A configured integration, without its secrets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Integration {
    pub id: Uuid,
    pub provider: String,
    pub status: Status,
    pub settings: sqlx::types::Json<Map<String, Value>>,
    pub details: sqlx::types::Json<Map<String, Value>>,
    pub destination_id: Option<i64>,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn owner(id: Uuid) -> String {
    format!("integration/{id}")
}

const COLUMNS: &str =
    "id, provider, status, settings, details, destination_id, connected_at, updated_at";

/// A configured integration, with what its destination says is wrong.
#[derive(Debug)]
pub struct Listing {
    pub integration: Integration,
    /// Why its destination is held (but for being disabled), else its current error.
    pub problem: Option<String>,
}

pub async fn list(pool: &PgPool) -> Result<Vec<Listing>, sqlx::Error> {
    let integrations: Vec<Integration> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations ORDER BY connected_at, id"
    )))
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = integrations
        .iter()
        .filter_map(|i| i.destination_id)
        .collect();
    let problems: HashMap<i64, Option<String>> = destinations::standings(pool, &ids)
        .await?
        .into_iter()
        .map(|d| {
            let held = d.hold_reason.filter(|reason| reason != DISABLED);
            (d.id, held.or(d.last_error))
        })
        .collect();
    Ok(integrations
        .into_iter()
        .map(|integration| Listing {
            problem: integration
                .destination_id
                .and_then(|id| problems.get(&id).cloned().flatten()),
            integration,
        })
        .collect())
}

pub async fn find<'c>(
    executor: impl PgExecutor<'c>,
    id: Uuid,
) -> Result<Option<Integration>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

pub async fn find_provider(
    pool: &PgPool,
    provider: &str,
) -> Result<Option<Integration>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations WHERE provider = $1 ORDER BY connected_at LIMIT 1"
    )))
    .bind(provider)
    .fetch_optional(pool)
    .await
}

/// The configuration of `integration`, its secrets opened.
pub async fn configuration(
    pool: &PgPool,
    vault: &Vault,
    integration: &Integration,
) -> Result<Configuration, VaultError> {
    let secrets = vault
        .get(pool, &owner(integration.id), CREDENTIALS)
        .await?
        .map(|bytes| serde_json::from_slice(&bytes).unwrap_or_default())
        .unwrap_or_default();
    Ok(Configuration {
        settings: integration.settings.0.clone(),
        details: integration.details.0.clone(),
        secrets,
    })
}

/// Stores a new integration, or the change of one (which makes it active again): the row
/// and its sealed credentials in one transaction. `None` when the provider may be
/// configured only once and another process just did.
pub async fn save(
    pool: &PgPool,
    vault: &Vault,
    id: Uuid,
    provider: &str,
    configuration: &Configuration,
    destination_id: Option<i64>,
) -> Result<Option<Integration>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let saved: Option<Integration> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO integrations (id, provider, settings, details, destination_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, details = excluded.details,
             destination_id = excluded.destination_id, status = 'active'
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(provider)
    .bind(sqlx::types::Json(&configuration.settings))
    .bind(sqlx::types::Json(&configuration.details))
    .bind(destination_id)
    .fetch_one(&mut *tx)
    .await
    .map(Some)
    .or_else(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Ok(None),
        _ => Err(e),
    })?;
    let Some(saved) = saved else {
        return Ok(None);
    };
    let secrets = serde_json::to_vec(&configuration.secrets).expect("JSON values serialise");
    vault
        .put(&mut *tx, &owner(id), CREDENTIALS, &secrets)
        .await?;
    if let Some(destination) = saved.destination_id {
        destinations::release_hold(&mut *tx, destination, DISABLED).await?;
    }
    tx.commit().await?;
    Ok(Some(saved))
}

/// Disables or enables an integration, holding or releasing its destination in the same
/// transaction. `None` when there is no such integration.
pub async fn set_status(
    pool: &PgPool,
    id: Uuid,
    status: Status,
) -> Result<Option<Integration>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed: Option<Integration> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE integrations SET status = $2 WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(&status)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(destination) = changed.as_ref().and_then(|i| i.destination_id) {
        match status {
            Status::Disabled => destinations::hold_for(&mut *tx, destination, DISABLED).await?,
            Status::Active => destinations::release_hold(&mut *tx, destination, DISABLED).await?,
        }
    }
    tx.commit().await?;
    Ok(changed)
}

/// Forgets an integration: its row, and its sealed credentials with it (a trigger). What
/// it fed is the provider's to end first ([`super::Provider::disconnect`]). False when there
/// is none.
pub async fn delete(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM integrations WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() == 1)
}
