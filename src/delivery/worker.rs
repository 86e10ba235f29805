//! The delivery worker: claims due deliveries with short leases, sends many at once over
//! pooled connections, and records every outcome as it happens.
//!
//! - **No transaction spans an HTTP call.** A claim is one statement that sets a lease
//!   (`lease_token`, `leased_until`); outcomes are written later, only by the lease's holder
//!   (fencing). A process that dies leaves leases that expire, and its deliveries are
//!   taken again: a crash re-sends at most what was in flight.
//! - **Commit order per ordering key.** A delivery is claimed only when no earlier delivery
//!   of its ordering key to the same destination is still open (pending, leased or failed),
//!   so one entity's events go out one after the other, in event-id order, across any number
//!   of processes; different keys go out concurrently.
//! - **Circuit breaker per destination.** A transient failure pauses the destination (backoff
//!   with jitter); after the pause one probe goes out at a time; a success (or a refusal,
//!   which proves the destination is up) closes the circuit and releases every delivery
//!   waiting for its own retry, so a backlog drains at full speed at once.
//! - **Outcomes in batches, each as it happens.** Sends hand their outcome to one writer,
//!   which records whatever has finished in one statement and wakes the dispatcher.
//! - **Drain on stop.** When the server stops, nothing new is claimed and the sends in
//!   flight are awaited and recorded (bounded by `drain_timeout`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::asleep::AsleepSign;
use super::listen::listen;
use super::sender::{Claimed, SendError, Senders, Target};
use super::{DeliverySettings, CHANNEL};

const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// A lease outlasts the request it covers by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(10);
/// A failing destination is probed at least this often, so a healed partner is noticed soon.
const PROBE_CAP: Duration = Duration::from_secs(30);
/// Outcomes written in one statement at most.
const OUTCOME_BATCH: usize = 512;
/// A busy worker looks for work at least this often, though writers no longer announce it
/// (see [`AsleepSign`]): a partner that hangs must not hold up other destinations' events.
const BUSY_LOOK: Duration = Duration::from_millis(20);

pub struct Deliverer {
    pool: PgPool,
    senders: Senders,
    settings: DeliverySettings,
    wake: Arc<Notify>,
    /// In-flight slots per destination.
    slots: Mutex<HashMap<i64, Arc<Semaphore>>>,
    /// When this process's earliest scheduled retry falls due.
    next_retry: Mutex<Option<Instant>>,
    /// The oldest transaction still in progress at the previous round's queue re-check.
    horizon: Mutex<Option<i64>>,
}

/// A destination as one dispatch round sees it.
#[derive(sqlx::FromRow)]
struct Ready {
    id: i64,
    kind: String,
    failing: bool,
    paused_seconds: Option<f64>,
}

/// What one dispatch round did.
struct Round {
    /// Deliveries claimed and sent off.
    claimed: usize,
    /// How long to wait for the next round unless woken.
    wait: Duration,
}

/// One send's result, on its way to the outcome writer.
struct Outcome {
    delivery_id: i64,
    destination_id: i64,
    lease: Uuid,
    claimed_at: DateTime<Utc>,
    attempts: i32,
    result: Result<u16, SendError>,
    /// The destination's slot, freed once the outcome is recorded.
    _slot: OwnedSemaphorePermit,
}

impl Deliverer {
    pub fn new(pool: PgPool, senders: Senders, settings: DeliverySettings) -> Arc<Self> {
        Arc::new(Deliverer {
            pool: bookkeeping_pool(&pool),
            senders,
            settings,
            wake: Arc::new(Notify::new()),
            slots: Mutex::new(HashMap::new()),
            next_retry: Mutex::new(None),
            horizon: Mutex::new(None),
        })
    }

    /// Tells the worker that deliveries may be due (failed ones were queued again, say).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers until `stop` turns true, then drains what is in flight.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let listener = tokio::spawn(listen(self.pool.clone(), CHANNEL, self.wake.clone()));
        // A process that stopped between a commit and its recheck may have left a queue
        // without a head: look at every queue once, beside the delivery loop.
        let repair = tokio::spawn({
            let (pool, wake) = (self.pool.clone(), self.wake.clone());
            async move {
                match repair_queue_heads(&pool).await {
                    Ok(0) => {}
                    Ok(n) => {
                        log::warn!("event log: {n} deliveries were waiting without a queue head");
                        wake.notify_one();
                    }
                    Err(error) => log::error!("event log: checking queue heads: {error}"),
                }
            }
        });
        let (outcomes, received) = mpsc::unbounded_channel();
        let writer = tokio::spawn(self.clone().record_outcomes(received));
        let sign = AsleepSign::hang(self.pool.clone(), self.wake.clone());
        let mut pruned_at: Option<Instant> = None;
        while !*stop.borrow() {
            let wait = match self.dispatch(&outcomes).await {
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
                match prune(&self.pool, self.settings.retention).await {
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
        repair.abort();
        drop(sign);
        drop(outcomes);
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
        outcomes: &mpsc::UnboundedSender<Outcome>,
    ) -> Result<Round, sqlx::Error> {
        let mut wait = self.settings.poll;
        let mut taken = 0;
        let destinations: Vec<Ready> = sqlx::query_as(
            "SELECT id, kind, consecutive_failures > 0 AS failing,
                    extract(epoch FROM paused_until - now())::float8 AS paused_seconds
             FROM destinations WHERE enabled AND NOT held",
        )
        .fetch_all(&self.pool)
        .await?;
        for destination in destinations {
            if let Some(seconds) = destination.paused_seconds.filter(|s| *s > 0.0) {
                wait = wait.min(Duration::from_secs_f64(seconds));
                continue;
            }
            let slots = self.slots(destination.id);
            let free = slots.available_permits();
            // Claim in batches while busy: a claim per freed slot would cost a transaction
            // per delivery.
            let busy = free < self.settings.concurrency;
            if free == 0 || (busy && free < self.settings.concurrency.div_ceil(4)) {
                continue;
            }
            // A failing destination gets one probe at a time.
            let limit = if destination.failing { 1 } else { free };
            let lease = self.senders.timeout_for(&destination.kind) + LEASE_MARGIN;
            let Some(batch) = claim(
                &self.pool,
                destination.id,
                destination.failing,
                limit,
                lease,
            )
            .await?
            else {
                continue;
            };
            taken += batch.deliveries.len();
            for claimed in batch.deliveries {
                let slot = slots
                    .clone()
                    .try_acquire_owned()
                    .expect("no more claimed than free slots");
                let senders = self.senders.clone();
                let target = batch.target.clone();
                let outcomes = outcomes.clone();
                let (lease, claimed_at, destination_id) =
                    (batch.lease, batch.claimed_at, destination.id);
                tokio::spawn(async move {
                    let result = match &target {
                        Ok(target) => senders.send(target, &claimed).await,
                        Err(problem) => Err(SendError::Unreachable(problem.clone())),
                    };
                    let _ = outcomes.send(Outcome {
                        delivery_id: claimed.delivery_id,
                        destination_id,
                        lease,
                        claimed_at,
                        attempts: claimed.attempts,
                        result,
                        _slot: slot,
                    });
                });
            }
        }
        // After the claims, so it does not delay them; what it marks goes out next round.
        if self.recheck_recent_queues().await? > 0 {
            wait = Duration::ZERO;
        }
        let mut next_retry = self.next_retry.lock().expect("not poisoned");
        match *next_retry {
            Some(at) if at > Instant::now() => wait = wait.min(at - Instant::now()),
            Some(_) => *next_retry = None,
            None => {}
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
        let (marked, horizon) = mark_queue_heads(&self.pool, previous).await?;
        *self.horizon.lock().expect("not poisoned") = Some(horizon);
        Ok(marked)
    }

    fn slots(&self, destination: i64) -> Arc<Semaphore> {
        self.slots
            .lock()
            .expect("not poisoned")
            .entry(destination)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.concurrency)))
            .clone()
    }

    /// Records outcomes as they come, in batches of whatever has finished meanwhile. The
    /// dispatcher is woken as soon as they are recorded, and again if the hand-over after
    /// the commit readied more.
    async fn record_outcomes(self: Arc<Self>, mut received: mpsc::UnboundedReceiver<Outcome>) {
        let mut batch = Vec::with_capacity(OUTCOME_BATCH);
        while received.recv_many(&mut batch, OUTCOME_BATCH).await > 0 {
            // The database may be briefly away: keep the outcomes and try again. Should the
            // leases expire meanwhile, another worker re-sends and these writes are refused.
            let heads = until_done("recording outcomes", || self.record(&batch)).await;
            batch.clear();
            self.wake.notify_one();
            // Once more in a statement that starts after the commit: it sees every delivery
            // committed before, and one committing later is caught by the next round's
            // recheck_recent_queues.
            if until_done("handing over queues", || hand_over(&self.pool, &heads)).await > 0 {
                self.wake.notify_one();
            }
        }
    }

    /// Records one batch of outcomes; the heads it delivered.
    async fn record(&self, batch: &[Outcome]) -> Result<DeliveredHeads, sqlx::Error> {
        let mut rows = OutcomeRows::default();
        let mut earliest_retry: Option<Duration> = None;
        for outcome in batch {
            let (kind, delay) = match &outcome.result {
                Ok(_) => ("delivered", 0.0),
                Err(error) if error.is_permanent() => ("failed", 0.0),
                Err(_) => {
                    let delay = self
                        .settings
                        .retry
                        .delay(u32::try_from(outcome.attempts).unwrap_or(0) + 1);
                    earliest_retry = Some(earliest_retry.map_or(delay, |d| d.min(delay)));
                    ("retry", delay.as_secs_f64())
                }
            };
            rows.ids.push(outcome.delivery_id);
            rows.leases.push(outcome.lease);
            rows.outcomes.push(kind);
            rows.statuses.push(match &outcome.result {
                Ok(status) => Some(i32::from(*status)),
                Err(error) => error.status().map(i32::from),
            });
            rows.errors
                .push(outcome.result.as_ref().err().map(ToString::to_string));
            rows.delays.push(delay);
        }
        let circuits = Circuits::from(health_by_destination(batch));
        // One statement, committed on its own: the outcomes, their attempts, the hand-over
        // of delivered heads and the destinations' circuits, so a crash cannot separate them.
        let recorded: Vec<RecordedHead> = sqlx::query_as(&format!(
            "WITH o AS (
                 SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::float8[])
                     AS o(id, lease, outcome, status, error, delay)
             ), done AS (
                 UPDATE deliveries d
                 SET state = CASE o.outcome WHEN 'delivered' THEN 'delivered'
                                            WHEN 'failed' THEN 'failed'
                                            ELSE 'pending' END::delivery_state,
                     attempts = d.attempts + 1,
                     next_attempt_at = CASE WHEN o.outcome = 'retry'
                                            THEN now() + make_interval(secs => o.delay)
                                            ELSE d.next_attempt_at END,
                     finished_at = CASE WHEN o.outcome = 'retry' THEN NULL ELSE now() END,
                     last_status = o.status, last_error = o.error,
                     lease_token = NULL, leased_until = NULL
                 FROM o WHERE d.id = o.id AND d.lease_token = o.lease
                 RETURNING d.id, d.destination_id, d.ordering_key, d.event_id, d.state
             ), attempt AS (
                 INSERT INTO delivery_attempts (delivery_id, delivered, status, error)
                 SELECT o.id, o.outcome = 'delivered', o.status, o.error FROM o JOIN done ON done.id = o.id
             ), handed AS (
                 {hand_over}
             ), closed AS (
                 -- A destination that answered closes its circuit.
                 UPDATE destinations SET consecutive_failures = 0, paused_until = NULL, last_error = NULL
                 WHERE id = ANY ($7) AND (consecutive_failures > 0 OR paused_until IS NOT NULL)
                 RETURNING id
             ), released AS (
                 -- Its deliveries waiting for their own retry go now: the backlog drains at
                 -- once rather than at each one's backoff.
                 UPDATE deliveries SET next_attempt_at = now()
                 WHERE destination_id IN (SELECT id FROM closed)
                   AND state = 'pending' AND ready AND next_attempt_at > now()
             ), opened AS (
                 -- A transient failure pauses the destination, with a backoff that grows with
                 -- each failed probe. Failures of requests claimed before the circuit last
                 -- opened were sent before anyone knew, so they do not count again.
                 UPDATE destinations ds
                 SET consecutive_failures = ds.consecutive_failures + 1,
                     paused_until = now() + make_interval(secs =>
                         least($11, $10 * 2 ^ least(ds.consecutive_failures, 30)) * (0.5 + random() / 2)),
                     last_error = f.error, last_error_at = now()
                 FROM unnest($8::bigint[], $9::text[], $12::timestamptz[]) AS f (id, error, claimed_at)
                 WHERE ds.id = f.id AND (ds.last_error_at IS NULL OR ds.last_error_at < f.claimed_at)
             )
             SELECT destination_id, ordering_key, event_id, state = 'delivered' AS delivered FROM done",
            hand_over = hand_over_sql(
                "(SELECT destination_id, ordering_key, event_id FROM done WHERE state = 'delivered')"
            ),
        ))
        .bind(&rows.ids)
        .bind(&rows.leases)
        .bind(&rows.outcomes)
        .bind(&rows.statuses)
        .bind(&rows.errors)
        .bind(&rows.delays)
        .bind(&circuits.reachable)
        .bind(&circuits.failing)
        .bind(&circuits.errors)
        .bind(self.settings.retry.base.as_secs_f64())
        .bind(PROBE_CAP.min(self.settings.retry.cap).as_secs_f64())
        .bind(&circuits.failing_since)
        .fetch_all(&self.pool)
        .await?;
        if recorded.len() < batch.len() {
            log::warn!(
                "event delivery: {} outcomes came after their lease was lost; those deliveries go out again",
                batch.len() - recorded.len()
            );
        }
        if let Some(delay) = earliest_retry {
            let at = Instant::now() + delay;
            let mut next_retry = self.next_retry.lock().expect("not poisoned");
            *next_retry = Some(next_retry.map_or(at, |t| t.min(at)));
        }
        Ok(DeliveredHeads::from(recorded))
    }
}

#[derive(Default)]
struct OutcomeRows {
    ids: Vec<i64>,
    leases: Vec<Uuid>,
    outcomes: Vec<&'static str>,
    statuses: Vec<Option<i32>>,
    errors: Vec<Option<String>>,
    delays: Vec<f64>,
}

enum Health {
    /// A delivery went through or was refused: the destination answers.
    Reachable,
    /// Only transient failures: the latest error and the earliest claim that failed.
    Failing {
        error: String,
        claimed_at: DateTime<Utc>,
    },
}

fn health_by_destination(batch: &[Outcome]) -> HashMap<i64, Health> {
    let mut health: HashMap<i64, Health> = HashMap::new();
    for outcome in batch {
        match &outcome.result {
            Err(error) if !error.is_permanent() => {
                let failing = Health::Failing {
                    error: error.to_string(),
                    claimed_at: outcome.claimed_at,
                };
                if let Health::Failing {
                    error: e,
                    claimed_at,
                } = health.entry(outcome.destination_id).or_insert(failing)
                {
                    *e = error.to_string();
                    *claimed_at = (*claimed_at).min(outcome.claimed_at);
                }
            }
            _ => {
                health.insert(outcome.destination_id, Health::Reachable);
            }
        }
    }
    health
}

/// The destinations' health after a batch, as arrays for one statement.
#[derive(Default)]
struct Circuits {
    reachable: Vec<i64>,
    failing: Vec<i64>,
    errors: Vec<String>,
    failing_since: Vec<DateTime<Utc>>,
}

impl From<HashMap<i64, Health>> for Circuits {
    fn from(health: HashMap<i64, Health>) -> Self {
        let mut circuits = Circuits::default();
        for (destination, health) in health {
            match health {
                Health::Reachable => circuits.reachable.push(destination),
                Health::Failing { error, claimed_at } => {
                    circuits.failing.push(destination);
                    circuits.errors.push(error);
                    circuits.failing_since.push(claimed_at);
                }
            }
        }
        circuits
    }
}

/// A delivery whose outcome was recorded.
#[derive(sqlx::FromRow)]
struct RecordedHead {
    destination_id: i64,
    ordering_key: String,
    event_id: i64,
    delivered: bool,
}

/// The delivered heads of a batch of outcomes, as arrays for one statement.
struct DeliveredHeads {
    destinations: Vec<i64>,
    keys: Vec<String>,
    events: Vec<i64>,
}

impl From<Vec<RecordedHead>> for DeliveredHeads {
    fn from(recorded: Vec<RecordedHead>) -> Self {
        let (mut destinations, mut keys, mut events) = (Vec::new(), Vec::new(), Vec::new());
        for head in recorded.into_iter().filter(|head| head.delivered) {
            destinations.push(head.destination_id);
            keys.push(head.ordering_key);
            events.push(head.event_id);
        }
        DeliveredHeads {
            destinations,
            keys,
            events,
        }
    }
}

/// Delivered heads hand their queue to the next delivery of their key: its earliest open
/// delivery after the head becomes ready unless it is already (idempotent, as it runs twice)
/// or failed (which holds the queue). The search starts at the head's event, so the
/// finished deliveries before it cost nothing to skip; the row comparison keeps it on the
/// queue index whatever the statistics say. `heads` is a relation of (destination_id,
/// ordering_key, event_id).
fn hand_over_sql(heads: &str) -> String {
    format!(
        "UPDATE deliveries SET ready = true
         WHERE id = ANY (ARRAY(
             SELECT next.id
             FROM {heads} AS head (destination_id, ordering_key, event_id),
                  LATERAL (SELECT n.id, n.state, n.ready FROM deliveries n
                           WHERE n.destination_id = head.destination_id
                             AND n.ordering_key = head.ordering_key
                             AND (n.destination_id, n.ordering_key, n.event_id)
                                 > (head.destination_id, head.ordering_key, head.event_id)
                             AND n.state IN ('pending', 'failed')
                           ORDER BY n.destination_id, n.ordering_key, n.event_id LIMIT 1) next
             WHERE next.state = 'pending' AND NOT next.ready))"
    )
}

/// Hands over the queues of heads already recorded as delivered; how many it readied.
async fn hand_over(pool: &PgPool, heads: &DeliveredHeads) -> Result<u64, sqlx::Error> {
    if heads.events.is_empty() {
        return Ok(0);
    }
    let handed = sqlx::query(&hand_over_sql(
        "unnest($1::bigint[], $2::text[], $3::bigint[])",
    ))
    .bind(&heads.destinations)
    .bind(&heads.keys)
    .bind(&heads.events)
    .execute(pool)
    .await?;
    Ok(handed.rows_affected())
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

/// What one claim took: the destination as it is now, the lease, and the deliveries.
struct ClaimedBatch {
    target: Result<Target, String>,
    lease: Uuid,
    claimed_at: DateTime<Utc>,
    deliveries: Vec<Claimed>,
}

/// One claimed delivery with the destination as the claim saw it.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    kind: String,
    config: serde_json::Value,
    claimed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    delivery: Claimed,
}

/// Claims up to `limit` due deliveries of one destination in one statement, committed on
/// its own. The destination row is locked first (shared; exclusive for a probe, which also
/// pauses the destination for its lease) so a disconnect that holds or disables it waits
/// for claims in progress and sees their leases; the deliveries are scanned only once the
/// lock is held. `None` when nothing was claimed.
async fn claim(
    pool: &PgPool,
    destination: i64,
    probe: bool,
    limit: usize,
    lease: Duration,
) -> Result<Option<ClaimedBatch>, sqlx::Error> {
    let lock = if probe { "NO KEY UPDATE" } else { "SHARE" };
    let token = Uuid::new_v4();
    let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
        "WITH destination AS MATERIALIZED (
             SELECT kind, config, now() AS claimed_at FROM destinations
             WHERE id = $1 AND enabled AND NOT held AND (paused_until IS NULL OR paused_until <= now())
             FOR {lock}
         ), due AS (
             SELECT d.id FROM deliveries d
             WHERE EXISTS (SELECT FROM destination)
               AND d.destination_id = $1 AND d.state = 'pending' AND d.ready
               AND d.next_attempt_at <= now()
               AND (d.leased_until IS NULL OR d.leased_until < now())
               -- The earliest open delivery of its key: one index probe per candidate.
               AND d.event_id = (
                   SELECT e.event_id FROM deliveries e
                   WHERE e.destination_id = d.destination_id AND e.ordering_key = d.ordering_key
                     AND e.state IN ('pending', 'failed')
                   ORDER BY e.destination_id, e.ordering_key, e.event_id LIMIT 1)
             ORDER BY d.event_id
             LIMIT $2
             FOR UPDATE OF d SKIP LOCKED
         ), claimed AS (
             UPDATE deliveries d
             SET lease_token = $3, leased_until = now() + make_interval(secs => $4)
             FROM due, events ev
             WHERE d.id = due.id AND ev.id = d.event_id
             RETURNING d.id AS delivery_id, d.event_id, d.attempts, ev.name, ev.entity_type,
                       ev.entity_id, ev.payload::text AS payload, ev.occurred_at
         ), probing AS (
             UPDATE destinations SET paused_until = now() + make_interval(secs => $4)
             WHERE id = $1 AND $5 AND EXISTS (SELECT FROM claimed)
         )
         SELECT destination.*, claimed.* FROM destination, claimed"
    ))
    .bind(destination)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(token)
    .bind(lease.as_secs_f64())
    .bind(probe)
    .fetch_all(pool)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(ClaimedBatch {
        target: Target::parse(&first.kind, first.config.clone()),
        lease: token,
        claimed_at: first.claimed_at,
        deliveries: rows.into_iter().map(|row| row.delivery).collect(),
    }))
}

/// The worker's own connections. Leases and outcomes are bookkeeping a PostgreSQL crash may
/// lose without losing an event: a lost lease lets the delivery be claimed again, a lost
/// outcome sends it once more (the receiver drops it by `X-Event-Id`). So they commit without
/// waiting for the WAL flush, which is what lets delivery keep up with the shop's own
/// commits. A shopbridge crash loses nothing: the commit has reached PostgreSQL.
///
/// Every statement of the worker is an index lookup, and `deliveries` swings between empty
/// and a large backlog faster than ANALYZE follows: a plan made while the statistics say
/// "empty" would scan the whole table at each call. So sequential scans are off here, and
/// bitmap scans too: planned as "a few rows", the claim read every ready delivery through a
/// bitmap and sorted them all, where an index scan in event order stops at its limit (in a
/// backlog of 1,000 queues, 943 queue-head checks for 71 claimed, 10 ms a claim). JIT is off
/// as well: the penalty cost of a table that has no other path (`destinations`) would
/// otherwise trigger a JIT compilation per statement. And the plans are kept: an
/// outcome batch is usually one or two rows, for which PostgreSQL would plan its statements
/// afresh at every call (two thirds of the worker's database time, measured), though the
/// plan is the same index lookups whatever the batch's size.
fn bookkeeping_pool(pool: &PgPool) -> PgPool {
    let options = pool.connect_options().as_ref().clone().options([
        ("synchronous_commit", "off"),
        ("enable_seqscan", "off"),
        ("enable_bitmapscan", "off"),
        ("jit", "off"),
        ("plan_cache_mode", "force_generic_plan"),
    ]);
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options)
}

/// Marks ready every pending delivery with nothing open before it: for queues whose head
/// was delivered by a process that stopped before its recheck.
async fn repair_queue_heads(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let (marked, _) = mark_queue_heads(pool, Some(0)).await?;
    Ok(marked)
}

/// Marks ready the pending deliveries of transactions from `since` on (none if `None`) that
/// have no open delivery of their key before them; how many, and the horizon of the
/// statement's snapshot: every transaction before it had finished when it looked. One index
/// probe per delivery, whatever the planner's statistics say (a join here goes quadratic on
/// a table just filled); it looks backwards from the delivery, so one queued behind others
/// stops at its predecessor instead of walking the key's finished deliveries from the start.
async fn mark_queue_heads(pool: &PgPool, since: Option<i64>) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "WITH marked AS (
             UPDATE deliveries SET ready = true
             WHERE id = ANY (ARRAY(
                 SELECT c.id FROM deliveries c
                 WHERE c.state = 'pending' AND NOT c.ready AND c.txid >= $1::text::xid8
                   AND (SELECT e.event_id FROM deliveries e
                        WHERE e.destination_id = c.destination_id AND e.ordering_key = c.ordering_key
                          AND (e.destination_id, e.ordering_key, e.event_id)
                              < (c.destination_id, c.ordering_key, c.event_id)
                          AND e.state IN ('pending', 'failed')
                        ORDER BY e.destination_id DESC, e.ordering_key DESC, e.event_id DESC
                        LIMIT 1) IS NULL))
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM marked),
                pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    )
    .bind(since.map(|since| since.to_string()))
    .fetch_one(pool)
    .await
}

/// Deletes events that occurred and finished (no delivery pending) longer than `retention`
/// ago, with their deliveries and attempts; in bounded batches, so no lock is held long. A
/// failed delivery that still holds back later ones of its key is kept until retried.
pub async fn prune(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query(
            "DELETE FROM events WHERE id IN (
                 SELECT e.id FROM events e
                 WHERE e.occurred_at < now() - make_interval(secs => $1)
                   AND NOT EXISTS (
                       SELECT 1 FROM deliveries d
                       WHERE d.event_id = e.id
                         AND (d.state = 'pending' OR d.finished_at >= now() - make_interval(secs => $1)
                              -- A failed delivery holding back its key's later ones stays.
                              OR (d.state = 'failed' AND EXISTS (
                                  SELECT 1 FROM deliveries n
                                  WHERE n.destination_id = d.destination_id
                                    AND n.ordering_key = d.ordering_key AND n.state = 'pending'))))
                 ORDER BY e.id
                 LIMIT 5000)",
        )
        .bind(retention.as_secs_f64())
        .execute(pool)
        .await?
        .rows_affected();
        total += deleted;
        if deleted < 5000 {
            return Ok(total);
        }
    }
}
