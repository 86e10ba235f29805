//! Jobs that bring a partner's objects in: each stage is read page after page in the order
//! of the partner's ids, and each page is written in one transaction with the stage's new
//! position, fenced by the runner's lease. A crash or restart resumes after the last page
//! written; the next page is read while the current one is written.

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use super::lease::{Claim, Leases, RunOutcome, RunnerBase, FENCE};
use super::{Job, JobWorker, PartError};
use crate::configuration::JobSettings;
use crate::secrets::vault::Vault;

/// What a kind of job that reads a partner's objects does; [`PullRunner`] does the rest.
pub trait PullDefinition: Job {
    /// One page as read.
    type Page: Send + Sync;

    /// The objects of `stage` after id `after`, in the order of their ids, at most `size`,
    /// read with the destination's config; `None` when none is left.
    fn fetch(
        &self,
        stage: &str,
        after: i64,
        size: i64,
        destination: &serde_json::Value,
    ) -> impl Future<Output = Result<Option<Fetched<Self::Page>>, PartError>> + Send;

    /// Writes a page in the runner's transaction (which records the position with it).
    fn apply(
        &self,
        conn: &mut PgConnection,
        stage: &str,
        page: &Self::Page,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// A page read: its objects, the id of its last one, and how many it holds.
pub struct Fetched<P> {
    pub page: P,
    pub last: i64,
    pub count: i64,
}

/// How a step of a stage ended.
enum Step<T> {
    Done(T),
    /// Refused, or out of retries: the job fails with this reason.
    Failed(String),
    Halted,
}

pub struct PullRunner<D>(RunnerBase<D>);

impl<D> Deref for PullRunner<D> {
    type Target = RunnerBase<D>;

    fn deref(&self) -> &RunnerBase<D> {
        &self.0
    }
}

impl<D: PullDefinition> JobWorker for PullRunner<D> {
    async fn run_worker(self: Arc<Self>) {
        self.worker.run(D::KIND, || self.run_once()).await
    }

    fn stop(&self) {
        self.worker.stop();
    }
}

impl<D: PullDefinition> PullRunner<D> {
    /// `vault` opens the sealed part of the job's destination's config.
    pub fn new(pool: PgPool, definition: D, settings: JobSettings, vault: Vault) -> Arc<Self> {
        Arc::new(PullRunner(RunnerBase::new(
            pool, definition, settings, vault,
        )))
    }

    /// Runs the waiting job to its end, unless another runner holds it.
    pub async fn run_once(&self) -> Result<RunOutcome, sqlx::Error> {
        let leases = &self.leases();
        leases
            .run(&self.worker, |claim| async move {
                self.run_claimed(leases, &claim).await
            })
            .await
    }

    async fn run_claimed(&self, leases: &Leases, claim: &Claim) -> Result<RunOutcome, sqlx::Error> {
        let part_size: i32 = sqlx::query_scalar("SELECT part_size FROM jobs WHERE id = $1")
            .bind(claim.id)
            .fetch_one(&self.pool)
            .await?;
        let stages: Vec<(String, i64)> = sqlx::query_as(
            "SELECT stage, last_id FROM job_stages
             WHERE job_id = $1 AND NOT done ORDER BY position",
        )
        .bind(claim.id)
        .fetch_all(&self.pool)
        .await?;
        for (stage, position) in stages {
            match self
                .run_stage(leases, claim, &stage, position, i64::from(part_size))
                .await?
            {
                Step::Done(()) => {}
                Step::Halted => return Ok(RunOutcome::Stopped(claim.id)),
                Step::Failed(reason) => {
                    return Ok(match leases.finish(claim, false, Some(&reason)).await? {
                        true => RunOutcome::Failed(claim.id),
                        false => RunOutcome::Stopped(claim.id),
                    });
                }
            }
        }
        Ok(match leases.finish(claim, true, None).await? {
            true => RunOutcome::Completed(claim.id),
            false => RunOutcome::Stopped(claim.id),
        })
    }

    /// Reads and writes the stage's pages from `position` until none is left.
    async fn run_stage(
        &self,
        leases: &Leases,
        claim: &Claim,
        stage: &str,
        position: i64,
        size: i64,
    ) -> Result<Step<()>, sqlx::Error> {
        let mut next = self.fetch(leases, claim, stage, position, size).await?;
        loop {
            let fetched = match next {
                Step::Done(Some(fetched)) => fetched,
                Step::Done(None) => break,
                Step::Failed(reason) => return Ok(Step::Failed(reason)),
                Step::Halted => return Ok(Step::Halted),
            };
            let (written, following) = tokio::join!(
                self.write(leases, claim, stage, &fetched),
                self.fetch(leases, claim, stage, fetched.last, size),
            );
            match written? {
                Step::Done(()) => {}
                other => return Ok(other),
            }
            next = following?;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE job_stages SET done = true WHERE job_id = $1 AND stage = $3 AND {FENCE}"
        )))
        .bind(claim.id)
        .bind(claim.token)
        .bind(stage)
        .execute(&self.pool)
        .await?;
        Ok(Step::Done(()))
    }

    /// The page after `after`, read with the destination as it is now, transient failures
    /// retried with backoff.
    async fn fetch(
        &self,
        leases: &Leases,
        claim: &Claim,
        stage: &str,
        after: i64,
        size: i64,
    ) -> Result<Step<Option<Fetched<D::Page>>>, sqlx::Error> {
        let mut attempt = 1;
        loop {
            if !claim.may_start() {
                return Ok(Step::Halted);
            }
            let destination = match leases.destination(claim, &self.vault).await? {
                None => return Ok(Step::Halted),
                Some(Err(error)) => {
                    return Ok(Step::Failed(format!("the destination's config: {error}")))
                }
                Some(Ok(destination)) => destination,
            };
            let mut lost = claim.lost.clone();
            let error = tokio::select! {
                fetched = self.definition.fetch(stage, after, size, &destination) => match fetched {
                    Ok(page) => return Ok(Step::Done(page)),
                    Err(error) => error,
                },
                _ = lost.wait_for(|lost| *lost) => return Ok(Step::Halted),
            };
            if error.permanent || attempt >= self.settings.retry.max_attempts {
                return Ok(Step::Failed(format!("{stage} after id {after}: {error}")));
            }
            let delay = self.settings.retry.delay(attempt);
            log::warn!(
                "{} job #{}: {stage} page failed (attempt {attempt}): {error}; retrying in {delay:?}",
                D::KIND,
                claim.id,
            );
            leases
                .retrying(claim, &format!("retrying {stage}: {error}"))
                .await?;
            if !self.pause(claim, delay).await {
                return Ok(Step::Halted);
            }
            attempt += 1;
        }
    }

    /// Writes a page and the stage's new position in one transaction, while this runner
    /// holds the job; a write that fails (a deadlock with another writer of the same rows)
    /// is tried again.
    async fn write(
        &self,
        leases: &Leases,
        claim: &Claim,
        stage: &str,
        fetched: &Fetched<D::Page>,
    ) -> Result<Step<()>, sqlx::Error> {
        let mut attempt = 1;
        loop {
            match self.write_once(claim, stage, fetched).await {
                Ok(true) => return Ok(Step::Done(())),
                Ok(false) => return Ok(Step::Halted),
                Err(error) if attempt >= self.settings.retry.max_attempts => return Err(error),
                Err(error) => {
                    log::warn!("{} job #{}: writing a page: {error}", D::KIND, claim.id);
                    leases
                        .retrying(claim, &format!("retrying {stage}: {error}"))
                        .await?;
                    if !self.pause(claim, self.settings.retry.delay(attempt)).await {
                        return Ok(Step::Halted);
                    }
                    attempt += 1;
                }
            }
        }
    }

    async fn write_once(
        &self,
        claim: &Claim,
        stage: &str,
        fetched: &Fetched<D::Page>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs
                            WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR SHARE)",
        )
        .bind(claim.id)
        .bind(claim.token)
        .fetch_one(&mut *tx)
        .await?;
        if !held {
            return Ok(false);
        }
        // A write tried again after its commit went through but its answer was lost.
        let position: i64 = sqlx::query_scalar(
            "SELECT last_id FROM job_stages WHERE job_id = $1 AND stage = $2 FOR UPDATE",
        )
        .bind(claim.id)
        .bind(stage)
        .fetch_one(&mut *tx)
        .await?;
        if position >= fetched.last {
            return Ok(true);
        }
        self.definition.apply(&mut tx, stage, &fetched.page).await?;
        sqlx::query("UPDATE jobs SET last_error = NULL WHERE id = $1 AND last_error IS NOT NULL")
            .bind(claim.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE job_stages SET last_id = $3, sent = sent + $4
             WHERE job_id = $1 AND stage = $2",
        )
        .bind(claim.id)
        .bind(stage)
        .bind(fetched.last)
        .bind(fetched.count)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Waits `delay`; false when the claim is lost or the process stops meanwhile.
    async fn pause(&self, claim: &Claim, delay: std::time::Duration) -> bool {
        let (mut lost, mut stopping) = (claim.lost.clone(), claim.stopping.clone());
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            _ = lost.wait_for(|lost| *lost) => false,
            _ = stopping.wait_for(|stopping| *stopping) => false,
        }
    }
}
