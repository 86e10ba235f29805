//! A kind of job the backbone has never heard of, defined here in the test crate, on the
//! shared runner: parts in parallel, progress per acknowledged part, exact resume after a
//! crash, one runner at a time, cancel.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use shopbridge::configuration::JobSettings;
use shopbridge::jobs::{
    self, Job, JobDefinition, JobState, PartError, RunOutcome, Runner, StagePlan,
};
use shopbridge::retry::RetryPolicy;

use crate::events::eventually;
use crate::helpers::{fresh_database, test_vault};

/// What the counter does with the next part it is sent.
#[derive(Clone, Copy)]
enum Step {
    Take,
    Refuse,
    /// Never answers: a part in flight when the runner dies.
    Hang,
}

/// Sends the numbers 1 to 100 (stage `tens`) and then 1 to 35 (stage `units`), in parts,
/// to a counter that follows a script.
#[derive(Clone, Default)]
struct Counting {
    script: Arc<Mutex<VecDeque<Step>>>,
    /// Every number sent, with the times it was sent, per stage.
    sent: Arc<Mutex<HashMap<(String, i64), usize>>>,
    taken: Arc<Mutex<Vec<(String, i64)>>>,
}

impl Job for Counting {
    const KIND: &'static str = "test.counting";

    fn destination(&self) -> Option<&'static str> {
        None
    }

    async fn plan(&self, _: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        Ok(vec![
            StagePlan {
                stage: "tens",
                upper: 100,
                total: 100,
            },
            StagePlan {
                stage: "units",
                upper: 35,
                total: 35,
            },
        ])
    }
}

impl JobDefinition for Counting {
    type Part = Vec<i64>;

    async fn cut(
        &self,
        _: &str,
        after: i64,
        bound: i64,
        size: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        Ok((after < bound).then(|| (after + size).min(bound)))
    }

    async fn build(
        &self,
        _: &str,
        after: i64,
        last: i64,
        _: i64,
    ) -> Result<(Vec<i64>, i64), sqlx::Error> {
        let numbers: Vec<i64> = (after + 1..=last).collect();
        let count = numbers.len() as i64;
        Ok((numbers, count))
    }

    async fn send(
        &self,
        stage: &str,
        part: &Vec<i64>,
        _: &serde_json::Value,
    ) -> Result<(), PartError> {
        for number in part {
            *self
                .sent
                .lock()
                .unwrap()
                .entry((stage.to_owned(), *number))
                .or_default() += 1;
        }
        let step = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Step::Take);
        match step {
            Step::Take => {
                let mut taken = self.taken.lock().unwrap();
                taken.extend(part.iter().map(|n| (stage.to_owned(), *n)));
                Ok(())
            }
            Step::Refuse => Err(PartError {
                permanent: true,
                message: "the counter refuses".into(),
            }),
            Step::Hang => std::future::pending().await,
        }
    }
}

fn settings(concurrency: usize) -> JobSettings {
    JobSettings {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
        },
        concurrency,
        lease: Duration::from_secs(1),
    }
}

async fn started(pool: &PgPool, counting: &Counting) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let started = jobs::start_in(&mut tx, counting, 10)
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("no job of the kind is running"));
    tx.commit().await.unwrap();
    started.id
}

/// Runs the job on `runner` until another runner's lease has expired and it completes.
async fn run_to_the_end(runner: &Runner<Counting>) -> RunOutcome {
    for _ in 0..50 {
        match runner.run_once().await.unwrap() {
            RunOutcome::Busy => tokio::time::sleep(Duration::from_millis(100)).await,
            outcome => return outcome,
        }
    }
    panic!("the job stayed busy");
}

#[tokio::test]
async fn a_job_killed_with_parts_in_flight_resumes_exactly_on_another_runner() {
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    let counting = Counting::default();
    // Parts acknowledged out of order around one that hangs, then hanging ones: the
    // crash comes with three parts in flight.
    counting.script.lock().unwrap().extend([
        Step::Take,
        Step::Hang,
        Step::Take,
        Step::Take,
        Step::Hang,
        Step::Hang,
    ]);
    let id = started(&pool, &counting).await;
    let first = Runner::new(pool.clone(), counting.clone(), settings(3), test_vault());
    let crashed = tokio::spawn(async move { first.run_once().await });
    // The crash comes once the three hanging parts have started, not merely after the
    // third acknowledgement: a hang left in the script would hang the second runner.
    eventually(
        Duration::from_secs(10),
        "three parts acknowledged, three in flight",
        || async {
            let status = jobs::latest(&pool, Counting::KIND).await.unwrap().unwrap();
            status.stages[0].sent == 30 && counting.script.lock().unwrap().is_empty()
        },
    )
    .await;
    crashed.abort();
    let _ = crashed.await;
    let before: Vec<(String, i64)> = counting.taken.lock().unwrap().clone();

    let second = Runner::new(pool.clone(), counting.clone(), settings(3), test_vault());
    assert_eq!(run_to_the_end(&second).await, RunOutcome::Completed(id));
    let status = jobs::latest(&pool, Counting::KIND).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Completed);
    let progress: Vec<(String, i64, i64, bool)> = status
        .stages
        .iter()
        .map(|s| (s.stage.clone(), s.sent, s.total, s.done))
        .collect();
    assert_eq!(
        progress,
        [
            ("tens".to_owned(), 100, 100, true),
            ("units".to_owned(), 35, 35, true)
        ]
    );
    let taken = counting.taken.lock().unwrap().clone();
    let mut numbers: Vec<(String, i64)> = taken.clone();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 135, "every number taken");
    assert_eq!(taken.len(), 135, "none taken twice");
    let sent = counting.sent.lock().unwrap();
    for number in &before {
        assert_eq!(
            sent[number], 1,
            "{number:?} was taken before the crash: sent once"
        );
    }
    let resent = sent.values().filter(|&&times| times > 1).count();
    assert!(
        resent <= 30,
        "only the three parts in flight went again, not {resent}"
    );
}

#[tokio::test]
async fn one_runner_at_a_time_and_a_canceled_job_stops_before_its_next_part() {
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    let counting = Counting::default();
    counting
        .script
        .lock()
        .unwrap()
        .extend([Step::Take, Step::Hang]);
    let id = started(&pool, &counting).await;
    let first = Runner::new(pool.clone(), counting.clone(), settings(1), test_vault());
    let running = {
        let first = first.clone();
        tokio::spawn(async move { first.run_once().await })
    };
    eventually(Duration::from_secs(10), "a part in flight", || async {
        counting.sent.lock().unwrap().len() == 20
    })
    .await;
    let second = Runner::new(pool.clone(), counting.clone(), settings(1), test_vault());
    assert_eq!(second.run_once().await.unwrap(), RunOutcome::Busy);

    assert!(jobs::cancel(&pool, id).await.unwrap());
    // The lease is no longer renewed, so the runner halts: its hanging part is given up.
    let outcome = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the runner stops")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, RunOutcome::Stopped(id));
    let status = jobs::latest(&pool, Counting::KIND).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Canceled);
    assert_eq!(status.stages[0].sent, 10, "what was acknowledged stays");
    assert_eq!(second.run_once().await.unwrap(), RunOutcome::Idle);
}

#[tokio::test]
async fn a_refused_part_fails_the_job_with_its_reason_and_a_resume_finishes_it() {
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    let counting = Counting::default();
    counting
        .script
        .lock()
        .unwrap()
        .extend([Step::Take, Step::Refuse]);
    let id = started(&pool, &counting).await;
    let runner = Runner::new(pool.clone(), counting.clone(), settings(1), test_vault());
    assert_eq!(runner.run_once().await.unwrap(), RunOutcome::Failed(id));
    let status = jobs::latest(&pool, Counting::KIND).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Failed);
    assert_eq!(
        status.last_error.as_deref(),
        Some("tens after id 10: the counter refuses")
    );
    assert_eq!(
        started(&pool, &counting).await,
        id,
        "the failed job resumes"
    );
    assert_eq!(runner.run_once().await.unwrap(), RunOutcome::Completed(id));
    assert_eq!(counting.taken.lock().unwrap().len(), 135);
}
