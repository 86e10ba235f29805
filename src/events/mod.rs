//! The shop event log: domain events the database triggers record (see
//! `migrations/*_event_log.sql` and `docs/schema.sql`), each with one delivery per
//! destination that takes it. This module is what operators do with it: list and inspect
//! events, retry failed deliveries, replay a range of events to a destination.

pub mod pattern;
pub mod payloads;

use chrono::{DateTime, Utc};

pub use pattern::EventPattern;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "delivery_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
    Canceled,
}

/// Filters of the event list; newest first, keyset-paged by `before`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only events with a delivery to this destination.
    pub destination: Option<String>,
    /// Only events with a delivery in this state (to `destination`, when given).
    pub state: Option<DeliveryState>,
    /// Event name, e.g. `order.created`.
    pub name: Option<String>,
    /// Entity type, e.g. `order`.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Occurred at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Occurred before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Events with a smaller id than this: the previous page's `nextBefore`.
    pub before: Option<i64>,
    /// 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub events: Vec<EventSummary>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    pub id: i64,
    #[schema(example = "order.created")]
    pub name: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Events with the same key reach each destination in commit order.
    pub ordering_key: String,
    /// `shop` for the database triggers, else the integration it came from.
    pub source: String,
    pub occurred_at: DateTime<Utc>,
    #[sqlx(json)]
    pub deliveries: Vec<DeliverySummary>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    pub id: i64,
    pub destination: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The deliveries of event `e`, as a JSON array of [`DeliverySummary`].
const DELIVERIES_JSON: &str = "
    coalesce((SELECT json_agg(json_build_object(
                  'id', d.id, 'destination', ds.name, 'state', d.state, 'attempts', d.attempts,
                  'nextAttemptAt', CASE WHEN d.state = 'pending' THEN event_time(d.next_attempt_at) END,
                  'lastStatus', d.last_status, 'lastError', d.last_error,
                  'finishedAt', event_time(d.finished_at)) ORDER BY d.id)
              FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id
              WHERE d.event_id = e.id), '[]'::json) AS deliveries";

pub async fn list(pool: &PgPool, filter: &EventFilter) -> Result<EventPage, sqlx::Error> {
    let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 500));
    let events: Vec<EventSummary> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.name, e.entity_type, e.entity_id, e.ordering_key, e.source, e.occurred_at,
                {DELIVERIES_JSON}
         FROM events e
         WHERE ($1::bigint IS NULL OR e.id < $1)
           AND ($2::text IS NULL OR e.name = $2)
           AND ($3::text IS NULL OR e.entity_type = $3)
           AND ($4::text IS NULL OR e.entity_id = $4)
           AND ($5::timestamptz IS NULL OR e.occurred_at >= $5)
           AND ($6::timestamptz IS NULL OR e.occurred_at < $6)
           AND (($7::text IS NULL AND $8::delivery_state IS NULL) OR EXISTS (
                SELECT 1 FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id
                WHERE d.event_id = e.id AND ($7::text IS NULL OR ds.name = $7)
                  AND ($8::delivery_state IS NULL OR d.state = $8)))
         ORDER BY e.id DESC
         LIMIT $9"
    )))
    .bind(filter.before)
    .bind(&filter.name)
    .bind(&filter.entity_type)
    .bind(&filter.entity_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(&filter.destination)
    .bind(filter.state)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let next_before = match events.last() {
        Some(last) if events.len() as i64 == limit => Some(last.id),
        _ => None,
    };
    Ok(EventPage {
        events,
        next_before,
    })
}

/// One event in full: its payload, and every attempt of every delivery.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub summary: EventSummary,
    pub payload: serde_json::Value,
    #[sqlx(json)]
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempted_at: DateTime<Utc>,
    pub delivered: bool,
    /// The destination's answer, when it answered.
    pub status: Option<i32>,
    pub error: Option<String>,
}

pub async fn show(pool: &PgPool, id: i64) -> Result<Option<EventDetail>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.name, e.entity_type, e.entity_id, e.ordering_key, e.source, e.occurred_at,
                e.payload, {DELIVERIES_JSON},
                coalesce((SELECT json_agg(json_build_object(
                              'deliveryId', a.delivery_id, 'attemptedAt', event_time(a.attempted_at),
                              'delivered', a.delivered, 'status', a.status, 'error', a.error)
                              ORDER BY a.attempted_at)
                          FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                          WHERE d.event_id = e.id), '[]'::json) AS attempts
         FROM events e WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Queues a destination's failed deliveries again; how many. They keep their place: the
/// later events of their ordering key waited behind them and still do.
pub async fn retry_failed(pool: &PgPool, destination: &str) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let result = sqlx::query(
        "UPDATE deliveries d
         SET state = 'pending', next_attempt_at = now(), finished_at = NULL
         FROM destinations ds
         WHERE ds.id = d.destination_id AND ds.name = $1 AND d.state = 'failed'",
    )
    .bind(destination)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}

/// Events to send to a destination again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayRequest {
    /// First event id of the range (inclusive).
    pub from_event_id: i64,
    /// Last event id of the range (inclusive).
    pub to_event_id: i64,
    /// Only events of this name or pattern (`order.*`).
    pub name: Option<EventPattern>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no enabled destination is named {0:?}")]
    NoDestination(String),
    #[error("the range holds more than {MAX_REPLAY} events; replay it in parts")]
    TooMany,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub const MAX_REPLAY: i64 = 100_000;

/// The NOTIFY channel `record_event()` announces new events on.
pub const CHANNEL: &str = "shop_events";

/// A new delivery, with the same event id, for every event of the range the destination
/// takes; how many. They go out in event order per ordering key, before later events of
/// the same key.
pub async fn replay(
    pool: &PgPool,
    destination: &str,
    request: &ReplayRequest,
) -> Result<u64, ReplayError> {
    let mut tx = pool.begin().await?;
    let target: Option<i64> =
        sqlx::query_scalar("SELECT id FROM destinations WHERE name = $1 AND enabled FOR SHARE")
            .bind(destination)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(id) = target else {
        return Err(ReplayError::NoDestination(destination.into()));
    };
    // The connection keeps the foreign-key check planned for these deliveries and uses it
    // when it records events: an index probe, as recording plans it (migration
    // 20261123000009_pin_delivery_key_checks.sql).
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO deliveries (event_id, destination_id, ordering_key, ready)
         SELECT e.id, ds.id, e.ordering_key, NOT delivery_queued(ds.id, e.ordering_key)
         FROM events e, destinations ds
         WHERE ds.id = $1 AND e.id BETWEEN $2 AND $3
           AND ($4::text IS NULL OR destination_takes(ARRAY[$4], e.name))
           AND destination_takes(ds.events, e.name)
         ORDER BY e.id",
    )
    .bind(id)
    .bind(request.from_event_id)
    .bind(request.to_event_id)
    .bind(request.name.as_ref().map(EventPattern::as_str))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted > MAX_REPLAY as u64 {
        return Err(ReplayError::TooMany);
    }
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(inserted)
}
