//! Executions: one row per workflow and event it ran on, with every try's answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::WorkflowListing;
use crate::delivery::kind::Delivery;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The action failed and will be tried again.
    Retrying,
    Succeeded,
    /// For good, not retried (no recipient, refused by the partner).
    Failed,
    /// Past its retry budget, or its setup is wrong: the entity's later events wait until
    /// the workflow is resumed.
    Paused,
    /// A condition did not match, or the loop guard stopped it.
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Retrying => "retrying",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Paused => "paused",
            State::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            State::Retrying,
            State::Succeeded,
            State::Failed,
            State::Paused,
            State::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One try, to record.
pub struct Record<'a> {
    pub workflow: Uuid,
    pub delivery: &'a Delivery,
    pub action: &'static str,
    pub state: State,
    pub reason: Option<String>,
    pub answer: String,
    pub sent_to: Vec<i64>,
}

/// Records a try; the answers of earlier tries are kept. A database that does not take it
/// is retried a few times, then logged: the event log keeps the delivery's own record.
pub async fn record(pool: &PgPool, record: &Record<'_>) {
    for wait in [0u64, 100, 500, 2000] {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        match write(pool, record).await {
            Ok(()) => return,
            Err(e) => log::warn!(
                "workflow {}: recording the execution of event {}: {e}",
                record.workflow,
                record.delivery.event_id
            ),
        }
    }
}

async fn write(pool: &PgPool, record: &Record<'_>) -> Result<(), sqlx::Error> {
    let delivery = record.delivery;
    sqlx::query(
        "INSERT INTO workflow_executions AS x
             (workflow_guid, event_id, event_name, entity_type, entity_id, action, state, reason,
              tries, attempts, sent_to)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                 jsonb_build_array(jsonb_build_object('at', now(), 'state', $7, 'answer', $10)),
                 $11)
         ON CONFLICT (workflow_guid, event_id) DO UPDATE
         SET state = excluded.state, reason = excluded.reason, tries = excluded.tries,
             attempts = x.attempts || excluded.attempts, sent_to = excluded.sent_to,
             updated_at = now()",
    )
    .bind(record.workflow)
    .bind(delivery.event_id)
    .bind(&delivery.name)
    .bind(&delivery.entity_type)
    .bind(&delivery.entity_id)
    .bind(record.action)
    .bind(record.state.as_str())
    .bind(&record.reason)
    .bind(delivery.attempts + 1)
    .bind(crate::outbound::clip(&record.answer))
    .bind(&record.sent_to)
    .execute(pool)
    .await
    .map(drop)
}

/// The push subscriptions an execution has reached already.
pub async fn sent_to(
    pool: &PgPool,
    workflow: Uuid,
    event_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT sent_to FROM workflow_executions WHERE workflow_guid = $1 AND event_id = $2",
    )
    .bind(workflow)
    .bind(event_id)
    .fetch_optional(pool)
    .await
    .map(Option::unwrap_or_default)
}

/// An execution as listed.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub id: i64,
    pub event_id: i64,
    #[schema(example = "shipment.delivered")]
    pub event_name: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(example = "send_email")]
    pub action: String,
    /// `retrying`, `succeeded`, `failed`, `paused`, `skipped`, or `waiting` (behind a
    /// paused execution of the same entity, or not tried yet).
    #[schema(example = "succeeded")]
    pub state: String,
    /// Why it was skipped, failed or paused.
    pub reason: Option<String>,
    /// Tries since the workflow was last resumed.
    pub tries: i32,
    /// Every try: `{at, state, answer}`.
    #[schema(value_type = Vec<Object>)]
    pub attempts: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A workflow's executions, newest first, with the events still waiting for it; of one
/// state when given.
pub async fn list(
    pool: &PgPool,
    workflow: &WorkflowListing,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Execution>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM (
             SELECT x.id, x.event_id, x.event_name, x.entity_type, x.entity_id, x.action,
                    x.state, x.reason, x.tries, x.attempts, x.created_at, x.updated_at
             FROM workflow_executions x WHERE x.workflow_guid = $1
             UNION ALL
             SELECT -p.delivery_id, p.event_id, p.event_name, p.entity_type, p.entity_id,
                    $4, 'waiting', NULL, 0, '[]'::jsonb, p.created_at, p.created_at
             FROM workflows w, pending_deliveries(w.destination_id) p
             WHERE w.guid = $1
               AND NOT EXISTS (SELECT FROM workflow_executions x
                               WHERE x.workflow_guid = $1 AND x.event_id = p.event_id)
         ) execution
         WHERE $2::text IS NULL OR state = $2
         ORDER BY event_id DESC, id DESC
         LIMIT $3",
    )
    .bind(workflow.guid)
    .bind(state)
    .bind(limit)
    .bind(&workflow.action)
    .fetch_all(pool)
    .await
}

/// Deletes the executions finished longer than `retention` ago (`EVENT_RETENTION`, as their
/// events), in bounded batches; paused and retrying ones are kept.
pub async fn prune(pool: &PgPool, retention: std::time::Duration) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM workflow_executions WHERE id IN (
             SELECT id FROM workflow_executions
             WHERE updated_at < now() - make_interval(secs => $1)
               AND state IN ('succeeded', 'failed', 'skipped')
             LIMIT $2)",
        retention,
    )
    .await
}

pub async fn prune_until_stopped(
    pool: PgPool,
    retention: std::time::Duration,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    crate::db::prune_hourly("workflow executions", stopped, || prune(&pool, retention)).await
}
