//! Resumable bulk jobs: a job walks stages in order (each finished before the next starts),
//! each stage in parts sent several at once, and records every part the partner
//! acknowledged at once, so a crash or restart resumes exactly: nothing acknowledged is
//! sent again (beyond the parts in flight at the crash), nothing is skipped.
//!
//! A [`JobDefinition`] says what a part is and how to send it; the [`runner`] does the rest:
//! one runner at a time across every process (a lease it renews; every write checks it),
//! parts in flight at once, retries with backoff, a job failed with its reason once a part
//! is refused or out of tries, resumed where it stopped, canceled.
//!
//! A part is a range of ids `(after, last]` of a stage, cut one after the other and built
//! and sent in parallel. A stage's ids go up to the `upper` bound its plan gave when the job
//! was created: what comes later is the real-time events' business.

pub mod lease;
pub mod pull;
pub mod runner;
pub mod walk;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

pub use lease::RunOutcome;
pub use runner::Runner;

/// A kind of job: its name, the destination it serves, its stages. A [`JobDefinition`]
/// sends the shop's rows out in parts; a [`pull::PullDefinition`] brings a partner's
/// objects in, page after page.
pub trait Job: Send + Sync + 'static {
    /// As stored in `jobs.kind`.
    const KIND: &'static str;

    /// The destination whose hold or disabling pauses the job; its config goes with every
    /// part.
    fn destination(&self) -> Option<&'static str>;

    /// The stages in the order they run, with their bounds as they are now (called in the
    /// transaction that creates the job).
    fn plan(
        &self,
        conn: &mut PgConnection,
    ) -> impl Future<Output = Result<Vec<StagePlan>, sqlx::Error>> + Send;
}

/// A runner's worker as startup runs and stops it.
pub trait JobWorker: Send + Sync + 'static {
    /// Runs jobs as they come, until stopped.
    fn run_worker(self: Arc<Self>) -> impl Future<Output = ()> + Send;

    /// Stops the worker: nothing new starts, what is in flight finishes and is recorded.
    fn stop(&self);
}

/// What a kind of job that sends the shop's rows does; its runner does the rest.
pub trait JobDefinition: Job {
    /// A part, built and ready to send (and to send again, when retried).
    type Part: Send + Sync;

    /// The last id of the next part of `stage` after `after`, up to `bound`, at most `size`
    /// ids; `None` when no id is left there.
    fn cut(
        &self,
        stage: &str,
        after: i64,
        bound: i64,
        size: i64,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

    /// Builds the part `(after, last]` of `stage`; how many objects it holds (none: nothing
    /// to send, its rows went since the part was cut).
    fn build(
        &self,
        stage: &str,
        after: i64,
        last: i64,
        size: i64,
    ) -> impl Future<Output = Result<(Self::Part, i64), sqlx::Error>> + Send;

    /// Sends a built part, with the destination's config as it is now.
    fn send(
        &self,
        stage: &str,
        part: &Self::Part,
        destination: &serde_json::Value,
    ) -> impl Future<Output = Result<(), PartError>> + Send;
}

/// For [`JobDefinition::cut`]: the last id of the next part, given `keys`, a query of the
/// stage's ids in order that takes $1 the id before the part, $2 the bound and $3 the most
/// ids, naming its column `id`. `None` when no id is left there.
pub async fn next_part_end(
    pool: &PgPool,
    keys: &str,
    after: i64,
    bound: i64,
    size: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT max(id)::bigint FROM ({keys}) part"
    )))
    .bind(after)
    .bind(bound)
    .bind(size)
    .fetch_one(pool)
    .await
}

/// A stage as a job's plan sets it out.
#[derive(Debug, Clone)]
pub struct StagePlan {
    pub stage: &'static str,
    /// The last id the job sends.
    pub upper: i64,
    /// How many objects that is, for progress.
    pub total: i64,
}

/// Why a part was not acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PartError {
    /// Sending the same part again will not change the answer: the job fails.
    pub permanent: bool,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "job_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

/// A job started, or resumed.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub id: i64,
    /// A failed job was resumed from where it stopped, rather than a new one started.
    pub resumed: bool,
}

/// A job started or resumed, as an endpoint answers it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStarted {
    pub job_id: i64,
    /// A failed job was resumed from where it stopped, rather than a new one started.
    pub resumed: bool,
}

impl From<Started> for JobStarted {
    fn from(started: Started) -> Self {
        JobStarted {
            job_id: started.id,
            resumed: started.resumed,
        }
    }
}

/// Another job of the kind is unfinished: its id.
pub struct Running(pub i64);

/// Starts a job of `D` over the data as it is now, or resumes the failed one, in the
/// caller's transaction; `Running` when one is pending or running.
pub async fn start_in<D: Job>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    definition: &D,
    part_size: u32,
) -> Result<Result<Started, Running>, sqlx::Error> {
    // One unfinished job of a kind at a time: concurrent starts wait for each other.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbridge.jobs'), hashtext($1))")
        .bind(D::KIND)
        .execute(&mut **tx)
        .await?;
    let unfinished: Option<(i64, JobState)> = sqlx::query_as(
        "SELECT id, state FROM jobs WHERE kind = $1 AND state IN ('pending', 'running', 'failed')",
    )
    .bind(D::KIND)
    .fetch_optional(&mut **tx)
    .await?;
    let started = match unfinished {
        Some((id, JobState::Failed)) => {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', last_error = NULL, finished_at = NULL
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Started { id, resumed: true }
        }
        Some((id, _)) => return Ok(Err(Running(id))),
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO jobs (kind, part_size) VALUES ($1, $2) RETURNING id",
            )
            .bind(D::KIND)
            .bind(i32::try_from(part_size).unwrap_or(i32::MAX))
            .fetch_one(&mut **tx)
            .await?;
            let plan = definition.plan(tx).await?;
            let stages: Vec<&str> = plan.iter().map(|s| s.stage).collect();
            let uppers: Vec<i64> = plan.iter().map(|s| s.upper).collect();
            let totals: Vec<i64> = plan.iter().map(|s| s.total).collect();
            sqlx::query(
                "INSERT INTO job_stages (job_id, stage, position, upper_id, total)
                 SELECT $1, s.stage, s.position - 1, s.upper_id, s.total
                 FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY
                      AS s (stage, upper_id, total, position)",
            )
            .bind(id)
            .bind(stages)
            .bind(uppers)
            .bind(totals)
            .execute(&mut **tx)
            .await?;
            Started { id, resumed: false }
        }
    };
    Ok(Ok(started))
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The job's destination does not exist: its integration is not configured.
    #[error("its destination {0:?} is not configured")]
    NoDestination(&'static str),
    #[error("job #{0} is already running")]
    AlreadyRunning(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts a job of `D` over the data as it is now, or resumes the failed one, while its
/// destination exists.
pub async fn start<D: Job>(
    pool: &PgPool,
    definition: &D,
    part_size: u32,
) -> Result<Started, StartError> {
    let mut tx = pool.begin().await?;
    if let Some(destination) = definition.destination() {
        if crate::delivery::destinations::id_of(&mut *tx, destination)
            .await?
            .is_none()
        {
            return Err(StartError::NoDestination(destination));
        }
    }
    let started = start_in(&mut tx, definition, part_size)
        .await?
        .map_err(|Running(id)| StartError::AlreadyRunning(id))?;
    tx.commit().await?;
    Ok(started)
}

/// Cancels the unfinished job of `kind`, if any, with `reason`: its runner stops before its
/// next part.
pub async fn cancel_in(
    conn: &mut PgConnection,
    kind: &str,
    reason: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE jobs SET state = 'canceled', last_error = $2, finished_at = now()
         WHERE kind = $1 AND state IN ('pending', 'running', 'failed')
         RETURNING id",
    )
    .bind(kind)
    .bind(reason)
    .fetch_optional(conn)
    .await
}

/// Cancels job `id` if it is unfinished; false when there is no such unfinished job.
pub async fn cancel(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let canceled = sqlx::query(
        "UPDATE jobs SET state = 'canceled', last_error = 'canceled by an operator',
                         finished_at = now()
         WHERE id = $1 AND state IN ('pending', 'running', 'failed')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(canceled.rows_affected() == 1)
}

/// Whether a runner of `kind` holds a live lease (a part may be in flight).
pub async fn leased(pool: &PgPool, kind: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jobs
                        WHERE kind = $1 AND lease_token IS NOT NULL AND leased_until > now())",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub id: i64,
    #[schema(example = "waymore.export")]
    pub kind: String,
    pub state: JobState,
    /// Objects per part.
    pub part_size: i32,
    /// Why the job failed, or the last error it is retrying (cleared by the next part the
    /// partner acknowledges).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(json)]
    pub stages: Vec<StageProgress>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageProgress {
    #[schema(example = "customers")]
    pub stage: String,
    pub sent: i64,
    pub total: i64,
    pub done: bool,
}

/// Jobs, newest first, with their progress per stage: those of `kind`, or all.
pub async fn list(
    pool: &PgPool,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<JobStatus>, sqlx::Error> {
    sqlx::query_as(
        "SELECT j.id, j.kind, j.state, j.part_size, j.last_error, j.created_at, j.started_at,
                j.finished_at,
                coalesce((SELECT json_agg(json_build_object('stage', s.stage, 'sent', s.sent,
                                                            'total', s.total, 'done', s.done)
                                          ORDER BY s.position)
                          FROM job_stages s WHERE s.job_id = j.id), '[]'::json) AS stages
         FROM jobs j
         WHERE $1::text IS NULL OR j.kind = $1
         ORDER BY j.id DESC
         LIMIT $2",
    )
    .bind(kind)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The most recent job of `kind`.
pub async fn latest(pool: &PgPool, kind: &str) -> Result<Option<JobStatus>, sqlx::Error> {
    Ok(list(pool, Some(kind), 1).await?.into_iter().next())
}
