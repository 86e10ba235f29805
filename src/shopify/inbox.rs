//! The inbox table (`migrations/*_shopify_intake.sql`): storing verified webhooks, claiming
//! them for applying, recording what applying did, and what operators see and do.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};

use super::topic::Topic;

/// The NOTIFY channel stored webhooks are announced on.
pub const CHANNEL: &str = "shopify_webhooks";

/// A verified webhook, as received.
#[derive(Debug)]
pub struct Received<'a> {
    pub webhook_id: &'a str,
    pub topic: Topic,
    pub shop_domain: Option<&'a str>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub api_version: Option<&'a str>,
    pub body: &'a str,
}

/// Stores the webhook unless one with its id is stored already: the inbox id, or None for
/// such a repeat.
pub async fn store(pool: &PgPool, webhook: &Received<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO shopify_webhooks (webhook_id, topic, shop_domain, triggered_at, api_version, body)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (webhook_id) DO NOTHING
         RETURNING id",
    )
    .bind(webhook.webhook_id)
    .bind(webhook.topic.name())
    .bind(webhook.shop_domain)
    .bind(webhook.triggered_at)
    .bind(webhook.api_version)
    .bind(webhook.body)
    .fetch_optional(pool)
    .await
}

/// A webhook claimed for applying: locked by the claiming transaction until it commits.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub topic: String,
    pub shop_domain: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub body: String,
    pub attempts: i32,
}

const CLAIMED_COLUMNS: &str = "id, topic, shop_domain, triggered_at, received_at, body, attempts";

/// Up to `limit` due webhooks, oldest first, skipping those other workers hold.
pub async fn claim_due(conn: &mut PgConnection, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CLAIMED_COLUMNS} FROM shopify_webhooks
         WHERE state = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, id
         LIMIT $1
         FOR UPDATE SKIP LOCKED"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Webhook `id` whatever its state and due time (the CLI's replay), waiting for a worker
/// that holds it.
pub async fn claim(conn: &mut PgConnection, id: i64) -> Result<Option<Claimed>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CLAIMED_COLUMNS} FROM shopify_webhooks WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// When the next pending webhook is due, if any is.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(next_attempt_at) FROM shopify_webhooks WHERE state = 'pending'")
        .fetch_one(pool)
        .await
}

/// Applied: `outcome` says what it did. Fulfillments waiting for `wakes_order` are due now;
/// true when there were some.
pub async fn record_applied(
    conn: &mut PgConnection,
    id: i64,
    outcome: &str,
    wakes_order: Option<i64>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "WITH applied AS (
             UPDATE shopify_webhooks
             SET state = 'applied', attempts = attempts + 1, outcome = $2, last_error = NULL,
                 waiting_for_order = NULL, applied_at = now()
             WHERE id = $1
         ), woken AS (
             UPDATE shopify_webhooks SET next_attempt_at = now()
             WHERE waiting_for_order = $3 AND state = 'pending'
             RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM woken)",
    )
    .bind(id)
    .bind(outcome)
    .bind(wakes_order)
    .fetch_one(conn)
    .await
}

/// Not applied, for good: `outcome` says which switch was off.
pub async fn record_ignored(
    conn: &mut PgConnection,
    id: i64,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE shopify_webhooks
         SET state = 'ignored', attempts = attempts + 1, outcome = $2, last_error = NULL,
             waiting_for_order = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(outcome)
    .execute(conn)
    .await?;
    Ok(())
}

/// Orders of `shopify_ids` were written (an import): fulfillments waiting for them are due
/// now, and the appliers are told.
pub async fn wake_waiting(conn: &mut PgConnection, shopify_ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH woken AS (
             UPDATE shopify_webhooks SET next_attempt_at = now()
             WHERE waiting_for_order = ANY ($1) AND state = 'pending'
             RETURNING 1
         )
         SELECT pg_notify($2, '') FROM (SELECT 1 FROM woken LIMIT 1) w",
    )
    .bind(shopify_ids)
    .bind(CHANNEL)
    .execute(conn)
    .await?;
    Ok(())
}

/// Not applied this time: tried again after `retry_in`; `waiting_for_order` when it waits
/// for an order, `error` when it failed.
pub async fn record_retry(
    conn: &mut PgConnection,
    id: i64,
    retry_in: Duration,
    waiting_for_order: Option<i64>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE shopify_webhooks
         SET attempts = attempts + 1, waiting_for_order = $3, last_error = $4,
             outcome = CASE WHEN $3 IS NOT NULL
                            THEN 'waiting for order ' || $3 || ' (Shopify id) to arrive' END,
             next_attempt_at = now() + make_interval(secs => $2)
         WHERE id = $1",
    )
    .bind(id)
    .bind(retry_in.as_secs_f64())
    .bind(waiting_for_order)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Failed for good: kept, with the error, until reprocessed.
pub async fn record_failed(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE shopify_webhooks
         SET state = 'failed', attempts = attempts + 1, last_error = $2, outcome = NULL,
             waiting_for_order = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct IntakeStatus {
    /// Webhooks kept (applied ones are deleted after `SHOPIFY_WEBHOOK_RETENTION`).
    pub received: i64,
    pub applied: i64,
    /// Not applied yet: due, retrying, or waiting for their order.
    pub pending: i64,
    /// Of the pending: fulfillments waiting for their order.
    pub waiting_for_order: i64,
    pub failed: i64,
    /// Stored and not applied, because the integration's switch for their topic was off.
    pub ignored: i64,
    pub last_received_at: Option<DateTime<Utc>>,
    pub last_applied_at: Option<DateTime<Utc>>,
    /// The latest error of a webhook not applied (failed, or retrying).
    #[sqlx(skip)]
    pub last_error: Option<LastError>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    pub id: i64,
    pub webhook_id: String,
    pub topic: String,
    pub message: String,
}

pub async fn status(pool: &PgPool) -> Result<IntakeStatus, sqlx::Error> {
    let mut status: IntakeStatus = sqlx::query_as(
        "SELECT count(*) AS received,
                count(*) FILTER (WHERE state = 'applied') AS applied,
                count(*) FILTER (WHERE state = 'pending') AS pending,
                count(*) FILTER (WHERE state = 'pending' AND waiting_for_order IS NOT NULL)
                    AS waiting_for_order,
                count(*) FILTER (WHERE state = 'failed') AS failed,
                count(*) FILTER (WHERE state = 'ignored') AS ignored,
                max(received_at) AS last_received_at,
                max(applied_at) AS last_applied_at
         FROM shopify_webhooks",
    )
    .fetch_one(pool)
    .await?;
    status.last_error = sqlx::query_as(
        "SELECT id, webhook_id, topic, last_error AS message FROM shopify_webhooks
         WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(status)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "shopify_webhook_state", rename_all = "snake_case")]
pub enum WebhookState {
    Pending,
    Applied,
    Failed,
    Ignored,
}

/// Stored webhooks, newest first, keyset-paged by `before`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookFilter {
    pub state: Option<WebhookState>,
    /// A topic, such as `orders/create`.
    #[serde(default, deserialize_with = "crate::http::extract::blank_as_none")]
    #[param(pattern = "^[^\\u0000]*$")]
    pub topic: Option<String>,
    /// Webhooks with a smaller id than this: the previous page's `nextBefore`.
    pub before: Option<i64>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct StoredWebhook {
    pub id: i64,
    /// `X-Shopify-Webhook-Id`.
    pub webhook_id: String,
    pub topic: String,
    pub shop_domain: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub state: WebhookState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// What applying did.
    pub outcome: Option<String>,
    pub last_error: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPage {
    pub webhooks: Vec<StoredWebhook>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

const STORED_COLUMNS: &str = "id, webhook_id, topic, shop_domain, triggered_at, received_at, \
     state, attempts, next_attempt_at, outcome, last_error, applied_at";

pub async fn list(pool: &PgPool, filter: &WebhookFilter) -> Result<WebhookPage, sqlx::Error> {
    let limit = i64::from(filter.limit.unwrap_or(50).clamp(1, 500));
    let webhooks: Vec<StoredWebhook> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORED_COLUMNS} FROM shopify_webhooks
         WHERE ($1::shopify_webhook_state IS NULL OR state = $1)
           AND ($2::text IS NULL OR topic = $2)
           AND ($3::bigint IS NULL OR id < $3)
         ORDER BY id DESC
         LIMIT $4"
    )))
    .bind(filter.state)
    .bind(&filter.topic)
    .bind(filter.before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let next_before = (webhooks.len() as i64 == limit)
        .then(|| webhooks.last().map(|w| w.id))
        .flatten();
    Ok(WebhookPage {
        webhooks,
        next_before,
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDetail {
    #[serde(flatten)]
    pub webhook: StoredWebhook,
    /// The body as received.
    #[schema(value_type = Object)]
    pub body: Box<RawValue>,
}

pub async fn show(pool: &PgPool, id: i64) -> Result<Option<WebhookDetail>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        webhook: StoredWebhook,
        body: String,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORED_COLUMNS}, body FROM shopify_webhooks WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let body = RawValue::from_string(row.body)
            .map_err(|e| sqlx::Error::Decode(format!("a stored webhook body: {e}").into()))?;
        Ok(WebhookDetail {
            webhook: row.webhook,
            body,
        })
    })
    .transpose()
}

/// Queues webhooks to be applied again: those of `ids` whatever their state, or without ids
/// every failed one. How many were queued.
pub async fn reprocess(pool: &PgPool, ids: Option<&[i64]>) -> Result<u64, sqlx::Error> {
    let queued = sqlx::query(
        "UPDATE shopify_webhooks
         SET state = 'pending', attempts = 0, next_attempt_at = now(), outcome = NULL,
             waiting_for_order = NULL
         WHERE CASE WHEN $1::bigint[] IS NULL THEN state = 'failed' ELSE id = ANY ($1) END",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(queued.rows_affected())
}

/// Deletes applied and ignored webhooks received longer than `retention` ago, in batches.
/// Failed and pending ones are kept.
pub async fn prune(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM shopify_webhooks WHERE id IN (
             SELECT id FROM shopify_webhooks
             WHERE state IN ('applied', 'ignored') AND received_at < now() - make_interval(secs => $1)
             LIMIT $2)",
        retention,
    )
    .await
}
