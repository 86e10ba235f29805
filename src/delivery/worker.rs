//! The delivery worker: claims due deliveries with short leases, sends many at once, and
//! records every outcome as it happens. Its SQL is in [`super::queue`].
//!
//! - **No transaction spans a send.** A claim is one statement that sets a lease
//!   (`lease_token`, `leased_until`); outcomes are written later, only by the lease's holder
//!   (fencing). A process that dies leaves leases that expire, and its deliveries are
//!   taken again: a crash re-sends at most what was in flight.
//! - **Commit order per ordering key.** A delivery is claimed only when no earlier delivery
//!   of its ordering key to the same destination is still open (pending, leased or failed),
//!   so one entity's events go out one after the other, in event-id order, across any number
//!   of processes; different keys go out concurrently.
//! - **As many in flight as the destination takes** ([`Limiter`]), per destination and
//!   process, up to `DELIVERY_CONCURRENCY`.
//! - **Circuit breaker per destination, for a partner that is down.** When a whole round of
//!   requests fails, the destination is paused (backoff with jitter, at most
//!   `DELIVERY_PROBE_SECS`) and then probed one request at a time; the first success closes
//!   the circuit and releases every delivery waiting for its own retry, and the limit starts
//!   over in slow start. A partner that asks to wait (`Retry-After`) is paused that long.
//! - **A misconfigured destination is held** with the reason, every delivery kept pending,
//!   until an operator releases or reconfigures it.
//! - **Outcomes in batches, each as it happens.** Sends hand their outcome to one writer,
//!   which records whatever has finished in one statement and wakes the dispatcher.
//! - **A database restart loses no outcome.** Outcomes commit without waiting for the WAL
//!   flush; the writer keeps the batches of the last seconds and writes them again when the
//!   server restarted (fenced, so one that survived changes nothing).
//! - **Drain on stop.** When the server stops, nothing new is claimed and the sends in
//!   flight are awaited and recorded (bounded by `drain_timeout`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch, Notify};
use uuid::Uuid;

use super::asleep::AsleepSign;
use super::destinations;
use super::kind::{Kinds, Outcome, Problem};
use super::limiter::{Limiter, Ticket, Verdict};
use super::queue::{self, Change, DestinationChange, Outcomes, Written};
use crate::configuration::DeliverySettings;
use crate::db::listen::listen;
use crate::events::CHANNEL;
use crate::retry::RetryPolicy;
use crate::secrets::vault::Vault;

const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// A lease outlasts the request it covers by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(10);
/// The longest pause a destination's `Retry-After` gets.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);
/// Outcomes written in one statement at most.
const OUTCOME_BATCH: usize = 512;
/// A busy worker looks for work at least this often, though writers no longer announce it
/// (see [`AsleepSign`]): a partner that hangs must not hold up other destinations' events.
const BUSY_LOOK: Duration = Duration::from_millis(20);
/// How long outcome batches are kept to be written again after a database restart: past
/// the three WAL writer delays (600 ms by default) within which an asynchronous commit
/// reaches the disk.
const KEEP_WRITTEN: Duration = Duration::from_secs(3);

pub struct Deliverer {
    pool: PgPool,
    kinds: Kinds,
    /// Opens the sealed part of destinations' configs.
    vault: Vault,
    settings: DeliverySettings,
    wake: Arc<Notify>,
    /// How much each destination takes from this process.
    limiters: Mutex<HashMap<i64, Limiter>>,
    /// When each retry this process scheduled falls due, soonest first (keeping only the
    /// soonest forgot the later ones once it passed: they waited a whole poll).
    retries_due: Mutex<BinaryHeap<Reverse<Instant>>>,
    /// The oldest transaction still in progress at the previous round's queue re-check.
    horizon: Mutex<Option<i64>>,
    /// When the database server last started, as the previous round saw it.
    server_started: Mutex<Option<DateTime<Utc>>>,
    /// Outcome batches recently written, to write again if the server restarts.
    written: Mutex<VecDeque<(Instant, Outcomes)>>,
}

/// What one dispatch round did.
struct Round {
    /// Deliveries claimed and sent off.
    claimed: usize,
    /// How long to wait for the next round unless woken.
    wait: Duration,
}

/// One send's outcome, on its way to the writer.
struct Sent {
    delivery_id: i64,
    destination_id: i64,
    lease: Uuid,
    claimed_at: DateTime<Utc>,
    attempts: i32,
    /// Every request of its round failed: the destination is down.
    down: bool,
    outcome: Outcome,
}

impl Deliverer {
    pub fn new(pool: PgPool, kinds: Kinds, vault: Vault, settings: DeliverySettings) -> Arc<Self> {
        Arc::new(Deliverer {
            pool: queue::bookkeeping_pool(&pool),
            kinds,
            vault,
            settings,
            wake: Arc::new(Notify::new()),
            limiters: Mutex::new(HashMap::new()),
            retries_due: Mutex::new(BinaryHeap::new()),
            horizon: Mutex::new(None),
            server_started: Mutex::new(None),
            written: Mutex::new(VecDeque::new()),
        })
    }

    /// Tells the worker that deliveries may be due (failed ones were queued again, a
    /// destination released, say).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers until `stop` turns true, then drains what is in flight.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let listener = tokio::spawn(listen(self.pool.clone(), CHANNEL, self.wake.clone()));
        let plans = tokio::spawn(queue::refresh_plans(self.pool.clone()));
        // A process that stopped between a commit and its recheck may have left a queue
        // without a head: look at every queue once, beside the delivery loop.
        let repair = tokio::spawn({
            let (pool, wake) = (self.pool.clone(), self.wake.clone());
            async move {
                match queue::repair_queue_heads(&pool).await {
                    Ok(0) => {}
                    Ok(n) => {
                        log::warn!("event log: {n} deliveries were waiting without a queue head");
                        wake.notify_one();
                    }
                    Err(error) => log::error!("event log: checking queue heads: {error}"),
                }
            }
        });
        let (sent, received) = mpsc::unbounded_channel();
        let writer = tokio::spawn(self.clone().record_outcomes(received));
        let sign = AsleepSign::hang(self.pool.clone(), self.wake.clone());
        let mut pruned_at: Option<Instant> = None;
        while !*stop.borrow() {
            let wait = match self.dispatch(&sent).await {
                // The outcomes of what was claimed bring the next round.
                Ok(round) if round.claimed > 0 => {
                    sign.set(false);
                    round.wait.min(BUSY_LOOK)
                }
                Ok(round) => {
                    sign.set(true);
                    round.wait
                }
                Err(error) => {
                    log::error!("event delivery: {error}");
                    self.settings.poll.min(Duration::from_secs(1))
                }
            };
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                match queue::prune(&self.pool, self.settings.retention).await {
                    Ok(0) => {}
                    Ok(n) => log::info!("event log: pruned {n} finished events"),
                    Err(error) => log::error!("event log: pruning failed: {error}"),
                }
                pruned_at = Some(Instant::now());
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        listener.abort();
        plans.abort();
        repair.abort();
        drop(sign);
        drop(sent);
        // The writer ends once every send in flight has handed in its outcome.
        if tokio::time::timeout(self.settings.drain_timeout, writer)
            .await
            .is_err()
        {
            log::warn!("event delivery: stopped before every delivery in flight was recorded");
        }
    }

    /// Claims what every destination can take now and starts sending it.
    async fn dispatch(
        self: &Arc<Self>,
        sent: &mpsc::UnboundedSender<Sent>,
    ) -> Result<Round, sqlx::Error> {
        let looked = Instant::now();
        let mut wait = self.settings.poll;
        let mut taken = 0;
        let destinations = queue::ready_destinations(&self.pool).await?;
        if let Some(started) = destinations.first().map(|d| d.server_started) {
            self.notice_restart(started).await;
        }
        for destination in destinations {
            if let Some(seconds) = destination.paused_seconds.filter(|s| *s > 0.0) {
                wait = wait.min(Duration::from_secs_f64(seconds));
                continue;
            }
            let Some(kind) = self.kinds.get(&destination.kind) else {
                log::debug!(
                    "event delivery: destination {} is of a kind this process does not know ({})",
                    destination.id,
                    destination.kind
                );
                continue;
            };
            // A failing destination gets one probe at a time; otherwise claim in batches
            // while busy: a claim per answer would cost a statement per delivery.
            let wanted = {
                let limiters = self.limiters.lock().expect("not poisoned");
                match limiters.get(&destination.id) {
                    None => 1,
                    Some(limiter) if destination.failing => usize::from(limiter.in_flight() == 0),
                    Some(limiter) => {
                        let free = limiter.free();
                        let busy = limiter.in_flight() > 0;
                        match busy && free < limiter.limit().div_ceil(8) {
                            true => 0,
                            false => free,
                        }
                    }
                }
            };
            if wanted == 0 {
                continue;
            }
            let lease = kind.timeout() + LEASE_MARGIN;
            let Some(batch) = queue::claim(
                &self.pool,
                destination.id,
                destination.failing,
                wanted,
                lease,
            )
            .await?
            else {
                continue;
            };
            taken += batch.deliveries.len();
            let (ticket, spacing) = {
                let mut limiters = self.limiters.lock().expect("not poisoned");
                let limiter = limiters
                    .entry(destination.id)
                    .or_insert_with(|| Limiter::new(self.settings.concurrency));
                (limiter.started(batch.deliveries.len()), limiter.spacing())
            };
            let target = destinations::opened(
                &self.vault,
                destination.id,
                &batch.config,
                batch.sealed.as_deref(),
            )
            .map_err(|e| e.to_string())
            .and_then(|config| kind.target(&config));
            let paced = kind.paced();
            for (nth, delivery) in batch.deliveries.into_iter().enumerate() {
                let target = target.clone();
                let paced_by = spacing * nth as u32;
                let sent = sent.clone();
                let (lease, claimed_at, destination_id) =
                    (batch.lease, batch.claimed_at, destination.id);
                let deliverer = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(paced_by).await;
                    let sending = Instant::now();
                    let outcome = match &target {
                        Ok(target) => target.send(&delivery).await,
                        Err(problem) => Outcome::Misconfigured(Problem {
                            status: None,
                            error: problem.clone(),
                        }),
                    };
                    let took = sending.elapsed();
                    let down = deliverer.came_back(destination_id, ticket, took, paced, &outcome);
                    let _ = sent.send(Sent {
                        delivery_id: delivery.delivery_id,
                        destination_id,
                        lease,
                        claimed_at,
                        attempts: delivery.attempts,
                        down,
                        outcome,
                    });
                    // A slot is free: the next claims need not wait for the outcome's record.
                    deliverer.wake.notify_one();
                });
            }
        }
        // After the claims, so it does not delay them; what it marks goes out next round.
        if self.recheck_recent_queues().await? > 0 {
            wait = Duration::ZERO;
        }
        let mut retries_due = self.retries_due.lock().expect("not poisoned");
        // Those due before this round looked were seen by its claims; the soonest other
        // (due now, or while this round looked, too late for its claims) sets the wait.
        while retries_due.peek().is_some_and(|Reverse(at)| *at <= looked) {
            retries_due.pop();
        }
        if let Some(Reverse(at)) = retries_due.peek() {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        Ok(Round {
            claimed: taken,
            wait,
        })
    }

    /// Marks ready the deliveries of recent transactions that queued behind a head that was
    /// delivered while they were committing (their check and the hand-over did not see each
    /// other). Only transactions not yet visible at the previous round are looked at, so
    /// the work is bounded by what was recently written, not by the backlog.
    async fn recheck_recent_queues(&self) -> Result<i64, sqlx::Error> {
        // The first round only takes the horizon: the start-up repair covers what came before.
        let previous = *self.horizon.lock().expect("not poisoned");
        let (marked, horizon) = queue::mark_queue_heads(&self.pool, previous).await?;
        *self.horizon.lock().expect("not poisoned") = Some(horizon);
        Ok(marked)
    }

    /// After a database restart, writes again the outcomes of the last seconds before it:
    /// committed asynchronously, some may not have reached the disk, while the claims they
    /// close did (a later synchronous commit flushed them), and those deliveries would wait
    /// for their leases to expire, then go out again.
    async fn notice_restart(&self, started: DateTime<Utc>) {
        let previous = self
            .server_started
            .lock()
            .expect("not poisoned")
            .replace(started);
        let kept: Vec<Outcomes> = {
            let mut written = self.written.lock().expect("not poisoned");
            match previous {
                Some(previous) if previous != started => {
                    written.drain(..).map(|(_, batch)| batch).collect()
                }
                _ => {
                    // The server answers: what was written before the last seconds is on disk.
                    while written
                        .front()
                        .is_some_and(|(at, _)| at.elapsed() > KEEP_WRITTEN)
                    {
                        written.pop_front();
                    }
                    return;
                }
            }
        };
        let mut rewritten = 0;
        for batch in &kept {
            let (heads, written) = until_done("writing outcomes again", || {
                queue::record(
                    &self.pool,
                    batch,
                    self.settings.retry.base,
                    self.probe_cap(),
                )
            })
            .await;
            until_done("handing over queues", || {
                queue::hand_over(&self.pool, &heads)
            })
            .await;
            rewritten += written;
        }
        log::warn!(
            "event delivery: the database restarted; {rewritten} outcomes of the seconds before were lost and are written again"
        );
        self.wake.notify_one();
    }

    /// The longest pause between a failing destination's probes.
    fn probe_cap(&self) -> Duration {
        self.settings.probe_every.min(self.settings.retry.cap)
    }

    /// Records outcomes as they come, in batches of whatever has finished meanwhile, hands
    /// the delivered heads' queues over, then frees the slots and wakes the dispatcher.
    async fn record_outcomes(self: Arc<Self>, mut received: mpsc::UnboundedReceiver<Sent>) {
        let mut batch = Vec::with_capacity(OUTCOME_BATCH);
        while received.recv_many(&mut batch, OUTCOME_BATCH).await > 0 {
            let (outcomes, finished, retries) = self.outcomes(&batch);
            batch.clear();
            // The database may be briefly away: keep the outcomes and try again. Should the
            // leases expire meanwhile, another worker re-sends and these writes are refused.
            let (heads, written) = until_done("recording outcomes", || {
                queue::record(
                    &self.pool,
                    &outcomes,
                    self.settings.retry.base,
                    self.probe_cap(),
                )
            })
            .await;
            if written < outcomes.len() {
                log::warn!(
                    "event delivery: {} outcomes came after their lease was lost; those deliveries go out again",
                    outcomes.len() - written
                );
            }
            // Counted from now, after the write: the database counted each retry's time
            // from its statement, so the dispatcher never looks before a retry is due (and,
            // finding nothing, sleeps a whole poll).
            {
                let now = Instant::now();
                let mut retries_due = self.retries_due.lock().expect("not poisoned");
                retries_due.extend(retries.into_iter().map(|delay| Reverse(now + delay)));
            }
            self.written
                .lock()
                .expect("not poisoned")
                .push_back((Instant::now(), outcomes));
            until_done("handing over queues", || {
                queue::hand_over(&self.pool, &heads)
            })
            .await;
            // Only now, with the outcomes recorded and their queues handed over, are the
            // slots free: a claim made before could take a later key's event ahead of the
            // next one of a key whose head just went (DELIVERY_CONCURRENCY=1 keeps commit
            // order across keys).
            {
                let mut limiters = self.limiters.lock().expect("not poisoned");
                for (destination, n) in finished {
                    if let Some(limiter) = limiters.get_mut(&destination) {
                        limiter.finished(n);
                    }
                }
            }
            self.wake.notify_one();
        }
    }

    /// Tells the destination's limiter what came back, as it comes back (with how long it
    /// took, unless its kind is `paced`); whether that makes the destination down.
    fn came_back(
        &self,
        destination: i64,
        ticket: Ticket,
        took: Duration,
        paced: bool,
        outcome: &Outcome,
    ) -> bool {
        let mut limiters = self.limiters.lock().expect("not poisoned");
        let limiter = limiters
            .entry(destination)
            .or_insert_with(|| Limiter::new(self.settings.concurrency));
        match outcome {
            Outcome::Retry { .. } => limiter.failed(ticket) == Verdict::Down,
            Outcome::Superseded => {
                limiter.skipped();
                false
            }
            _ if paced => {
                limiter.answered_paced(ticket);
                false
            }
            _ => {
                limiter.answered(ticket, took);
                false
            }
        }
    }

    /// A batch of sends as rows to write, and what the batch does to each destination; how
    /// many sends each destination had in the batch; and when each retry among them is due.
    fn outcomes(&self, batch: &[Sent]) -> (Outcomes, HashMap<i64, usize>, Vec<Duration>) {
        let mut outcomes = Outcomes::default();
        let mut finished: HashMap<i64, usize> = HashMap::new();
        let mut changes: HashMap<i64, DestinationChange> = HashMap::new();
        let mut retries = Vec::new();
        for sent in batch {
            *finished.entry(sent.destination_id).or_default() += 1;
            let mut change = |change: Change, reason: Option<String>, pause: Duration| {
                let entry = changes
                    .entry(sent.destination_id)
                    .or_insert(DestinationChange {
                        change,
                        reason: reason.clone(),
                        pause,
                        since: None,
                    });
                // Hold over open over pause over close, with the latest reason; the
                // longest pause asked for whatever the change. An opening counts from the
                // earliest claim among the sends that found the destination down, not
                // among any of the batch's (a late answer to an old request would make a
                // probe's failure look old, and its pause would stand).
                entry.pause = entry.pause.max(pause);
                if change == Change::Open {
                    entry.since = Some(
                        entry
                            .since
                            .map_or(sent.claimed_at, |at| at.min(sent.claimed_at)),
                    );
                }
                if change <= entry.change {
                    entry.reason = reason.or(entry.reason.take());
                    entry.change = change;
                }
            };
            let (written, delay) = match &sent.outcome {
                Outcome::Delivered(_) | Outcome::Refused(_) => {
                    change(Change::Close, None, Duration::ZERO);
                    let written = match &sent.outcome {
                        Outcome::Delivered(_) => Written::Delivered,
                        _ => Written::Failed,
                    };
                    (written, Duration::ZERO)
                }
                // No request went out: nothing to say of the destination.
                Outcome::Superseded => (Written::Delivered, Duration::ZERO),
                Outcome::Misconfigured(problem) => {
                    change(Change::Hold, Some(problem.error.clone()), Duration::ZERO);
                    (Written::Held, Duration::ZERO)
                }
                Outcome::Retry {
                    problem,
                    retry_after,
                } => {
                    let retry_after = retry_after.map(|after| after.min(RETRY_AFTER_CAP));
                    if sent.down {
                        change(Change::Open, Some(problem.error.clone()), Duration::ZERO);
                    }
                    if let Some(after) = retry_after {
                        change(Change::Pause, Some(problem.error.clone()), after);
                    }
                    let delay = retry_delay(&self.settings.retry, sent, retry_after);
                    retries.push(delay);
                    (Written::Retry, delay)
                }
            };
            outcomes.push(
                sent.delivery_id,
                sent.lease,
                written,
                sent.outcome.status(),
                sent.outcome.error().map(str::to_owned),
                delay,
            );
        }
        for (destination, change) in changes {
            outcomes.change(destination, change);
        }
        (outcomes, finished, retries)
    }
}

/// When a send to retry is tried again: the backoff of its attempt, or what the destination
/// asked for if longer. Turned away by a partner that took others of its round, it waits
/// the first step of the backoff, not one that doubles with each turn it lost: the partner
/// is full, the limit says how much it takes, and a draining backlog would otherwise wait
/// on its unluckiest entities.
fn retry_delay(retry: &RetryPolicy, sent: &Sent, retry_after: Option<Duration>) -> Duration {
    let attempt = match !sent.down && sent.outcome.turned_away() {
        true => 1,
        false => u32::try_from(sent.attempts).unwrap_or(0) + 1,
    };
    retry.delay(attempt).max(retry_after.unwrap_or_default())
}

/// Repeats a bookkeeping write until the database takes it, once a second.
async fn until_done<T, F>(what: &str, mut write: impl FnMut() -> F) -> T
where
    F: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    loop {
        match write().await {
            Ok(done) => return done,
            Err(error) => log::error!("event delivery: {what}: {error}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: RetryPolicy = RetryPolicy {
        max_attempts: 0,
        base: Duration::from_millis(500),
        cap: Duration::from_secs(60),
    };

    fn sent(attempts: i32, down: bool, status: Option<u16>) -> Sent {
        Sent {
            delivery_id: 1,
            destination_id: 1,
            lease: Uuid::nil(),
            claimed_at: Utc::now(),
            attempts,
            down,
            outcome: Outcome::Retry {
                problem: Problem {
                    status,
                    error: "no".into(),
                },
                retry_after: None,
            },
        }
    }

    #[test]
    fn a_full_partner_s_tenth_turn_away_waits_no_longer_than_its_first() {
        for status in [Some(503), Some(429), None] {
            let delay = retry_delay(&RETRY, &sent(9, false, status), None);
            assert!(delay <= RETRY.base, "{status:?}: {delay:?}");
        }
    }

    #[test]
    fn a_down_partner_or_an_error_backs_off_further_each_attempt() {
        let down = retry_delay(&RETRY, &sent(9, true, Some(503)), None);
        let error = retry_delay(&RETRY, &sent(9, false, Some(500)), None);
        for delay in [down, error] {
            assert!(delay >= Duration::from_secs(30), "{delay:?}");
        }
    }

    #[test]
    fn a_retry_after_longer_than_the_backoff_is_honoured() {
        let asked = Duration::from_secs(5);
        assert_eq!(
            retry_delay(&RETRY, &sent(0, false, Some(429)), Some(asked)),
            asked
        );
    }
}
