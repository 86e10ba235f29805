//! How many deliveries this process keeps in flight to one destination: adapted to what the
//! destination takes, as TCP adapts its window. A full partner is not a down partner.
//!
//! - **A gradient on the answer time** (Netflix concurrency-limits' Gradient, after TCP
//!   Vegas). While at least half of the limit is in use, each timed good answer moves it
//!   towards `limit × fastest / recent + queue`, a quarter of the way per round trip:
//!   `fastest` the quickest answer of the last [`FASTEST_WINDOW`]s (the partner's time with
//!   nothing waiting), `recent` the answers' moving average, `queue` what may wait at the
//!   partner ([`queue`]). Below the partner's capacity answers take their usual time and
//!   the limit grows by about `queue` / 4 per round trip, up to `DELIVERY_CONCURRENCY`.
//!   Past it, requests wait in the partner's queue, `recent` rises, and the limit settles
//!   where about `queue` of them wait.
//! - **Paced, and under a ceiling.** A batch's requests leave a round trip over the limit
//!   apart ([`Limiter::spacing`]), so a partner with a short accept queue gets them as its
//!   answers free room, not as a burst. An answer that took far longer than usual
//!   ([`QUEUED`]: a full accept queue drops a connection, which TCP tries again a second
//!   later, unseen until then) sets a ceiling a tenth under the requests that were out when
//!   it was sent; the ceiling rises by one each [`CEILING_PROBE`].
//! - **Multiplicative decrease.** A transient failure (refused connection, timeout, 429,
//!   5xx), or such a queued answer, cuts the limit to [`DECREASE`] of itself, once per
//!   round: outcomes of requests sent before the last cut were sent at the old limit and do
//!   not cut again.
//! - **Down, not full.** When every request that was out at a failure fails too, with no
//!   good answer among them, the destination is down: the caller opens its circuit
//!   (pause and probe, shared by every process). A full partner answers some requests of
//!   each round, so its circuit stays closed and only the limit moves. The first good
//!   answer after that starts the limit over, at [`INITIAL`]: a partner that was down is
//!   back, not full.

use std::time::{Duration, Instant};

/// What a cut keeps of the limit: a full partner is kept between 90 % and all of what it
/// takes. TCP keeps a half (Reno) or 70 % (CUBIC) because a lost packet is costly and
/// the loss is only inferred; a partner's 503 is an answer in a millisecond, so a smaller
/// cut costs a few more refusals (about 1 % of the requests, measured) for a tenth more
/// delivered (85 % of a full partner's capacity against 65-76 % at 0.8).
const DECREASE: f64 = 0.9;

/// The limit a destination starts at, as TCP starts its window at ten segments (RFC 6928):
/// a quiet shop's burst goes out at once, and a partner of unknown capacity is not flooded.
const INITIAL: f64 = 10.0;

/// An answer that took more than this many times the usual, and a quarter of a second more,
/// waited in a queue.
const QUEUED: (f64, Duration) = (3.0, Duration::from_millis(250));

/// How often the ceiling a queued answer set rises by one, to find out whether the partner
/// takes more now.
const CEILING_PROBE: Duration = Duration::from_secs(1);

/// How much each answer moves the usual time an answer takes.
const USUAL_WEIGHT: f64 = 1.0 / 32.0;

/// How much each answer moves `recent`, the time the gradient compares with the fastest: a
/// round of eight answers, so one slow answer does not cut the limit.
const RECENT_WEIGHT: f64 = 1.0 / 8.0;

/// How far a round trip's answers move the limit towards the gradient's: a quarter of the
/// way, so the limit neither overshoots a capacity it approaches nor, at a partner that
/// turns away what it cannot take, draws more refusals than a tenth's cut saves.
const SMOOTHING: f64 = 0.25;

/// The fastest answer is the quickest of the last one or two windows of this long: a
/// partner that became slower for good is its new self within two windows.
const FASTEST_WINDOW: Duration = Duration::from_secs(10);

/// How many requests may wait at the partner at a limit: four, or the square root of the
/// limit (Netflix's choice) for a partner that takes many at once, so that jitter in its
/// answer times does not hold the limit below what it takes.
fn queue(limit: f64) -> f64 {
    limit.sqrt().max(4.0)
}

/// The quickest answer of the current window and of the one before it.
#[derive(Debug, Default)]
struct Fastest {
    current: Option<Duration>,
    previous: Option<Duration>,
    since: Option<Instant>,
}

impl Fastest {
    fn record(&mut self, took: Duration, now: Instant) -> Duration {
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) >= FASTEST_WINDOW {
            self.previous = self.current.take();
            self.since = Some(now);
        }
        let current = self.current.map_or(took, |c| c.min(took));
        self.current = Some(current);
        self.previous.map_or(current, |p| p.min(current))
    }
}

#[derive(Debug)]
pub struct Limiter {
    max: f64,
    limit: f64,
    /// Requests holding a slot: sent, and not yet answered (with a limit of one, not yet
    /// recorded, so the next claim sees the previous outcome and one destination's events
    /// go out in commit order across keys).
    in_flight: usize,
    /// Requests sent and not yet answered.
    unanswered: usize,
    /// Batches sent so far; a request carries the count at its batch.
    sent: u64,
    /// Bumped at each cut; a request remembers the round it was sent in.
    round: u64,
    /// Since a failure with no good answer after it: the last batch sent at that failure,
    /// and how many requests up to that batch have not come back yet.
    streak: Option<(u64, usize)>,
    /// Below the requests that were out when an answer waited in the partner's queue (a
    /// full accept queue drops a connection, which TCP tries again a second later): the
    /// limit stays under it, and it rises by one each [`CEILING_PROBE`].
    ceiling: f64,
    ceiling_since: Option<Instant>,
    /// The last verdict was [`Verdict::Down`] and no good answer came since.
    down: bool,
    /// How long an answer usually takes (a slow moving average).
    usual: Option<Duration>,
    /// How long the last answers took (a quick moving average).
    recent: Option<Duration>,
    fastest: Fastest,
}

/// What a request was sent as.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    round: u64,
    batch: u64,
    /// Requests out once it was sent.
    out: usize,
}

/// What a failure means for the destination.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some of its requests still go through, or may: only the limit moved.
    Full,
    /// Every request that was out at a failure failed too: open the circuit.
    Down,
}

impl Limiter {
    /// Starts at [`INITIAL`], so a partner of unknown capacity is not flooded: the limit
    /// grows by about one per good answer while the answers take no longer.
    pub fn new(max: usize) -> Self {
        Limiter {
            max: max as f64,
            limit: INITIAL.min(max as f64),
            in_flight: 0,
            unanswered: 0,
            sent: 0,
            round: 0,
            streak: None,
            ceiling: max as f64,
            ceiling_since: None,
            down: false,
            usual: None,
            recent: None,
            fastest: Fastest::default(),
        }
    }

    /// Requests that may start now.
    pub fn free(&self) -> usize {
        (self.limit.floor() as usize).saturating_sub(self.in_flight)
    }

    pub fn limit(&self) -> usize {
        self.limit.floor() as usize
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The time between two sends of one batch: a round trip over the limit, so a batch
    /// reaches the partner as its answers free room, not as a burst its accept queue may not
    /// hold.
    pub fn spacing(&self) -> Duration {
        self.recent
            .map_or(Duration::ZERO, |recent| recent.div_f64(self.limit.max(1.0)))
    }

    fn holds_until_recorded(&self) -> bool {
        self.max <= 1.0
    }

    /// `n` requests started as one batch; the ticket each carries.
    pub fn started(&mut self, n: usize) -> Ticket {
        self.started_at(n, Instant::now())
    }

    fn started_at(&mut self, n: usize, now: Instant) -> Ticket {
        self.in_flight += n;
        self.unanswered += n;
        self.sent += 1;
        self.ceiling_since.get_or_insert(now);
        Ticket {
            round: self.round,
            batch: self.sent,
            out: self.unanswered,
        }
    }

    /// `n` outcomes are recorded: with a limit of one, their slots are free now.
    pub fn finished(&mut self, n: usize) {
        if self.holds_until_recorded() {
            self.in_flight = self.in_flight.saturating_sub(n);
        }
    }

    fn came_back(&mut self) {
        self.unanswered = self.unanswered.saturating_sub(1);
        if !self.holds_until_recorded() {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
    }

    /// A send that made no request (superseded): its slot is free, and it says nothing of
    /// the destination.
    pub fn skipped(&mut self) {
        self.came_back();
    }

    /// A request came back with an answer the destination meant (delivered, refused,
    /// misconfigured): it is up and took the request.
    pub fn answered(&mut self, ticket: Ticket, took: Duration) {
        self.answered_at(ticket, took, Instant::now());
    }

    fn answered_at(&mut self, ticket: Ticket, took: Duration, now: Instant) {
        self.good(ticket, Some((took, now)));
    }

    /// A good answer whose time says nothing of the partner's load: the send waited for a
    /// request limit first (a paced kind). It grows the limit as any good answer does and
    /// never cuts it.
    pub fn answered_paced(&mut self, ticket: Ticket) {
        self.good(ticket, None);
    }

    fn good(&mut self, ticket: Ticket, took: Option<(Duration, Instant)>) {
        let used = self.unanswered as f64 >= self.limit / 2.0;
        self.came_back();
        self.streak = None;
        if std::mem::take(&mut self.down) {
            self.limit = INITIAL.min(self.max);
        }
        let Some((took, now)) = took else {
            if used {
                self.limit = (self.limit + 1.0).min(self.max);
            }
            return;
        };
        let usual = self.usual.unwrap_or(took);
        self.usual = Some(usual.mul_f64(1.0 - USUAL_WEIGHT) + took.mul_f64(USUAL_WEIGHT));
        if took > usual.mul_f64(QUEUED.0) + QUEUED.1 {
            // Left out of `recent`: one such answer cuts once, not once per answer while
            // the average forgets it.
            self.ceiling = self.ceiling.min(ticket.out as f64 * DECREASE).max(1.0);
            self.ceiling_since = Some(now);
            self.cut(ticket);
            self.limit = self.limit.min(self.ceiling);
            return;
        }
        let recent = self.recent(took);
        if !used {
            return;
        }
        if self
            .ceiling_since
            .is_some_and(|since| now.duration_since(since) >= CEILING_PROBE)
        {
            self.ceiling = (self.ceiling + 1.0).min(self.max);
            self.ceiling_since = Some(now);
        }
        let fastest = self.fastest.record(took, now);
        let gradient = (fastest.as_secs_f64() / recent.as_secs_f64().max(1e-6)).clamp(0.5, 1.0);
        let target = self.limit * gradient + queue(self.limit);
        self.limit = (self.limit + (target - self.limit) * SMOOTHING / self.limit)
            .min(self.ceiling)
            .clamp(1.0, self.max);
    }

    /// The answers' moving average, this one included.
    fn recent(&mut self, took: Duration) -> Duration {
        let recent = self.recent.map_or(took, |recent| {
            recent.mul_f64(1.0 - RECENT_WEIGHT) + took.mul_f64(RECENT_WEIGHT)
        });
        self.recent = Some(recent);
        recent
    }

    /// Cuts the limit, unless it was cut since the request was sent.
    fn cut(&mut self, ticket: Ticket) {
        if ticket.round == self.round {
            self.limit = (self.limit * DECREASE).max(1.0);
            self.round += 1;
        }
    }

    /// A request failed transiently.
    pub fn failed(&mut self, ticket: Ticket) -> Verdict {
        let (mark, left) = *self.streak.get_or_insert((self.sent, self.unanswered));
        let left = match ticket.batch <= mark {
            true => left.saturating_sub(1),
            false => left,
        };
        self.streak = Some((mark, left));
        self.came_back();
        self.cut(ticket);
        match left {
            0 => {
                self.streak = None;
                self.down = true;
                Verdict::Down
            }
            _ => Verdict::Full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long the partner of these tests usually takes to answer.
    const USUAL: Duration = Duration::from_millis(50);

    /// `answers` good answers with the window kept full, as a backlog keeps it.
    /// The ticket of the requests left out.
    fn busy(limiter: &mut Limiter, answers: usize) -> Ticket {
        let mut ticket = limiter.started(limiter.free());
        for _ in 0..answers {
            limiter.answered(ticket, USUAL);
            ticket = limiter.started(limiter.free());
        }
        ticket
    }

    #[test]
    fn answers_in_their_usual_time_grow_the_limit_by_a_quarter_of_the_queue_per_round() {
        let mut limiter = Limiter::new(64);
        assert_eq!(limiter.limit(), 10, "a burst of ten goes out at once");
        busy(&mut limiter, 12);
        assert_eq!(limiter.limit(), 11, "one more after a round of ten");
        busy(&mut limiter, 5000);
        assert_eq!(limiter.limit(), 64, "up to the maximum");
        let ticket = limiter.started(0);
        limiter.failed(ticket);
        assert_eq!(limiter.limit(), (64.0 * DECREASE) as usize);
    }

    /// A partner taking `capacity` at once, `USUAL` each: past that, requests wait their
    /// turn and answers take longer in proportion (Little's law). The limit after `answers`
    /// with the window kept full.
    fn at_capacity(limiter: &mut Limiter, capacity: usize, answers: usize) -> usize {
        let mut now = Instant::now();
        for _ in 0..answers {
            let ticket = limiter.started(limiter.free());
            let out = limiter.in_flight() as f64;
            let took = USUAL.mul_f64((out / capacity as f64).max(1.0));
            now += took.div_f64(out);
            limiter.answered_at(ticket, took, now);
        }
        limiter.limit()
    }

    #[test]
    fn at_a_partners_capacity_the_limit_settles_with_a_few_requests_waiting() {
        let mut limiter = Limiter::new(128);
        let limit = at_capacity(&mut limiter, 30, 2000);
        assert!(
            (30..=37).contains(&limit),
            "all 30 busy, and fewer than a backlog of 8 waiting: {limit}"
        );
        let mut large = Limiter::new(1024);
        let limit = at_capacity(&mut large, 400, 60_000);
        assert!((400..=450).contains(&limit), "{limit}");
    }

    #[test]
    fn a_partner_that_became_slower_for_good_is_not_held_under_its_capacity() {
        let mut limiter = Limiter::new(128);
        at_capacity(&mut limiter, 30, 2000);
        let mut now = Instant::now() + Duration::from_secs(5);
        let slower = USUAL * 2;
        let mut lowest = usize::MAX;
        for _ in 0..20_000 {
            let ticket = limiter.started(limiter.free());
            let out = limiter.in_flight() as f64;
            let took = slower.mul_f64((out / 30.0).max(1.0));
            now += took.div_f64(out);
            limiter.answered_at(ticket, took, now);
            lowest = lowest.min(limiter.limit());
        }
        assert!(lowest < 30, "slower at first looks like a queue: {lowest}");
        assert!(
            limiter.limit() >= 30,
            "within two windows the new time is the partner's own: {}",
            limiter.limit()
        );
    }

    #[test]
    fn a_limit_that_is_not_used_does_not_grow() {
        let mut limiter = Limiter::new(64);
        busy(&mut limiter, 7);
        let ticket = limiter.started(0);
        while limiter.in_flight() > 0 {
            limiter.answered(ticket, USUAL);
        }
        let before = limiter.limit();
        for _ in 0..100 {
            let ticket = limiter.started(1);
            limiter.answered(ticket, USUAL);
        }
        assert_eq!(
            limiter.limit(),
            before,
            "one request at a time proves nothing more"
        );
    }

    #[test]
    fn answers_that_waited_in_the_partners_queue_cut_the_limit_once_per_round() {
        let mut limiter = Limiter::new(100);
        let ticket = busy(&mut limiter, 20_000);
        let queued = USUAL * 3 + Duration::from_millis(300);
        limiter.answered(ticket, queued);
        limiter.answered(ticket, queued);
        let cut = (100.0 * DECREASE) as usize;
        assert_eq!(
            limiter.limit(),
            cut,
            "a connection that waited is a full partner"
        );
        let later = limiter.started(0);
        limiter.answered(later, USUAL * 2);
        assert!(
            limiter.limit() + 1 >= cut,
            "a slower answer is not a queue: {}",
            limiter.limit()
        );
    }

    #[test]
    fn a_connection_the_partner_dropped_sets_a_ceiling_that_rises_by_one_each_second() {
        let mut limiter = Limiter::new(128);
        let mut now = Instant::now();
        let mut ticket = limiter.started_at(limiter.free(), now);
        for _ in 0..20_000 {
            now += Duration::from_millis(1);
            limiter.answered_at(ticket, USUAL, now);
            ticket = limiter.started_at(limiter.free(), now);
        }
        assert_eq!(limiter.limit(), 128);
        let dropped = limiter.started_at(0, now);
        // TCP tried the connection again a second later.
        now += Duration::from_secs(1);
        limiter.answered_at(dropped, Duration::from_secs(1), now);
        let ceiling = (dropped.out as f64 * DECREASE) as usize;
        assert_eq!(
            limiter.limit(),
            ceiling,
            "under what was out when it was sent"
        );
        for _ in 0..3500 {
            now += Duration::from_millis(1);
            limiter.answered_at(ticket, USUAL, now);
            ticket = limiter.started_at(limiter.free(), now);
        }
        assert_eq!(limiter.limit(), ceiling + 3, "one more each second");
    }

    #[test]
    fn a_batch_leaves_a_round_trip_over_the_limit_apart() {
        let mut limiter = Limiter::new(128);
        assert_eq!(limiter.spacing(), Duration::ZERO, "no answer yet: at once");
        let ticket = limiter.started(1);
        limiter.answered(ticket, USUAL);
        assert_eq!(limiter.spacing(), USUAL / 10);
    }

    #[test]
    fn paced_answers_grow_the_limit_however_long_they_waited() {
        let mut limiter = Limiter::new(128);
        let mut ticket = limiter.started(limiter.free());
        for _ in 0..118 {
            limiter.answered_paced(ticket);
            ticket = limiter.started(limiter.free());
        }
        assert_eq!(
            limiter.limit(),
            128,
            "waiting for a request limit is not a queue"
        );
    }

    #[test]
    fn failures_of_one_round_cut_the_limit_once() {
        let mut limiter = Limiter::new(100);
        busy(&mut limiter, 20_000);
        assert_eq!(limiter.limit(), 100);
        let ticket = limiter.started(0);
        for _ in 0..10 {
            assert_eq!(limiter.failed(ticket), Verdict::Full);
        }
        assert_eq!(limiter.limit(), (100.0 * DECREASE) as usize);
        let later = limiter.started(1);
        limiter.failed(later);
        assert_eq!(limiter.limit(), (100.0 * DECREASE * DECREASE) as usize);
    }

    #[test]
    fn a_partner_shedding_fast_while_it_works_on_the_rest_is_full_not_down() {
        let mut limiter = Limiter::new(100);
        let ten = busy(&mut limiter, 9);
        // Ten out; more sent and shed at once while the ten take their time.
        for _ in 0..50 {
            let ticket = limiter.started(1);
            assert_eq!(limiter.failed(ticket), Verdict::Full);
        }
        limiter.answered(ten, USUAL);
        let ticket = limiter.started(1);
        assert_eq!(limiter.failed(ticket), Verdict::Full);
    }

    #[test]
    fn a_round_with_only_failures_is_a_down_partner() {
        let mut limiter = Limiter::new(4);
        busy(&mut limiter, 3);
        assert_eq!(limiter.in_flight(), 4);
        let ticket = limiter.started(0);
        assert_eq!(limiter.failed(ticket), Verdict::Full);
        assert_eq!(limiter.failed(ticket), Verdict::Full);
        limiter.answered(ticket, USUAL);
        let ticket = limiter.started(2);
        assert_eq!(limiter.failed(ticket), Verdict::Full);
        assert_eq!(limiter.failed(ticket), Verdict::Full);
        assert_eq!(
            limiter.failed(ticket),
            Verdict::Down,
            "all three out failed"
        );
        assert_eq!(limiter.in_flight(), 0);
    }

    #[test]
    fn a_quiet_destination_is_down_at_its_first_failure_and_starts_over_when_back() {
        let mut limiter = Limiter::new(100);
        let ticket = limiter.started(1);
        assert_eq!(limiter.failed(ticket), Verdict::Down);
        let ticket = limiter.started(1);
        limiter.answered(ticket, USUAL);
        assert_eq!(limiter.limit(), 10, "back at the start");
        busy(&mut limiter, 40);
        assert!(limiter.limit() > 12, "and growing: {}", limiter.limit());
    }

    #[test]
    fn with_a_limit_of_one_the_slot_is_held_until_the_outcome_is_recorded() {
        let mut limiter = Limiter::new(1);
        let ticket = limiter.started(1);
        limiter.answered(ticket, USUAL);
        assert_eq!(limiter.free(), 0);
        limiter.finished(1);
        assert_eq!(limiter.free(), 1);
    }
}
