//! The mass export of the shop's history: entities in Waymore's order (each finished before
//! the next starts), each in parts sent several at once. Every part Waymore acknowledges is
//! recorded at once, so a crash or restart resumes exactly: nothing acknowledged is sent
//! again (beyond the parts in flight at the crash), nothing is skipped.
//!
//! One runner at a time across every process: the runner holds a lease on the export row,
//! renews it while it works, and every write it makes checks that it still holds it and that
//! the Waymore destination is neither disconnected nor held (fencing). A runner that loses
//! its claim (its process stalled, PostgreSQL restarted, the shop is disconnecting) stops
//! before its next part; a runner that dies leaves a lease that expires.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use utoipa::ToSchema;
use uuid::Uuid;

use super::client::WaymoreClient;
use super::mass_data::{self, MassEntity};
use crate::delivery::RetryPolicy;

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
pub struct ExportSettings {
    /// Retries of one part (`max_attempts` tries before the export fails).
    pub retry: RetryPolicy,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// How long a runner's claim lasts without renewal; renewed every tenth of it.
    pub lease: Duration,
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
    /// Another runner holds the export, or the Waymore destination is held.
    Busy,
    Completed(i64),
    Failed(i64),
    /// The runner lost its claim or was asked to stop: the export waits for the next one.
    Stopped(i64),
}

pub struct Exporter {
    pool: PgPool,
    client: WaymoreClient,
    settings: ExportSettings,
    wake: Notify,
    stopping: watch::Sender<bool>,
}

/// The claim a runner holds on one export.
struct Claim {
    id: i64,
    token: Uuid,
    /// Turns true when the claim is lost or the process stops: launch no more parts.
    halt: watch::Receiver<bool>,
}

/// How one part ended.
enum PartEnd {
    Acknowledged,
    /// Refused, or out of retries: the export fails with this reason.
    Failed(String),
    Halted,
}

/// Ids of one part: (after_id, last_id], at most `count` rows.
#[derive(Clone, Copy)]
struct Range {
    after: i64,
    last: i64,
}

impl Exporter {
    pub fn new(pool: PgPool, client: WaymoreClient, settings: ExportSettings) -> Arc<Self> {
        Arc::new(Exporter {
            pool,
            client,
            settings,
            wake: Notify::new(),
            stopping: watch::Sender::new(false),
        })
    }

    /// Tells this process's worker that an export is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the worker: no new part starts, parts in flight finish and are recorded.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Runs exports as they come: woken by [`Exporter::wake`], and every few seconds to
    /// take over an export whose process died; returns once stopped.
    pub async fn run_worker(self: Arc<Self>) {
        let mut stopping = self.stopping.subscribe();
        while !*stopping.borrow() {
            match self.run_once().await {
                Ok(RunOutcome::Idle | RunOutcome::Busy) => {}
                Ok(outcome) => log::info!("Waymore export: {outcome:?}"),
                Err(error) => log::error!("Waymore export worker: {error}"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// Runs the waiting export to its end, unless another runner holds it.
    pub async fn run_once(&self) -> Result<RunOutcome, sqlx::Error> {
        let token = Uuid::new_v4();
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE waymore_exports
             SET state = 'running', started_at = coalesce(started_at, now()),
                 lease_token = $1, leased_until = now() + make_interval(secs => $2)
             WHERE id = (SELECT id FROM waymore_exports WHERE state IN ('pending', 'running')
                         FOR UPDATE SKIP LOCKED)
               AND (lease_token IS NULL OR leased_until < now())
               AND EXISTS (SELECT 1 FROM destinations WHERE name = 'waymore' AND enabled AND NOT held)
             RETURNING id",
        )
        .bind(token)
        .bind(self.settings.lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        let Some(id) = claimed else {
            let waiting: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM waymore_exports WHERE state IN ('pending', 'running'))",
            )
            .fetch_one(&self.pool)
            .await?;
            return Ok(if waiting {
                RunOutcome::Busy
            } else {
                RunOutcome::Idle
            });
        };
        let (halt_tx, halt) = watch::channel(false);
        let claim = Claim { id, token, halt };
        let outcome = {
            let renewing = self.renew_until_lost(&claim, &halt_tx);
            let running = self.run_claimed(&claim);
            tokio::pin!(running);
            tokio::select! {
                outcome = &mut running => outcome,
                () = renewing => running.await,
            }
        };
        sqlx::query(
            "UPDATE waymore_exports SET lease_token = NULL, leased_until = NULL
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await?;
        outcome
    }

    /// Renews the claim every tenth of the lease; on losing it (or on stop) raises `halt`
    /// and returns.
    async fn renew_until_lost(&self, claim: &Claim, halt: &watch::Sender<bool>) {
        let mut stopping = self.stopping.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.settings.lease / 10) => {}
                _ = stopping.changed() => {}
            }
            if *stopping.borrow() || !self.renew(claim).await {
                halt.send_replace(true);
                return;
            }
        }
    }

    async fn renew(&self, claim: &Claim) -> bool {
        let renewed = sqlx::query(
            "UPDATE waymore_exports SET leased_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND lease_token = $2 AND state = 'running'
               AND EXISTS (SELECT 1 FROM destinations WHERE name = 'waymore' AND enabled AND NOT held)",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(self.settings.lease.as_secs_f64())
        .execute(&self.pool)
        .await;
        match renewed {
            Ok(result) => result.rows_affected() == 1,
            Err(error) => {
                log::warn!("Waymore export #{}: lease not renewed: {error}", claim.id);
                false
            }
        }
    }

    async fn run_claimed(&self, claim: &Claim) -> Result<RunOutcome, sqlx::Error> {
        let batch_size: i32 =
            sqlx::query_scalar("SELECT batch_size FROM waymore_exports WHERE id = $1")
                .bind(claim.id)
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT entity, upper_id, last_id FROM waymore_export_progress
             WHERE export_id = $1 AND NOT done ORDER BY position",
        )
        .bind(claim.id)
        .fetch_all(&self.pool)
        .await?;
        for (entity, upper_id, last_id) in rows {
            let entity =
                MassEntity::parse(&entity).expect("the table's check allows known entities");
            match self
                .export_entity(claim, entity, last_id, upper_id, i64::from(batch_size))
                .await?
            {
                PartEnd::Acknowledged => {}
                PartEnd::Halted => return Ok(RunOutcome::Stopped(claim.id)),
                PartEnd::Failed(reason) => {
                    return Ok(
                        match self
                            .finish(claim, ExportState::Failed, Some(&reason))
                            .await?
                        {
                            true => RunOutcome::Failed(claim.id),
                            false => RunOutcome::Stopped(claim.id),
                        },
                    );
                }
            }
        }
        Ok(
            match self.finish(claim, ExportState::Completed, None).await? {
                true => RunOutcome::Completed(claim.id),
                false => RunOutcome::Stopped(claim.id),
            },
        )
    }

    /// Sends one entity's remaining parts, up to `concurrency` at once, skipping the ranges
    /// acknowledged before a crash; `Acknowledged` once every part is.
    async fn export_entity(
        &self,
        claim: &Claim,
        entity: MassEntity,
        position: i64,
        upper: i64,
        size: i64,
    ) -> Result<PartEnd, sqlx::Error> {
        let acknowledged: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT after_id, last_id FROM waymore_export_parts
             WHERE export_id = $1 AND entity = $2 ORDER BY after_id",
        )
        .bind(claim.id)
        .bind(entity.name())
        .fetch_all(&self.pool)
        .await?;
        let mut acknowledged = acknowledged.into_iter().peekable();
        let mut position = position;
        let mut in_flight = FuturesUnordered::new();
        let mut exhausted = false;
        let mut end = PartEnd::Acknowledged;
        loop {
            while !exhausted
                && matches!(end, PartEnd::Acknowledged)
                && in_flight.len() < self.settings.concurrency
            {
                if *claim.halt.borrow() {
                    end = PartEnd::Halted;
                    break;
                }
                // Skip what was acknowledged before; never overlap it.
                while let Some(&(after, last)) = acknowledged.peek() {
                    if after > position {
                        break;
                    }
                    position = position.max(last);
                    acknowledged.next();
                }
                let bound = acknowledged
                    .peek()
                    .map_or(upper, |&(after, _)| after.min(upper));
                match mass_data::next_range(&self.pool, entity, position, bound, size).await? {
                    Some(last) => {
                        let range = Range {
                            after: position,
                            last,
                        };
                        in_flight.push(self.send_part(claim, entity, range, size));
                        position = last;
                    }
                    None if bound < upper => position = bound,
                    None => exhausted = true,
                }
            }
            match in_flight.next().await {
                None => break,
                Some(part) => match part? {
                    PartEnd::Acknowledged => {}
                    other => {
                        if matches!(end, PartEnd::Acknowledged) {
                            end = other;
                        }
                    }
                },
            }
        }
        if matches!(end, PartEnd::Acknowledged) {
            sqlx::query(
                "UPDATE waymore_export_progress SET done = true
                 WHERE export_id = $1 AND entity = $2
                   AND EXISTS (SELECT 1 FROM waymore_exports WHERE id = $1 AND lease_token = $3)",
            )
            .bind(claim.id)
            .bind(entity.name())
            .bind(claim.token)
            .execute(&self.pool)
            .await?;
        }
        Ok(end)
    }

    /// Builds one part, sends it (retrying transient failures) and records the
    /// acknowledgement before anything else.
    async fn send_part(
        &self,
        claim: &Claim,
        entity: MassEntity,
        range: Range,
        size: i64,
    ) -> Result<PartEnd, sqlx::Error> {
        let part = mass_data::part(&self.pool, entity, range.after, range.last, size).await?;
        if part.count == 0 {
            // Its rows were deleted since the part was cut: nothing to send.
            return Ok(match self.acknowledge(claim, entity, range, 0).await? {
                true => PartEnd::Acknowledged,
                false => PartEnd::Halted,
            });
        }
        let mut halt = claim.halt.clone();
        let mut attempt = 1;
        loop {
            // The account is the destination's now; none once the shop disconnects.
            let Some(uuid) = self.account_if_claimed(claim).await? else {
                return Ok(PartEnd::Halted);
            };
            let sent = self
                .client
                .send_mass_data(&uuid, entity.name(), entity.description(), &part.objects)
                .await;
            let error = match sent {
                Ok(()) => {
                    return Ok(
                        match self.acknowledge(claim, entity, range, part.count).await? {
                            true => PartEnd::Acknowledged,
                            false => PartEnd::Halted,
                        },
                    )
                }
                Err(error)
                    if error.is_permanent() || attempt >= self.settings.retry.max_attempts =>
                {
                    return Ok(PartEnd::Failed(format!(
                        "{} after id {}: {error}",
                        entity.name(),
                        range.after
                    )))
                }
                Err(error) => error,
            };
            let delay = self.settings.retry.delay(attempt);
            log::warn!(
                "Waymore export #{}: {} part failed (attempt {attempt}): {error}; retrying in {delay:?}",
                claim.id,
                entity.name()
            );
            sqlx::query(
                "UPDATE waymore_exports SET last_error = $3 WHERE id = $1 AND lease_token = $2",
            )
            .bind(claim.id)
            .bind(claim.token)
            .bind(format!("retrying {}: {error}", entity.name()))
            .execute(&self.pool)
            .await?;
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = halt.wait_for(|halted| *halted) => return Ok(PartEnd::Halted),
            }
            attempt += 1;
        }
    }

    /// The connected account's UUID while this runner holds the export and the destination
    /// is neither disconnected nor held.
    async fn account_if_claimed(&self, claim: &Claim) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT ds.config->>'uuid' FROM waymore_exports x, destinations ds
             WHERE x.id = $1 AND x.lease_token = $2 AND x.state = 'running' AND x.leased_until > now()
               AND ds.name = 'waymore' AND ds.enabled AND NOT ds.held",
        )
        .bind(claim.id)
        .bind(claim.token)
        .fetch_optional(&self.pool)
        .await
        .map(Option::flatten)
    }

    /// Records an acknowledged part and advances the entity's contiguous position over
    /// every part acknowledged so far; false when the claim was lost.
    async fn acknowledge(
        &self,
        claim: &Claim,
        entity: MassEntity,
        range: Range,
        count: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // One acknowledgement of an entity at a time, so the position only moves forward.
        sqlx::query(
            "SELECT 1 FROM waymore_export_progress WHERE export_id = $1 AND entity = $2 FOR UPDATE",
        )
        .bind(claim.id)
        .bind(entity.name())
        .execute(&mut *tx)
        .await?;
        let recorded = sqlx::query(
            "WITH fence AS (
                 SELECT id FROM waymore_exports
                 WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR SHARE
             ), part AS (
                 INSERT INTO waymore_export_parts (export_id, entity, after_id, last_id, count)
                 SELECT $1, $3, $4, $5, $6 FROM fence
                 RETURNING 1
             )
             UPDATE waymore_export_progress SET sent = sent + $6
             WHERE export_id = $1 AND entity = $3 AND EXISTS (SELECT 1 FROM part)",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(entity.name())
        .bind(range.after)
        .bind(range.last)
        .bind(count)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !recorded {
            return Ok(false);
        }
        sqlx::query(
            "WITH RECURSIVE chain AS (
                 SELECT p.last_id FROM waymore_export_progress p
                 WHERE p.export_id = $1 AND p.entity = $2
                 UNION ALL
                 SELECT x.last_id FROM waymore_export_parts x JOIN chain c ON x.after_id = c.last_id
                 WHERE x.export_id = $1 AND x.entity = $2
             ), advanced AS (
                 UPDATE waymore_export_progress SET last_id = (SELECT max(last_id) FROM chain)
                 WHERE export_id = $1 AND entity = $2
                 RETURNING last_id
             )
             DELETE FROM waymore_export_parts
             WHERE export_id = $1 AND entity = $2 AND last_id <= (SELECT last_id FROM advanced)",
        )
        .bind(claim.id)
        .bind(entity.name())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends the export, if this runner still holds it.
    async fn finish(
        &self,
        claim: &Claim,
        state: ExportState,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let finished = sqlx::query(
            "UPDATE waymore_exports SET state = $3, last_error = $4, finished_at = now()
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(state)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(finished.rows_affected() == 1)
    }
}
