//! The event dispatcher: delivers the outbox the database triggers fill to Waymore's events
//! URL. It LISTENs for the triggers' NOTIFY, and catches up on start, after the LISTEN
//! connection drops, and on a timer, so nothing committed while it was away is lost.
//! Events go out in outbox order, which the deferred triggers make commit order. Rows are
//! claimed with `FOR UPDATE SKIP LOCKED`, so with several processes each event goes out
//! once; an event waits while an earlier one of its entity is undelivered (held by another
//! process, or waiting for a retry), so an entity's events arrive in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::client::{WaymoreClient, WaymoreError};
use super::export::RetryPolicy;

pub const CHANNEL: &str = "waymore_outbox";
/// Events claimed per transaction.
const BATCH: i64 = 200;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(sqlx::FromRow)]
struct OutboxEvent {
    id: i64,
    entity_key: String,
    event: String,
    uuid: String,
    data: String,
    attempts: i32,
}

#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub retry: RetryPolicy,
    /// How often the outbox is checked without a notification (retries due, safety net).
    pub poll: Duration,
    /// Delivered events are deleted after this long.
    pub retention: Duration,
}

pub struct Dispatcher {
    pool: PgPool,
    client: WaymoreClient,
    settings: DispatchSettings,
    wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, client: WaymoreClient, settings: DispatchSettings) -> Arc<Self> {
        Arc::new(Dispatcher {
            pool,
            client,
            settings,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Tells the dispatcher that events may be waiting (failed ones were queued again, say).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers events as they are committed, until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let listener = tokio::spawn(listen(self.pool.clone(), self.wake.clone()));
        let mut pruned_at: Option<Instant> = None;
        loop {
            if let Err(error) = self.drain().await {
                log::error!("Waymore events: {error}");
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                match self.prune().await {
                    Ok(0) => {}
                    Ok(n) => log::info!("Waymore events: pruned {n} delivered events"),
                    Err(error) => log::error!("Waymore events: pruning failed: {error}"),
                }
                pruned_at = Some(Instant::now());
            }
            let wait = self
                .next_due()
                .await
                .unwrap_or(self.settings.poll)
                .min(self.settings.poll);
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            if listener.is_finished() {
                log::error!("Waymore events: the listener stopped");
            }
        }
    }

    /// Delivers every event that is ready; how many were delivered.
    pub async fn drain(&self) -> Result<usize, sqlx::Error> {
        let mut total = 0;
        loop {
            let (claimed, delivered) = self.deliver_batch().await?;
            total += delivered;
            if claimed < BATCH as usize || delivered == 0 {
                return Ok(total);
            }
        }
    }

    /// Claims a batch, sends it in order and records each outcome; (claimed, delivered).
    async fn deliver_batch(&self) -> Result<(usize, usize), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let events: Vec<OutboxEvent> = sqlx::query_as(
            "SELECT id, entity_key, event, uuid, data::text AS data, attempts
             FROM waymore_outbox
             WHERE state = 'pending' AND next_attempt_at <= now()
             ORDER BY id
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let claimed = events.len();
        if claimed == 0 {
            return Ok((0, 0));
        }
        // An entity whose earlier event this batch does not hold (another process has it,
        // or it waits for a retry) must wait: from that event on, its events are skipped.
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        let keys: Vec<&str> = events.iter().map(|e| e.entity_key.as_str()).collect();
        let blocked: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT entity_key, min(id) FROM waymore_outbox
             WHERE state = 'pending' AND entity_key = ANY($1) AND id < $2 AND NOT (id = ANY($3))
             GROUP BY entity_key",
        )
        .bind(&keys)
        .bind(ids.iter().max())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let mut delivered = Vec::with_capacity(claimed);
        let mut attempts = Attempts::default();
        for event in events {
            let waits = blocked
                .get(&event.entity_key)
                .is_some_and(|first| *first < event.id);
            if waits {
                continue;
            }
            let data = RawValue::from_string(event.data).map_err(|e| {
                sqlx::Error::Decode(format!("outbox event {}: {e}", event.id).into())
            })?;
            let sent = self
                .client
                .send_event(&event.event, &event.uuid, &data, &event.id.to_string())
                .await;
            attempts.record(event.id, &sent);
            match sent {
                Ok(_) => delivered.push(event.id),
                Err(error) if error.is_permanent() => {
                    log::warn!(
                        "Waymore refused event {} ({}): {error}",
                        event.id,
                        event.event
                    );
                    sqlx::query(
                        "UPDATE waymore_outbox SET state = 'failed', attempts = attempts + 1, last_error = $2
                         WHERE id = $1",
                    )
                    .bind(event.id)
                    .bind(error.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                Err(error) => {
                    // Waymore is down or slow: leave the rest of the batch for the next round.
                    let delay = self.settings.retry.delay(event.attempts as u32 + 1);
                    log::warn!(
                        "Waymore event {} not delivered: {error}; retrying in {delay:?}",
                        event.id
                    );
                    sqlx::query(
                        "UPDATE waymore_outbox
                         SET attempts = attempts + 1, last_error = $2,
                             next_attempt_at = now() + make_interval(secs => $3)
                         WHERE id = $1",
                    )
                    .bind(event.id)
                    .bind(error.to_string())
                    .bind(delay.as_secs_f64())
                    .execute(&mut *tx)
                    .await?;
                    break;
                }
            }
        }
        sqlx::query(
            "UPDATE waymore_outbox SET state = 'delivered', delivered_at = now(), attempts = attempts + 1
             WHERE id = ANY($1)",
        )
        .bind(&delivered)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO waymore_event_attempts (event_id, delivered, status, error)
             SELECT * FROM unnest($1::bigint[], $2::boolean[], $3::integer[], $4::text[])",
        )
        .bind(&attempts.event_ids)
        .bind(&attempts.delivered)
        .bind(&attempts.statuses)
        .bind(&attempts.errors)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((claimed, delivered.len()))
    }

    /// How long until the earliest retry is due, if one is waiting.
    async fn next_due(&self) -> Option<Duration> {
        let seconds: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
             FROM waymore_outbox WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await
        .ok()
        .flatten();
        seconds.map(|s| Duration::from_secs_f64(s.max(0.0)))
    }

    async fn prune(&self) -> Result<u64, sqlx::Error> {
        let result = sqlx::query(
            "DELETE FROM waymore_outbox
             WHERE state = 'delivered' AND delivered_at < now() - make_interval(secs => $1)",
        )
        .bind(self.settings.retention.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

/// The outcomes of a batch's attempts, written in one statement with the batch.
#[derive(Default)]
struct Attempts {
    event_ids: Vec<i64>,
    delivered: Vec<bool>,
    statuses: Vec<Option<i32>>,
    errors: Vec<Option<String>>,
}

impl Attempts {
    fn record(&mut self, event_id: i64, outcome: &Result<u16, WaymoreError>) {
        self.event_ids.push(event_id);
        self.delivered.push(outcome.is_ok());
        self.statuses.push(match outcome {
            Ok(status) => Some(i32::from(*status)),
            Err(WaymoreError::Status { status, .. }) => Some(i32::from(*status)),
            Err(_) => None,
        });
        self.errors
            .push(outcome.as_ref().err().map(ToString::to_string));
    }
}

/// Holds the LISTEN connection and wakes the dispatcher on every notification, and after
/// every (re)connection so it catches up on what it could not hear.
async fn listen(pool: PgPool, wake: Arc<Notify>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    wake.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => wake.notify_one(),
                            Ok(None) => {
                                log::warn!("Waymore events: LISTEN connection lost, reconnected");
                                wake.notify_one();
                            }
                            Err(error) => {
                                log::warn!("Waymore events: LISTEN connection failed: {error}");
                                break;
                            }
                        }
                    }
                }
                Err(error) => log::warn!("Waymore events: LISTEN failed: {error}"),
            },
            Err(error) => log::warn!("Waymore events: cannot connect to LISTEN: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The outbox at a glance, for `/waymore/status`.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct EventCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Age of the oldest undelivered event.
    pub oldest_pending_seconds: Option<f64>,
    pub last_error: Option<String>,
}

pub async fn counts(pool: &PgPool) -> Result<EventCounts, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
                count(*) FILTER (WHERE state = 'delivered') AS delivered,
                count(*) FILTER (WHERE state = 'failed') AS failed,
                extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending'))::float8
                    AS oldest_pending_seconds,
                (SELECT last_error FROM waymore_outbox WHERE last_error IS NOT NULL
                 ORDER BY id DESC LIMIT 1) AS last_error
         FROM waymore_outbox",
    )
    .fetch_one(pool)
    .await
}

/// Queues failed events again; how many.
pub async fn retry_failed(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE waymore_outbox SET state = 'pending', next_attempt_at = now(), last_error = NULL
         WHERE state = 'failed'",
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
