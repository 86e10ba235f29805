//! The runner of one kind of job. One runner at a time across every process: it holds a
//! lease on the job row, renews it while it works, and every write it makes checks that it
//! still holds it and that the job's destination is neither disabled nor held (fencing). A
//! runner that loses its claim (its process stalled, PostgreSQL restarted, the job was
//! canceled, the destination is being disconnected) gives up its parts in flight at once
//! (another runner sends them again); a runner that dies leaves a lease that expires. A
//! runner asked to stop starts no new part and lets those in flight finish.

use std::ops::Deref;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use sqlx::PgPool;
use tokio::sync::Semaphore;

use super::lease::{Claim, RunOutcome, RunnerBase, FENCE};
use super::{JobDefinition, JobWorker};
use crate::configuration::JobSettings;
use crate::secrets::vault::Vault;

pub struct Runner<D>(RunnerBase<D>);

impl<D> Deref for Runner<D> {
    type Target = RunnerBase<D>;

    fn deref(&self) -> &RunnerBase<D> {
        &self.0
    }
}

/// How one part, or a stage, ended.
enum PartEnd {
    Acknowledged,
    /// Refused, or out of retries: the job fails with this reason.
    Failed(String),
    Halted,
}

/// Ids of one part: (after, last].
#[derive(Clone, Copy)]
struct Range {
    after: i64,
    last: i64,
}

impl<D: JobDefinition> JobWorker for Runner<D> {
    async fn run_worker(self: Arc<Self>) {
        self.worker.run(D::KIND, || self.run_once()).await
    }

    fn stop(&self) {
        self.worker.stop();
    }
}

impl<D: JobDefinition> Runner<D> {
    /// `vault` opens the sealed part of the job's destination's config.
    pub fn new(pool: PgPool, definition: D, settings: JobSettings, vault: Vault) -> Arc<Self> {
        Arc::new(Runner(RunnerBase::new(pool, definition, settings, vault)))
    }

    /// Runs the waiting job to its end, unless another runner holds it.
    pub async fn run_once(&self) -> Result<RunOutcome, sqlx::Error> {
        self.leases()
            .run(&self.worker, |claim| async move {
                self.run_claimed(&claim).await
            })
            .await
    }

    async fn run_claimed(&self, claim: &Claim) -> Result<RunOutcome, sqlx::Error> {
        let part_size: i32 = sqlx::query_scalar("SELECT part_size FROM jobs WHERE id = $1")
            .bind(claim.id)
            .fetch_one(&self.pool)
            .await?;
        let stages: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT stage, upper_id, last_id FROM job_stages
             WHERE job_id = $1 AND NOT done ORDER BY position",
        )
        .bind(claim.id)
        .fetch_all(&self.pool)
        .await?;
        for (stage, upper, position) in stages {
            match self
                .run_stage(claim, &stage, position, upper, i64::from(part_size))
                .await?
            {
                PartEnd::Acknowledged => {}
                PartEnd::Halted => return Ok(RunOutcome::Stopped(claim.id)),
                PartEnd::Failed(reason) => {
                    return Ok(
                        match self.leases().finish(claim, false, Some(&reason)).await? {
                            true => RunOutcome::Failed(claim.id),
                            false => RunOutcome::Stopped(claim.id),
                        },
                    );
                }
            }
        }
        Ok(match self.leases().finish(claim, true, None).await? {
            true => RunOutcome::Completed(claim.id),
            false => RunOutcome::Stopped(claim.id),
        })
    }

    /// Sends one stage's remaining parts, up to `concurrency` at once, skipping the ranges
    /// acknowledged before a crash; `Acknowledged` once every part is. As many parts again
    /// are cut and built ahead of the sends, and a part's acknowledgement is written after
    /// its sending slot is free: a slot passes from one answer to the next send at once.
    async fn run_stage(
        &self,
        claim: &Claim,
        stage: &str,
        position: i64,
        upper: i64,
        size: i64,
    ) -> Result<PartEnd, sqlx::Error> {
        let acknowledged: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT after_id, last_id FROM job_parts
             WHERE job_id = $1 AND stage = $2 ORDER BY after_id",
        )
        .bind(claim.id)
        .bind(stage)
        .fetch_all(&self.pool)
        .await?;
        let mut acknowledged = acknowledged.into_iter().peekable();
        let mut position = position;
        let sending = Semaphore::new(self.settings.concurrency);
        let mut in_flight = FuturesUnordered::new();
        // The next range being cut, polled beside the parts: awaited alone, it would leave
        // them unpolled, holding their connections while it waits for one.
        let mut cutting = FuturesUnordered::new();
        let mut exhausted = false;
        let mut end = PartEnd::Acknowledged;
        loop {
            if cutting.is_empty()
                && !exhausted
                && matches!(end, PartEnd::Acknowledged)
                && in_flight.len() < 2 * self.settings.concurrency
            {
                if claim.may_start() {
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
                    let after = position;
                    cutting.push(async move {
                        let last = self.definition.cut(stage, after, bound, size).await;
                        (after, bound, last)
                    });
                } else {
                    end = PartEnd::Halted;
                }
            }
            tokio::select! {
                Some((after, bound, last)) = cutting.next() => match last? {
                    Some(last) => {
                        let range = Range { after, last };
                        in_flight.push(self.send_part(claim, stage, range, size, &sending));
                        position = last;
                    }
                    None if bound < upper => position = bound,
                    None => exhausted = true,
                },
                Some(part) = in_flight.next() => match part? {
                    PartEnd::Acknowledged => {}
                    other => {
                        if matches!(end, PartEnd::Acknowledged) {
                            end = other;
                        }
                    }
                },
                else => break,
            }
        }
        if matches!(end, PartEnd::Acknowledged) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE job_stages SET done = true WHERE job_id = $1 AND stage = $3 AND {FENCE}"
            )))
            .bind(claim.id)
            .bind(claim.token)
            .bind(stage)
            .execute(&self.pool)
            .await?;
        }
        Ok(end)
    }

    /// Builds one part, sends it in a slot of `sending` (retrying transient failures, the
    /// slot given up while it waits) and records the acknowledgement before anything else.
    /// A part that fails the stage closes `sending`, so parts built ahead are not sent.
    async fn send_part(
        &self,
        claim: &Claim,
        stage: &str,
        range: Range,
        size: i64,
        sending: &Semaphore,
    ) -> Result<PartEnd, sqlx::Error> {
        let (part, count) = self
            .definition
            .build(stage, range.after, range.last, size)
            .await?;
        if count == 0 {
            // Its rows were deleted since the part was cut: nothing to send.
            return Ok(match self.acknowledge(claim, stage, range, 0).await? {
                true => PartEnd::Acknowledged,
                false => PartEnd::Halted,
            });
        }
        let (mut lost, mut stopping) = (claim.lost.clone(), claim.stopping.clone());
        let mut attempt = 1;
        loop {
            // A part built ahead that has not started sending is given up on a stop.
            let slot = tokio::select! {
                biased;
                _ = lost.wait_for(|lost| *lost) => return Ok(PartEnd::Halted),
                _ = stopping.wait_for(|stopping| *stopping) => return Ok(PartEnd::Halted),
                slot = sending.acquire() => match slot {
                    Ok(slot) => slot,
                    // Another part failed the stage.
                    Err(_) => return Ok(PartEnd::Halted),
                },
            };
            // The destination as it is now; none once it is disabled or held.
            let destination = match self.leases().destination(claim, &self.vault).await? {
                None => return Ok(PartEnd::Halted),
                Some(Err(error)) => {
                    sending.close();
                    return Ok(PartEnd::Failed(format!(
                        "the destination's config: {error}"
                    )));
                }
                Some(Ok(destination)) => destination,
            };
            let sent = tokio::select! {
                sent = self.definition.send(stage, &part, &destination) => sent,
                _ = lost.wait_for(|lost| *lost) => return Ok(PartEnd::Halted),
            };
            let error = match sent {
                Ok(()) => {
                    drop(slot);
                    return Ok(match self.acknowledge(claim, stage, range, count).await? {
                        true => PartEnd::Acknowledged,
                        false => PartEnd::Halted,
                    });
                }
                Err(error) if error.permanent || attempt >= self.settings.retry.max_attempts => {
                    // Closed before the slot is given back: no part built ahead goes out.
                    sending.close();
                    return Ok(PartEnd::Failed(format!(
                        "{stage} after id {}: {error}",
                        range.after
                    )));
                }
                Err(error) => error,
            };
            drop(slot);
            let delay = self.settings.retry.delay(attempt);
            log::warn!(
                "{} job #{}: {stage} part failed (attempt {attempt}): {error}; retrying in {delay:?}",
                D::KIND,
                claim.id,
            );
            self.leases()
                .retrying(claim, &format!("retrying {stage}: {error}"))
                .await?;
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = lost.wait_for(|lost| *lost) => return Ok(PartEnd::Halted),
                _ = stopping.wait_for(|stopping| *stopping) => return Ok(PartEnd::Halted),
            }
            attempt += 1;
        }
    }

    /// Records an acknowledged part and advances the stage's contiguous position over every
    /// part acknowledged so far; an error the job was retrying is over. False when the
    /// claim was lost.
    async fn acknowledge(
        &self,
        claim: &Claim,
        stage: &str,
        range: Range,
        count: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // One acknowledgement of a stage at a time, so the position only moves forward.
        sqlx::query("SELECT 1 FROM job_stages WHERE job_id = $1 AND stage = $2 FOR UPDATE")
            .bind(claim.id)
            .bind(stage)
            .execute(&mut *tx)
            .await?;
        let recorded = sqlx::query(
            "WITH fence AS (
                 SELECT id FROM jobs
                 WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR SHARE
             ), part AS (
                 INSERT INTO job_parts (job_id, stage, after_id, last_id, count)
                 SELECT $1, $3, $4, $5, $6 FROM fence
                 RETURNING 1
             ), recovered AS (
                 UPDATE jobs SET last_error = NULL
                 WHERE id = $1 AND last_error IS NOT NULL AND EXISTS (SELECT 1 FROM part)
             )
             UPDATE job_stages SET sent = sent + $6
             WHERE job_id = $1 AND stage = $3 AND EXISTS (SELECT 1 FROM part)",
        )
        .bind(claim.id)
        .bind(claim.token)
        .bind(stage)
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
                 SELECT s.last_id FROM job_stages s WHERE s.job_id = $1 AND s.stage = $2
                 UNION ALL
                 SELECT x.last_id FROM job_parts x JOIN chain c ON x.after_id = c.last_id
                 WHERE x.job_id = $1 AND x.stage = $2
             ), advanced AS (
                 UPDATE job_stages SET last_id = (SELECT max(last_id) FROM chain)
                 WHERE job_id = $1 AND stage = $2
                 RETURNING last_id
             )
             DELETE FROM job_parts
             WHERE job_id = $1 AND stage = $2 AND last_id <= (SELECT last_id FROM advanced)",
        )
        .bind(claim.id)
        .bind(stage)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
