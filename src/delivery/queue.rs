//! The delivery queue's SQL: what the worker claims, how it records outcomes, and how a
//! delivered head hands its ordering key's queue to the next delivery. Every statement is
//! one round trip, committed on its own, planned as index lookups (see [`bookkeeping_pool`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::kind::Delivery;

/// A destination as one dispatch round sees it.
#[derive(sqlx::FromRow)]
pub struct Ready {
    pub id: i64,
    pub kind: String,
    /// Its circuit is open: one probe at a time.
    pub failing: bool,
    pub paused_seconds: Option<f64>,
    /// When the database server started: a change means it restarted.
    pub server_started: DateTime<Utc>,
}

/// The destinations deliveries may go to now (enabled, not held).
pub async fn ready_destinations(pool: &PgPool) -> Result<Vec<Ready>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, consecutive_failures > 0 AS failing,
                extract(epoch FROM paused_until - now())::float8 AS paused_seconds,
                pg_postmaster_start_time() AS server_started
         FROM destinations WHERE enabled AND NOT held",
    )
    .fetch_all(pool)
    .await
}

/// What one claim took: the destination's kind and config as they are now, the lease, and
/// the deliveries.
pub struct Claimed {
    pub config: serde_json::Value,
    /// The sealed part of the config, if any.
    pub sealed: Option<Vec<u8>>,
    pub lease: Uuid,
    pub claimed_at: DateTime<Utc>,
    pub deliveries: Vec<Delivery>,
}

/// One claimed delivery with the destination as the claim saw it.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    config: serde_json::Value,
    sealed: Option<Vec<u8>>,
    claimed_at: DateTime<Utc>,
    #[sqlx(flatten)]
    delivery: Delivery,
}

/// Claims up to `limit` due deliveries of one destination in one statement. The destination
/// row is locked first (shared; exclusive for a probe, which also pauses the destination
/// for its lease) so a disconnect that holds or disables it waits for claims in progress
/// and sees their leases; the deliveries are scanned only once the lock is held.
///
/// A probe (the destination's circuit is open) takes one delivery whether or not its own
/// backoff is over, those that are due first: the destination's pause, which grows to at
/// most `DELIVERY_PROBE_SECS`, is what spaces probes, so a healed partner is noticed within
/// that. `None` when nothing was claimed.
pub async fn claim(
    pool: &PgPool,
    destination: i64,
    probe: bool,
    limit: usize,
    lease: Duration,
) -> Result<Option<Claimed>, sqlx::Error> {
    let (lock, due, order) = match probe {
        false => ("SHARE", "AND d.next_attempt_at <= now()", "d.event_id"),
        true => ("NO KEY UPDATE", "", "d.next_attempt_at > now(), d.event_id"),
    };
    let token = Uuid::new_v4();
    let rows: Vec<ClaimRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH destination AS MATERIALIZED (
             SELECT config, now() AS claimed_at,
                    (SELECT sealed FROM secrets WHERE owner = 'destination/' || $1 AND name = 'config')
                        AS sealed
             FROM destinations
             WHERE id = $1 AND enabled AND NOT held AND (paused_until IS NULL OR paused_until <= now())
               -- A probe only while the circuit is still open: its pause is lifted by the
               -- outcome that closes the circuit, and a circuit closed meanwhile has none.
               AND (NOT $5 OR consecutive_failures > 0)
             FOR {lock}
         ), due AS (
             SELECT d.id FROM deliveries d
             WHERE EXISTS (SELECT FROM destination)
               AND d.destination_id = $1 AND d.state = 'pending' AND d.ready {due}
               AND (d.leased_until IS NULL OR d.leased_until < now())
               -- The earliest open delivery of its key: one index probe per candidate.
               AND d.event_id = (
                   SELECT e.event_id FROM deliveries e
                   WHERE e.destination_id = d.destination_id AND e.ordering_key = d.ordering_key
                     AND e.state IN ('pending', 'failed')
                   ORDER BY e.destination_id, e.ordering_key, e.event_id LIMIT 1)
             ORDER BY {order}
             LIMIT $2
             FOR UPDATE OF d SKIP LOCKED
         ), claimed AS (
             UPDATE deliveries d
             SET lease_token = $3, leased_until = now() + make_interval(secs => $4)
             FROM due, events ev
             WHERE d.id = due.id AND ev.id = d.event_id
             RETURNING d.id AS delivery_id, d.event_id, d.attempts, ev.name, ev.entity_type,
                       ev.entity_id, ev.payload::text AS payload, ev.occurred_at,
                       coalesce(ev.cause, '{{}}') AS cause
         ), probing AS (
             UPDATE destinations SET paused_until = now() + make_interval(secs => $4)
             WHERE id = $1 AND $5 AND EXISTS (SELECT FROM claimed)
         )
         SELECT destination.*, claimed.* FROM destination, claimed"
    )))
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
    Ok(Some(Claimed {
        config: first.config.clone(),
        sealed: first.sealed.clone(),
        lease: token,
        claimed_at: first.claimed_at,
        deliveries: rows.into_iter().map(|row| row.delivery).collect(),
    }))
}

/// How one delivery's outcome is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Delivered,
    /// Refused for good: the delivery fails and holds back its key.
    Failed,
    /// Tried again after its delay.
    Retry,
    /// Kept pending, due at once, while its destination is held.
    Held,
}

impl Written {
    fn as_str(self) -> &'static str {
        match self {
            Written::Delivered => "delivered",
            Written::Failed => "failed",
            Written::Retry => "retry",
            Written::Held => "held",
        }
    }
}

/// What a batch of outcomes does to one destination; the first of these a batch calls for
/// is what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Its configuration is wrong: hold it with the reason.
    Hold,
    /// Down: open its circuit (or keep it open, backing off further).
    Open,
    /// It asked not to be sent anything for a while (`Retry-After`).
    Pause,
    /// It answered: close its circuit.
    Close,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Hold => "hold",
            Change::Open => "open",
            Change::Pause => "pause",
            Change::Close => "close",
        }
    }
}

/// A batch of outcomes, as arrays for one statement.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    ids: Vec<i64>,
    leases: Vec<Uuid>,
    written: Vec<&'static str>,
    statuses: Vec<Option<i32>>,
    errors: Vec<Option<String>>,
    delays: Vec<f64>,
    destinations: Vec<i64>,
    changes: Vec<&'static str>,
    reasons: Vec<Option<String>>,
    pauses: Vec<f64>,
    failing_since: Vec<Option<DateTime<Utc>>>,
}

/// What one batch of outcomes does to one destination.
pub struct DestinationChange {
    pub change: Change,
    pub reason: Option<String>,
    /// The longest pause asked for.
    pub pause: Duration,
    /// For an opening: the earliest claim among the sends that found the destination down
    /// (failures of requests claimed before it last opened do not count again).
    pub since: Option<DateTime<Utc>>,
}

impl Outcomes {
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        delivery: i64,
        lease: Uuid,
        written: Written,
        status: Option<u16>,
        error: Option<String>,
        delay: Duration,
    ) {
        self.ids.push(delivery);
        self.leases.push(lease);
        self.written.push(written.as_str());
        self.statuses.push(status.map(i32::from));
        self.errors.push(error);
        self.delays.push(delay.as_secs_f64());
    }

    /// One change per destination and batch.
    pub fn change(&mut self, destination: i64, change: DestinationChange) {
        self.destinations.push(destination);
        self.changes.push(change.change.as_str());
        self.reasons.push(change.reason);
        self.pauses.push(change.pause.as_secs_f64());
        self.failing_since.push(change.since);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A delivered head, for the hand-over after the commit.
#[derive(sqlx::FromRow)]
struct RecordedHead {
    destination_id: i64,
    ordering_key: String,
    event_id: i64,
    delivered: bool,
}

/// The delivered heads of a batch of outcomes, as arrays for one statement.
#[derive(Default)]
pub struct DeliveredHeads {
    destinations: Vec<i64>,
    keys: Vec<String>,
    events: Vec<i64>,
}

/// Records a batch of outcomes in one statement: the deliveries, their attempts, the
/// hand-over of delivered heads and the destinations' changes, so a crash cannot separate
/// them. Fenced: an outcome whose lease was lost (its delivery was claimed again) is not
/// written. The heads delivered, and how many outcomes were written.
pub async fn record(
    pool: &PgPool,
    outcomes: &Outcomes,
    probe_base: Duration,
    probe_cap: Duration,
) -> Result<(DeliveredHeads, usize), sqlx::Error> {
    let recorded: Vec<RecordedHead> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH o AS (
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::float8[])
                 AS o(id, lease, outcome, status, error, delay)
         ), done AS (
             UPDATE deliveries d
             SET state = CASE o.outcome WHEN 'delivered' THEN 'delivered'
                                        WHEN 'failed' THEN 'failed'
                                        ELSE 'pending' END::delivery_state,
                 attempts = d.attempts + 1,
                 next_attempt_at = CASE o.outcome WHEN 'retry' THEN now() + make_interval(secs => o.delay)
                                                  WHEN 'held' THEN now()
                                                  ELSE d.next_attempt_at END,
                 finished_at = CASE WHEN o.outcome IN ('delivered', 'failed') THEN now() END,
                 last_status = o.status, last_error = o.error,
                 lease_token = NULL, leased_until = NULL
             FROM o WHERE d.id = o.id AND d.lease_token = o.lease
             RETURNING d.id, d.destination_id, d.ordering_key, d.event_id, d.state
         ), attempt AS (
             INSERT INTO delivery_attempts (delivery_id, delivered, status, error)
             SELECT o.id, o.outcome = 'delivered', o.status, o.error FROM o JOIN done ON done.id = o.id
         ), handed AS (
             {hand_over}
         ), changed AS (
             -- One change per destination. Holding keeps the first reason. Opening pauses
             -- with a backoff that grows with each failed probe (or as long as the
             -- destination asked, if longer), unless the failure was of a request claimed
             -- before the circuit last opened (sent before anyone knew). Closing resets the
             -- circuit but leaves a pause the destination asked for.
             UPDATE destinations ds
             SET held = ds.held OR c.change = 'hold',
                 hold_reason = CASE WHEN c.change = 'hold' THEN coalesce(ds.hold_reason, c.reason)
                                    ELSE ds.hold_reason END,
                 consecutive_failures = CASE c.change WHEN 'close' THEN 0
                                                      WHEN 'open' THEN ds.consecutive_failures + 1
                                                      ELSE ds.consecutive_failures END,
                 paused_until = CASE c.change
                     WHEN 'close' THEN CASE WHEN ds.consecutive_failures > 0 THEN NULL ELSE ds.paused_until END
                     WHEN 'open' THEN now() + make_interval(secs => greatest(c.pause,
                         least($11, $10 * 2 ^ least(ds.consecutive_failures, 30)) * (0.5 + random() / 2)))
                     WHEN 'pause' THEN greatest(ds.paused_until, now() + make_interval(secs => c.pause))
                     ELSE ds.paused_until END,
                 last_error = CASE WHEN c.change = 'close' THEN NULL ELSE c.reason END,
                 last_error_at = CASE WHEN c.change = 'close' THEN ds.last_error_at ELSE now() END
             FROM unnest($7::bigint[], $8::text[], $9::text[], $12::float8[], $13::timestamptz[])
                      AS c (id, change, reason, pause, since)
             WHERE ds.id = c.id
               AND (c.change <> 'open' OR ds.last_error_at IS NULL OR ds.last_error_at < c.since)
               AND (c.change <> 'close' OR ds.consecutive_failures > 0 OR ds.last_error IS NOT NULL)
             RETURNING ds.id, c.change = 'close' AND ds.paused_until IS NULL AS reopened
         ), released AS (
             -- A circuit that closes lets its deliveries waiting for their own retry go now:
             -- the backlog drains at the pace the limit allows, not at each one's backoff.
             UPDATE deliveries SET next_attempt_at = now()
             WHERE destination_id IN (SELECT id FROM changed WHERE reopened)
               AND state = 'pending' AND ready AND next_attempt_at > now()
         )
         SELECT destination_id, ordering_key, event_id, state = 'delivered' AS delivered FROM done",
        hand_over = hand_over_sql(
            "(SELECT destination_id, ordering_key, event_id FROM done WHERE state = 'delivered')"
        ),
    )))
    .bind(&outcomes.ids)
    .bind(&outcomes.leases)
    .bind(&outcomes.written)
    .bind(&outcomes.statuses)
    .bind(&outcomes.errors)
    .bind(&outcomes.delays)
    .bind(&outcomes.destinations)
    .bind(&outcomes.changes)
    .bind(&outcomes.reasons)
    .bind(probe_base.as_secs_f64())
    .bind(probe_cap.as_secs_f64())
    .bind(&outcomes.pauses)
    .bind(&outcomes.failing_since)
    .fetch_all(pool)
    .await?;
    let written = recorded.len();
    let mut heads = DeliveredHeads::default();
    for head in recorded.into_iter().filter(|head| head.delivered) {
        heads.destinations.push(head.destination_id);
        heads.keys.push(head.ordering_key);
        heads.events.push(head.event_id);
    }
    Ok((heads, written))
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

/// Hands over the queues of heads already recorded as delivered, in a statement that starts
/// after that commit: it sees every delivery committed before, and one committing later is
/// caught by [`mark_queue_heads`]. How many it readied.
pub async fn hand_over(pool: &PgPool, heads: &DeliveredHeads) -> Result<u64, sqlx::Error> {
    if heads.events.is_empty() {
        return Ok(0);
    }
    let handed = sqlx::query(sqlx::AssertSqlSafe(hand_over_sql(
        "unnest($1::bigint[], $2::text[], $3::bigint[])",
    )))
    .bind(&heads.destinations)
    .bind(&heads.keys)
    .bind(&heads.events)
    .execute(pool)
    .await?;
    Ok(handed.rows_affected())
}

/// The worker's own connections. Leases and outcomes are bookkeeping a PostgreSQL crash may
/// lose without losing an event: a lost lease lets the delivery be claimed again, and the
/// worker writes the outcomes of its last seconds again when it sees the server restarted
/// (see `Deliverer`). So they commit without waiting for the WAL flush, which is what lets
/// delivery keep up with the shop's own commits. A shopbridge crash loses nothing: the
/// commit has reached PostgreSQL.
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
///
/// A kept plan is made with the tables' size at that moment: one made while `deliveries`
/// was empty thinks every index costs the same and may walk the whole event index for each
/// claim (100 ms claims in a backlog of 16,000, measured; a third of a full partner's
/// capacity delivered). So [`refresh_plans`] drops them: a plan follows the table's size
/// within [`PLANS_LAST`], whether or not ANALYZE has run.
pub fn bookkeeping_pool(pool: &PgPool) -> PgPool {
    let options = pool.connect_options().as_ref().clone().options([
        ("synchronous_commit", "off"),
        ("enable_seqscan", "off"),
        ("enable_bitmapscan", "off"),
        ("jit", "off"),
        ("plan_cache_mode", "force_generic_plan"),
    ]);
    PgPoolOptions::new()
        .max_connections(BOOKKEEPING_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options)
}

const BOOKKEEPING_CONNECTIONS: u32 = 4;

/// How long the plans the worker's connections keep last.
const PLANS_LAST: Duration = Duration::from_secs(5);

/// Drops the kept plans of one connection of [`bookkeeping_pool`] at a time, the one idle
/// longest, so that each connection's plans last about [`PLANS_LAST`]. It runs beside the
/// worker, not in its path: the next statement on that connection is planned again (one
/// round trip), where replacing the connection (its login, its settings) would delay the
/// delivery that happened to need it, which showed in the p99 latency.
pub async fn refresh_plans(pool: PgPool) {
    let mut every = tokio::time::interval(PLANS_LAST / BOOKKEEPING_CONNECTIONS);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let mut connection = match pool.acquire().await {
            Ok(connection) => connection,
            // The worker reports an unreachable database.
            Err(_) => continue,
        };
        if let Err(error) = connection.clear_cached_statements().await {
            log::warn!("event delivery: dropping kept plans: {error}");
            connection.close_on_drop();
        }
    }
}

/// Marks ready every pending delivery with nothing open before it: for queues whose head
/// was delivered by a process that stopped before its recheck.
pub async fn repair_queue_heads(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let (marked, _) = mark_queue_heads(pool, Some(0)).await?;
    Ok(marked)
}

/// Marks ready the pending deliveries of transactions from `since` on (none if `None`) that
/// have no open delivery of their key before them; how many, and the horizon of the
/// statement's snapshot: every transaction before it had finished when it looked. One index
/// probe per delivery, whatever the planner's statistics say (a join here goes quadratic on
/// a table just filled); it looks backwards from the delivery, so one queued behind others
/// stops at its predecessor instead of walking the key's finished deliveries from the start.
pub async fn mark_queue_heads(
    pool: &PgPool,
    since: Option<i64>,
) -> Result<(i64, i64), sqlx::Error> {
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
    crate::db::delete_in_batches(
        pool,
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
             LIMIT $2)",
        retention,
    )
    .await
}

/// A later delivery of the same ordering key waits behind `delivery`: a kind that sends
/// an entity's state as it is then may answer [`Outcome::Superseded`](super::kind::Outcome).
pub async fn superseded(pool: &PgPool, delivery: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM deliveries me
             JOIN deliveries later ON later.destination_id = me.destination_id
                                  AND later.ordering_key = me.ordering_key
                                  AND later.event_id > me.event_id
             WHERE me.id = $1 AND later.state = 'pending')",
    )
    .bind(delivery)
    .fetch_one(pool)
    .await
}

/// The event `id` as a destination would receive it, outside any delivery (a dry run's
/// input).
pub async fn as_delivery(
    pool: &PgPool,
    id: i64,
) -> Result<Option<super::kind::Delivery>, sqlx::Error> {
    sqlx::query_as(
        "SELECT 0::bigint AS delivery_id, id AS event_id, 0 AS attempts, name, entity_type,
                entity_id, payload::text AS payload, occurred_at, coalesce(cause, '{}') AS cause
         FROM events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}
