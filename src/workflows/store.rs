//! The workflows' SQL: each workflow is a `workflows` row and its destination, written in one
//! transaction; status updates written with their cause, for the loop guard.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::definition::{Definition, StatusTarget, Stored};
use super::triggers::{EntityType, Trigger};
use crate::delivery::destinations::{self, DestinationError, DestinationName, Standing};
use crate::delivery::kind::DestinationKind;
use crate::events::EventPattern;
use crate::secrets::vault::Vault;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no workflow has the guid {0}")]
    NotFound(Uuid),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A workflow as listed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "guid": "4b3f8d2e-6a1c-4e7b-9f05-2c8d1e7a3b90",
    "name": "Notify on Delivery",
    "entityType": "Shipment",
    "trigger": "shipment_delivered",
    "triggerId": "20ffb2ee-e82f-5833-a365-0a10df00555d",
    "action": "send_email",
    "actionConfig": {"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
    "conditions": {"status": "delivered"},
    "isActive": true,
    "isManaged": false,
    "paused": 0,
    "createdAt": "2026-12-01T10:00:00Z",
    "updatedAt": "2026-12-01T10:00:00Z"
}))]
pub struct WorkflowListing {
    pub guid: Uuid,
    pub name: String,
    pub entity_type: String,
    /// The trigger's code.
    pub trigger: String,
    pub trigger_id: Uuid,
    /// The action's type.
    pub action: String,
    /// The action as configured (a webhook's secret only as `configured`).
    #[schema(value_type = Object)]
    pub action_config: Value,
    #[schema(value_type = Object)]
    pub conditions: Value,
    pub is_active: bool,
    pub is_managed: bool,
    /// Executions paused, waiting for a resume.
    pub paused: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    guid: Uuid,
    name: String,
    entity_type: String,
    trigger_code: String,
    destination_id: i64,
    managed: bool,
    paused: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    /// The workflow with its destination: the definition it runs, whether it is on.
    fn listed(self, destination: Option<&Standing>) -> WorkflowListing {
        let stored = destination.and_then(|d| Stored::deserialize(&d.config).ok());
        let trigger_id = super::triggers::by_code(&self.trigger_code).map(Trigger::guid);
        WorkflowListing {
            guid: self.guid,
            name: self.name,
            entity_type: self.entity_type,
            trigger: self.trigger_code,
            trigger_id: trigger_id.unwrap_or_default(),
            action: stored
                .as_ref()
                .map_or("", |s| s.action.type_name())
                .to_owned(),
            action_config: stored
                .as_ref()
                .map(|s| s.action.shown())
                .unwrap_or_default(),
            conditions: stored.map(|s| s.conditions).unwrap_or_default(),
            is_active: destination.is_some_and(|d| d.enabled),
            is_managed: self.managed,
            paused: self.paused,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const SELECT: &str = "SELECT w.guid, w.name, w.entity_type, w.trigger_code, w.destination_id,
        w.managed, w.created_at, w.updated_at,
        (SELECT count(*) FROM workflow_executions x
         WHERE x.workflow_guid = w.guid AND x.state = 'paused') AS paused
 FROM workflows w";

/// `rows` with their destinations, in their order.
async fn listed(pool: &PgPool, rows: Vec<Row>) -> Result<Vec<WorkflowListing>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.destination_id).collect();
    let destinations: HashMap<i64, Standing> = destinations::standings(pool, &ids)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let destination = destinations.get(&row.destination_id);
            row.listed(destination)
        })
        .collect())
}

pub async fn list(
    pool: &PgPool,
    entity: EntityType,
    managed: Option<bool>,
) -> Result<Vec<WorkflowListing>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE w.entity_type = $1 AND ($2::boolean IS NULL OR w.managed = $2)
         ORDER BY w.managed DESC, w.created_at, w.guid"
    )))
    .bind(entity.as_str())
    .bind(managed)
    .fetch_all(pool)
    .await?;
    listed(pool, rows).await
}

pub async fn find(pool: &PgPool, guid: Uuid) -> Result<WorkflowListing, StoreError> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE w.guid = $1")))
            .bind(guid)
            .fetch_optional(pool)
            .await?;
    let row = row.ok_or(StoreError::NotFound(guid))?;
    Ok(listed(pool, vec![row]).await?.remove(0))
}

/// A workflow's definition as its destination runs it (secrets left sealed).
pub async fn definition(pool: &PgPool, guid: Uuid) -> Result<Definition, StoreError> {
    let config = destinations::standing(pool, destination_name(guid).as_str())
        .await?
        .ok_or(StoreError::NotFound(guid))?
        .config;
    serde_json::from_value::<Stored>(config)
        .map_err(|e| e.to_string())
        .and_then(|stored| Definition::parse(stored).map_err(|e| e.to_string()))
        .map_err(|e| StoreError::Conflict(format!("the stored workflow cannot be read: {e}")))
}

/// What configure writes.
pub struct Configure<'a> {
    pub name: &'a str,
    pub trigger: &'static Trigger,
    pub stored: Stored,
    pub active: bool,
}

fn destination_name(guid: Uuid) -> DestinationName {
    DestinationName::parse(&format!("workflow-{}", guid.simple()))
        .expect("a valid destination name")
}

fn events(trigger: &Trigger) -> Vec<EventPattern> {
    vec![EventPattern::try_from(trigger.event.to_owned()).expect("a trigger's event is a name")]
}

/// Creates a workflow, enabled or not; the webhook secret made for it, if one was.
pub async fn create(
    pool: &PgPool,
    vault: &Vault,
    kind: &dyn DestinationKind,
    mut workflow: Configure<'_>,
) -> Result<Option<String>, StoreError> {
    let guid = workflow.stored.workflow;
    let made = workflow.stored.sign_if_unsigned();
    let config = serde_json::to_value(&workflow.stored).expect("a workflow serialises");
    let mut tx = pool.begin().await?;
    let destination = destinations::add_in(
        &mut tx,
        vault,
        &destination_name(guid),
        kind,
        &events(workflow.trigger),
        config,
    )
    .await?;
    destinations::set_enabled(&mut tx, destination, workflow.active).await?;
    sqlx::query(
        "INSERT INTO workflows (guid, name, entity_type, trigger_code, destination_id)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(guid)
    .bind(workflow.name)
    .bind(workflow.trigger.entity_type.as_str())
    .bind(workflow.trigger.code)
    .bind(destination)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(made)
}

/// Changes a workflow: its name, trigger, conditions and action; its state stays. The
/// webhook secret made for it, if one was.
pub async fn update(
    pool: &PgPool,
    vault: &Vault,
    kind: &dyn DestinationKind,
    workflow: Configure<'_>,
) -> Result<Option<String>, StoreError> {
    let guid = workflow.stored.workflow;
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE workflows SET name = $2, entity_type = $3, trigger_code = $4 WHERE guid = $1",
    )
    .bind(guid)
    .bind(workflow.name)
    .bind(workflow.trigger.entity_type.as_str())
    .bind(workflow.trigger.code)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(guid));
    }
    let mut stored = workflow.stored;
    let mut made = None;
    destinations::reconfigure_in(
        &mut tx,
        vault,
        destination_name(guid).as_str(),
        kind,
        Some(&events(workflow.trigger)),
        |old| {
            stored.keep_secrets_of(old);
            made = stored.sign_if_unsigned();
            Ok(serde_json::to_value(&stored).expect("a workflow serialises"))
        },
    )
    .await?;
    tx.commit().await?;
    Ok(made)
}

/// The secrets signing a webhook workflow's requests (none for other actions).
pub async fn secrets(pool: &PgPool, vault: &Vault, guid: Uuid) -> Result<Vec<String>, StoreError> {
    let config = destinations::config(pool, vault, destination_name(guid).as_str())
        .await?
        .ok_or(StoreError::NotFound(guid))?;
    let stored = serde_json::from_value::<Stored>(config)
        .map_err(|e| StoreError::Conflict(format!("the stored workflow cannot be read: {e}")))?;
    Ok(stored.all_secrets())
}

/// The workflow `guid`, locked until the transaction ends: its destination's id and
/// whether it is managed.
async fn locked(tx: &mut PgConnection, guid: Uuid) -> Result<(i64, bool), StoreError> {
    let found: Option<(i64, bool)> =
        sqlx::query_as("SELECT destination_id, managed FROM workflows WHERE guid = $1 FOR UPDATE")
            .bind(guid)
            .fetch_optional(tx)
            .await?;
    found.ok_or(StoreError::NotFound(guid))
}

/// Turns a workflow on or off; whether it is on now.
pub async fn toggle(pool: &PgPool, guid: Uuid) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let (destination, _) = locked(&mut tx, guid).await?;
    let enabled = destinations::toggle(&mut tx, destination).await?;
    tx.commit().await?;
    Ok(enabled)
}

/// Deletes a workflow with its destination, deliveries and executions; a managed one is
/// refused.
pub async fn delete(pool: &PgPool, guid: Uuid) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if locked(&mut tx, guid).await?.1 {
        return Err(StoreError::Conflict(
            "A managed workflow cannot be deleted; toggle it off instead.".into(),
        ));
    }
    destinations::forget(&mut *tx, destination_name(guid).as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// Retries a workflow's paused executions with a fresh retry budget, after releasing a
/// hold its action's setup caused; how many. Its later events of the same entities follow
/// them, in order.
pub async fn resume(pool: &PgPool, guid: Uuid) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let (destination, _) = locked(&mut tx, guid).await?;
    let paused: Vec<i64> = sqlx::query_scalar(
        "UPDATE workflow_executions SET state = 'retrying', updated_at = now()
         WHERE workflow_guid = $1 AND state = 'paused'
         RETURNING event_id",
    )
    .bind(guid)
    .fetch_all(&mut *tx)
    .await?;
    if paused.is_empty() {
        return Err(StoreError::Conflict(
            "Nothing to resume: the workflow has no paused execution.".into(),
        ));
    }
    destinations::resend(&mut tx, destination, &paused).await?;
    tx.commit().await?;
    Ok(paused.len() as u64)
}

/// Sets an order's or a shipment's status, the transaction tagged with `cause` (the loop
/// guard reads it from the events it records); the previous status, `None` when it had that
/// status already or the row is gone.
pub async fn set_status(
    pool: &PgPool,
    target: StatusTarget,
    id: i64,
    status: &str,
    cause: &[String],
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('shopbridge.cause', $1::text[]::text, true)")
        .bind(cause)
        .execute(&mut *tx)
        .await?;
    let previous: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH old AS (SELECT status FROM {table} WHERE id = $1 FOR UPDATE)
         UPDATE {table} t SET status = $2 FROM old
         WHERE t.id = $1 AND old.status IS DISTINCT FROM $2
         RETURNING old.status",
        table = target.table()
    )))
    .bind(id)
    .bind(status)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(previous)
}

pub async fn status_of(
    pool: &PgPool,
    target: StatusTarget,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM {} WHERE id = $1",
        target.table()
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

