//! The mass export of the shop's history: entities in Waymore's order, in parts, with the
//! position saved after every part Waymore accepted, so a crash or restart resumes where it
//! stopped. One export runs at a time across every process on the database: the runner
//! holds a session advisory lock, which PostgreSQL releases if the runner dies.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::client::{WaymoreClient, WaymoreError};
use super::mass_data::{self, MassEntity, Part};

/// Key of the advisory lock held while an export runs.
const EXPORT_LOCK: i64 = 0x5742_4558_504f_5254; // "WBEXPORT"
/// How often an idle worker looks for an export left by a process that died.
const IDLE_POLL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "waymore_export_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ExportState {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries per part before the export is marked failed.
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long, up to `cap`.
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// Exponential, with "equal jitter": half the delay fixed, half random, so retrying
    /// processes spread out without retrying at once.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let full = exp.min(self.cap);
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).expect("the OS random source works");
        let fraction = f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX);
        full / 2 + full.mul_f64(fraction / 2.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("export #{0} is already running")]
    AlreadyRunning(i64),
    #[error("Waymore is not connected")]
    NotConnected,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub export_id: i64,
    /// A failed export was resumed from where it stopped, rather than a new one started.
    pub resumed: bool,
}

/// Starts an export of the history as it is now, or resumes the failed one.
pub async fn start(pool: &PgPool, batch_size: u32) -> Result<Started, StartError> {
    let mut tx = pool.begin().await?;
    let connected: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM waymore_connection)")
        .fetch_one(&mut *tx)
        .await?;
    if !connected {
        return Err(StartError::NotConnected);
    }
    let started = start_in(&mut tx, batch_size)
        .await?
        .map_err(|Running(id)| StartError::AlreadyRunning(id))?;
    tx.commit().await?;
    Ok(started)
}

/// Another export is unfinished: its id.
pub struct Running(pub i64);

/// [`start`] for a shop the caller's transaction knows to be connected.
pub async fn start_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    batch_size: u32,
) -> Result<Result<Started, Running>, sqlx::Error> {
    sqlx::query("LOCK TABLE waymore_exports IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    let unfinished: Option<(i64, ExportState)> = sqlx::query_as(
        "SELECT id, state FROM waymore_exports WHERE state IN ('pending', 'running', 'failed')",
    )
    .fetch_optional(&mut **tx)
    .await?;
    let started = match unfinished {
        Some((id, ExportState::Failed)) => {
            sqlx::query(
                "UPDATE waymore_exports SET state = 'pending', last_error = NULL, finished_at = NULL
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Started {
                export_id: id,
                resumed: true,
            }
        }
        Some((id, _)) => return Ok(Err(Running(id))),
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO waymore_exports (batch_size) VALUES ($1) RETURNING id",
            )
            .bind(batch_size as i32)
            .fetch_one(&mut **tx)
            .await?;
            sqlx::query(&progress_rows_sql())
                .bind(id)
                .execute(&mut **tx)
                .await?;
            Started {
                export_id: id,
                resumed: false,
            }
        }
    };
    Ok(Ok(started))
}

/// One progress row per entity: its history is the rows that exist now.
fn progress_rows_sql() -> String {
    let selects: Vec<String> = MassEntity::ALL
        .iter()
        .enumerate()
        .map(|(position, entity)| {
            format!(
                "SELECT '{}', {position}, coalesce(max(id), 0), count(*) FROM {}",
                entity.name(),
                entity.table()
            )
        })
        .collect();
    format!(
        "INSERT INTO waymore_export_progress (export_id, entity, position, upper_id, total)
         SELECT $1, e.* FROM ({}) e",
        selects.join(" UNION ALL ")
    )
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    pub id: i64,
    pub state: ExportState,
    pub batch_size: i32,
    /// Why the export failed, or the last error it is retrying.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entities: Vec<EntityProgress>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct EntityProgress {
    #[schema(example = "customers")]
    pub entity: String,
    pub sent: i64,
    pub total: i64,
    pub done: bool,
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: i64,
    state: ExportState,
    batch_size: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

/// The most recent export, with its progress per entity.
pub async fn latest(pool: &PgPool) -> Result<Option<ExportStatus>, sqlx::Error> {
    let Some(row): Option<ExportRow> = sqlx::query_as(
        "SELECT id, state, batch_size, last_error, created_at, started_at, finished_at
         FROM waymore_exports ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let entities = sqlx::query_as(
        "SELECT entity, sent, total, done FROM waymore_export_progress
         WHERE export_id = $1 ORDER BY position",
    )
    .bind(row.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(ExportStatus {
        id: row.id,
        state: row.state,
        batch_size: row.batch_size,
        last_error: row.last_error,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        entities,
    }))
}

/// What one call of [`Exporter::run_once`] did.
#[derive(Debug, PartialEq)]
pub enum RunOutcome {
    /// No export was waiting.
    Idle,
    /// Another process holds the export lock.
    Busy,
    Completed(i64),
    Failed(i64),
    Canceled(i64),
}

pub struct Exporter {
    pool: PgPool,
    client: WaymoreClient,
    retry: RetryPolicy,
    wake: Notify,
}

struct ProgressRow {
    entity: MassEntity,
    upper_id: i64,
    last_id: i64,
}

impl Exporter {
    pub fn new(pool: PgPool, client: WaymoreClient, retry: RetryPolicy) -> Arc<Self> {
        Arc::new(Exporter {
            pool,
            client,
            retry,
            wake: Notify::new(),
        })
    }

    /// Tells this process's worker that an export is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs exports as they come: woken by [`Exporter::wake`], and every few seconds to
    /// take over an export whose process died.
    pub async fn run_worker(self: Arc<Self>) {
        loop {
            match self.run_once().await {
                Ok(RunOutcome::Idle | RunOutcome::Busy) => {}
                Ok(outcome) => log::info!("Waymore export: {outcome:?}"),
                Err(error) => log::error!("Waymore export worker: {error}"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }

    /// Runs the waiting export to its end, unless another process is running it.
    pub async fn run_once(&self) -> Result<RunOutcome, sqlx::Error> {
        // A connection of its own: the session lock lives and dies with it.
        let mut lock = self.pool.connect_options().connect().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(EXPORT_LOCK)
            .fetch_one(&mut lock)
            .await?;
        if !locked {
            lock.close().await?;
            return Ok(RunOutcome::Busy);
        }
        let outcome = self.run_waiting().await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(EXPORT_LOCK)
            .execute(&mut lock)
            .await?;
        lock.close().await?;
        outcome
    }

    async fn run_waiting(&self) -> Result<RunOutcome, sqlx::Error> {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE waymore_exports SET state = 'running', started_at = coalesce(started_at, now())
             WHERE id = (SELECT id FROM waymore_exports WHERE state IN ('pending', 'running'))
             RETURNING id",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(id) = id else {
            return Ok(RunOutcome::Idle);
        };
        let batch_size: i32 =
            sqlx::query_scalar("SELECT batch_size FROM waymore_exports WHERE id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT entity, upper_id, last_id FROM waymore_export_progress
             WHERE export_id = $1 AND NOT done ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for (entity, upper_id, last_id) in rows {
            let entity =
                MassEntity::parse(&entity).expect("the table's check allows known entities");
            let progress = ProgressRow {
                entity,
                upper_id,
                last_id,
            };
            if let Some(outcome) = self
                .export_entity(id, progress, i64::from(batch_size))
                .await?
            {
                return Ok(outcome);
            }
        }
        self.finish(id, ExportState::Completed, None).await?;
        Ok(RunOutcome::Completed(id))
    }

    /// Sends one entity's remaining parts; `Some` when the export ends early.
    async fn export_entity(
        &self,
        id: i64,
        mut progress: ProgressRow,
        size: i64,
    ) -> Result<Option<RunOutcome>, sqlx::Error> {
        let entity = progress.entity;
        loop {
            let uuid: Option<String> = sqlx::query_scalar("SELECT uuid FROM waymore_connection")
                .fetch_optional(&self.pool)
                .await?;
            let Some(uuid) = uuid else {
                self.finish(id, ExportState::Canceled, Some("Waymore was disconnected"))
                    .await?;
                return Ok(Some(RunOutcome::Canceled(id)));
            };
            let part = mass_data::next_part(
                &self.pool,
                entity,
                progress.last_id,
                progress.upper_id,
                size,
            )
            .await?;
            let Some(part) = part else {
                sqlx::query("UPDATE waymore_export_progress SET done = true WHERE export_id = $1 AND entity = $2")
                    .bind(id)
                    .bind(entity.name())
                    .execute(&self.pool)
                    .await?;
                return Ok(None);
            };
            if let Err(error) = self.send_part(id, &uuid, entity, &part).await? {
                let reason = format!("{} after id {}: {error}", entity.name(), progress.last_id);
                self.finish(id, ExportState::Failed, Some(&reason)).await?;
                return Ok(Some(RunOutcome::Failed(id)));
            }
            sqlx::query(
                "UPDATE waymore_export_progress SET last_id = $3, sent = sent + $4
                 WHERE export_id = $1 AND entity = $2",
            )
            .bind(id)
            .bind(entity.name())
            .bind(part.last_id)
            .bind(part.count)
            .execute(&self.pool)
            .await?;
            progress.last_id = part.last_id;
        }
    }

    /// Sends a part, retrying transient failures; the error that ends the export otherwise.
    async fn send_part(
        &self,
        id: i64,
        uuid: &str,
        entity: MassEntity,
        part: &Part,
    ) -> Result<Result<(), WaymoreError>, sqlx::Error> {
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .send_mass_data(uuid, entity.name(), entity.description(), &part.objects)
                .await;
            let error = match sent {
                Ok(()) => return Ok(Ok(())),
                Err(error) if error.is_permanent() || attempt >= self.retry.max_attempts => {
                    return Ok(Err(error))
                }
                Err(error) => error,
            };
            let delay = self.retry.delay(attempt);
            log::warn!(
                "Waymore export #{id}: {} part failed (attempt {attempt}): {error}; retrying in {delay:?}",
                entity.name()
            );
            sqlx::query("UPDATE waymore_exports SET last_error = $2 WHERE id = $1")
                .bind(id)
                .bind(format!("retrying {}: {error}", entity.name()))
                .execute(&self.pool)
                .await?;
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn finish(
        &self,
        id: i64,
        state: ExportState,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE waymore_exports SET state = $2, last_error = $3, finished_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_exponentially_with_jitter_and_a_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.delay(30) <= Duration::from_secs(1));
        }
    }
}
