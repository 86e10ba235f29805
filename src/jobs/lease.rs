//! A runner's claim on a job, whatever the job does: claimed with `FOR UPDATE SKIP LOCKED`
//! while its lease is free and its destination neither disabled nor held, renewed every
//! tenth of the lease, checked by every write (the fence), released, and the job ended.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use super::Job;
use crate::configuration::JobSettings;
use crate::delivery::destinations;
use crate::secrets::vault::{Vault, VaultError};

/// What one run of a runner did.
#[derive(Debug, PartialEq)]
pub enum RunOutcome {
    /// No job was waiting.
    Idle,
    /// Another runner holds the job, or its destination is held.
    Busy,
    Completed(i64),
    Failed(i64),
    /// The runner lost its claim or was asked to stop: the job waits for the next one.
    Stopped(i64),
}

/// How often an idle worker looks for a job left by a process that died.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// A runner's worker, as the process sees it: woken when a job waits, stopped at the end.
pub struct Worker {
    wake: Notify,
    stopping: watch::Sender<bool>,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            wake: Notify::new(),
            stopping: watch::Sender::new(false),
        }
    }
}

impl Worker {
    /// Tells the worker that a job is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the worker: nothing new starts, what is in flight finishes and is recorded.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Runs `run_once` as jobs come: when woken, and every few seconds to take over a job
    /// whose process died; returns once stopped.
    pub async fn run<F, Fut>(&self, kind: &str, mut run_once: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<RunOutcome, sqlx::Error>>,
    {
        let mut stopping = self.stopping.subscribe();
        while !*stopping.borrow() {
            match run_once().await {
                Ok(RunOutcome::Idle | RunOutcome::Busy) => {}
                Ok(outcome) => log::info!("{kind} job: {outcome:?}"),
                Err(error) => log::error!("{kind} job runner: {error}"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                _ = stopping.changed() => {}
            }
        }
    }
}

/// How one kind of job is claimed.
#[derive(Clone)]
pub struct Leases {
    pub pool: PgPool,
    pub kind: &'static str,
    pub destination: Option<&'static str>,
    pub lease: Duration,
}

/// What every runner holds: the database, the vault that opens its destination's config,
/// its job's definition and settings, and this process's worker. [`Runner`] and
/// [`PullRunner`] reach it through `Deref`.
///
/// [`Runner`]: super::Runner
/// [`PullRunner`]: super::pull::PullRunner
pub struct RunnerBase<D> {
    pub pool: PgPool,
    pub vault: Vault,
    pub definition: D,
    pub settings: JobSettings,
    pub worker: Worker,
}

impl<D: Job> RunnerBase<D> {
    /// `vault` opens the sealed part of the job's destination's config.
    pub fn new(pool: PgPool, definition: D, settings: JobSettings, vault: Vault) -> Self {
        RunnerBase {
            pool,
            vault,
            definition,
            settings,
            worker: Worker::default(),
        }
    }

    pub fn definition(&self) -> &D {
        &self.definition
    }

    /// Tells this process's worker that a job is waiting.
    pub fn wake(&self) {
        self.worker.wake();
    }

    pub fn leases(&self) -> Leases {
        Leases {
            pool: self.pool.clone(),
            kind: D::KIND,
            destination: self.definition.destination(),
            lease: self.settings.lease,
        }
    }
}

/// The claim a runner holds on one job.
pub struct Claim {
    pub id: i64,
    pub token: Uuid,
    /// Turns true when the claim is lost: whatever is under way is given up.
    pub lost: watch::Receiver<bool>,
    /// Turns true when the process stops: start no more parts.
    pub stopping: watch::Receiver<bool>,
}

impl Claim {
    pub fn may_start(&self) -> bool {
        !*self.lost.borrow() && !*self.stopping.borrow()
    }
}

/// What looking for a job to claim found.
enum Claimed {
    Job(i64, Uuid),
    /// A job waits, but another runner holds it or its destination is held.
    Busy,
    Idle,
}

/// A write's fence: `$1` the job, `$2` the runner's lease token.
pub const FENCE: &str = "EXISTS (SELECT 1 FROM jobs x
                                 WHERE x.id = $1 AND x.lease_token = $2 AND x.state = 'running')";

impl Leases {
    /// Claims the waiting job of this kind, if no live lease holds it.
    async fn claim(&self) -> Result<Claimed, sqlx::Error> {
        let token = Uuid::new_v4();
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs
             SET state = 'running', started_at = coalesce(started_at, now()),
                 lease_token = $2, leased_until = now() + make_interval(secs => $3)
             WHERE id = (SELECT id FROM jobs WHERE kind = $1 AND state IN ('pending', 'running')
                         FOR UPDATE SKIP LOCKED)
               AND (lease_token IS NULL OR leased_until < now())
               AND ($4::text IS NULL OR EXISTS (
                   SELECT 1 FROM destinations WHERE name = $4 AND enabled AND NOT held))
             RETURNING id",
        )
        .bind(self.kind)
        .bind(token)
        .bind(self.lease.as_secs_f64())
        .bind(self.destination)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = claimed {
            return Ok(Claimed::Job(id, token));
        }
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND state IN ('pending', 'running'))",
        )
        .bind(self.kind)
        .fetch_one(&self.pool)
        .await?;
        Ok(if waiting {
            Claimed::Busy
        } else {
            Claimed::Idle
        })
    }

    /// Claims the waiting job and runs `work` on it, renewing the claim meanwhile (`work`
    /// gives up what it is doing once the claim's `lost` turns true); releases the lease
    /// after. Idle or Busy when there is no job to claim.
    pub async fn run<F, Fut>(&self, worker: &Worker, work: F) -> Result<RunOutcome, sqlx::Error>
    where
        F: FnOnce(Arc<Claim>) -> Fut,
        Fut: Future<Output = Result<RunOutcome, sqlx::Error>>,
    {
        let (id, token) = match self.claim().await? {
            Claimed::Job(id, token) => (id, token),
            Claimed::Busy => return Ok(RunOutcome::Busy),
            Claimed::Idle => return Ok(RunOutcome::Idle),
        };
        let (lost_tx, lost) = watch::channel(false);
        let claim = Arc::new(Claim {
            id,
            token,
            lost,
            stopping: worker.stopping.subscribe(),
        });
        let outcome = {
            let renewing = self.renew_until_lost(&claim, &lost_tx);
            let running = work(claim.clone());
            tokio::pin!(running);
            tokio::select! {
                outcome = &mut running => outcome,
                () = renewing => running.await,
            }
        };
        self.release(id, token).await?;
        outcome
    }

    /// Renews the claim every tenth of the lease; on losing it raises `lost` and returns.
    async fn renew_until_lost(&self, claim: &Claim, lost: &watch::Sender<bool>) {
        loop {
            tokio::time::sleep(self.lease / 10).await;
            if !self.renew(claim).await {
                lost.send_replace(true);
                return;
            }
        }
    }

    async fn renew(&self, claim: &Claim) -> bool {
        let renewed = sqlx::query(
            "UPDATE jobs SET leased_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND lease_token = $2 AND state = 'running'
               AND ($4::text IS NULL OR EXISTS (
                   SELECT 1 FROM destinations WHERE name = $4 AND enabled AND NOT held))",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(self.lease.as_secs_f64())
        .bind(self.destination)
        .execute(&self.pool)
        .await;
        match renewed {
            Ok(result) => result.rows_affected() == 1,
            Err(error) => {
                log::warn!(
                    "{} job #{}: lease not renewed: {error}",
                    self.kind,
                    claim.id
                );
                false
            }
        }
    }

    /// Gives the lease up (the job stays as it is).
    async fn release(&self, id: i64, token: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET lease_token = NULL, leased_until = NULL
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the error a part is being retried for.
    pub async fn retrying(&self, claim: &Claim, error: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET last_error = $3
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends the job, completed or failed, if this runner still holds it.
    pub async fn finish(
        &self,
        claim: &Claim,
        completed: bool,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let finished = sqlx::query(
            "UPDATE jobs SET state = CASE WHEN $3 THEN 'completed' ELSE 'failed' END::job_state,
                             last_error = $4, finished_at = now()
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(completed)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(finished.rows_affected() == 1)
    }

    /// The job's destination's config, its sealed part opened, while this runner holds the
    /// job and the destination is neither disabled nor held; `Null` for a job without a
    /// destination.
    pub async fn destination(
        &self,
        claim: &Claim,
        vault: &Vault,
    ) -> Result<Option<Result<serde_json::Value, VaultError>>, sqlx::Error> {
        let row: Option<(serde_json::Value, Option<i64>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT coalesce(ds.config, 'null'::jsonb), ds.id, s.sealed FROM jobs x
             LEFT JOIN destinations ds ON ds.name = $3
             LEFT JOIN secrets s ON s.owner = 'destination/' || ds.id AND s.name = 'config'
             WHERE x.id = $1 AND x.lease_token = $2 AND x.state = 'running' AND x.leased_until > now()
               AND ($3::text IS NULL OR (ds.enabled AND NOT ds.held))",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(self.destination)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(config, id, sealed)| match id {
            Some(id) => destinations::opened(vault, id, &config, sealed.as_deref()),
            None => Ok(config),
        }))
    }
}
