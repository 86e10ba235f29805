//! How many deliveries this process keeps in flight to one destination: adapted to what the
//! destination takes, as TCP adapts its window. A full partner is not a down partner.
//!
//! - **Slow start, then additive increase.** From [`INITIAL`], while answers are good the
//!   limit grows by one per answer (doubling each round trip) up to the threshold, then by
//!   one per round trip, up to `DELIVERY_CONCURRENCY`; only while at least half of it is
//!   in use, so a quiet spell does not grow a limit the partner never proved it takes.
//! - **Multiplicative decrease.** A transient failure (refused connection, timeout, 429,
//!   5xx), or an answer that took far longer than usual ([`QUEUED`]: a partner whose listen
//!   backlog overflows drops connections silently, so the client sees only a slow connect),
//!   cuts the limit to [`DECREASE`] of itself, once per round: outcomes of requests sent
//!   before the last cut were sent at the old limit and do not cut again.
//! - **Down, not full.** When every request that was out at a failure fails too, with no
//!   good answer among them, the destination is down: the caller opens its circuit
//!   (pause and probe, shared by every process). A full partner answers some requests of
//!   each round, so its circuit stays closed and only the limit moves. The first good
//!   answer after that starts the limit over, at [`INITIAL`] in slow start towards the
//!   maximum: a partner that was down is back, not full.

use std::time::Duration;

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

/// How much each answer moves the usual time an answer takes.
const USUAL_WEIGHT: f64 = 1.0 / 32.0;

#[derive(Debug)]
pub struct Limiter {
    max: f64,
    limit: f64,
    threshold: f64,
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
    /// The last verdict was [`Verdict::Down`] and no good answer came since.
    down: bool,
    /// How long an answer usually takes (a moving average).
    usual: Option<Duration>,
}

/// What a request was sent as.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    round: u64,
    batch: u64,
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
    /// Starts in slow start at one request, so a partner of unknown capacity is not
    /// flooded: the limit doubles each round trip while answers are good.
    pub fn new(max: usize) -> Self {
        Limiter {
            max: max as f64,
            limit: INITIAL.min(max as f64),
            threshold: max as f64,
            in_flight: 0,
            unanswered: 0,
            sent: 0,
            round: 0,
            streak: None,
            down: false,
            usual: None,
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

    fn holds_until_recorded(&self) -> bool {
        self.max <= 1.0
    }

    /// `n` requests started as one batch; the ticket each carries.
    pub fn started(&mut self, n: usize) -> Ticket {
        self.in_flight += n;
        self.unanswered += n;
        self.sent += 1;
        Ticket {
            round: self.round,
            batch: self.sent,
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
        self.good(ticket, Some(took));
    }

    /// A good answer whose time says nothing of the partner's load: the send waited for a
    /// request limit first (a paced kind). It grows the limit as any good answer does and
    /// never cuts it.
    pub fn answered_paced(&mut self, ticket: Ticket) {
        self.good(ticket, None);
    }

    fn good(&mut self, ticket: Ticket, took: Option<Duration>) {
        let used = self.unanswered as f64 >= self.limit / 2.0;
        self.came_back();
        self.streak = None;
        if std::mem::take(&mut self.down) {
            self.limit = INITIAL.min(self.max);
            self.threshold = self.max;
        }
        if let Some(took) = took {
            let usual = self.usual.unwrap_or(took);
            self.usual = Some(usual.mul_f64(1.0 - USUAL_WEIGHT) + took.mul_f64(USUAL_WEIGHT));
            if took > usual.mul_f64(QUEUED.0) + QUEUED.1 {
                self.cut(ticket);
                return;
            }
        }
        if used {
            self.limit = match self.limit < self.threshold {
                true => self.limit + 1.0,
                false => self.limit + 1.0 / self.limit,
            }
            .min(self.max);
        }
    }

    /// Cuts the limit, unless it was cut since the request was sent.
    fn cut(&mut self, ticket: Ticket) {
        if ticket.round == self.round {
            self.limit = (self.limit * DECREASE).max(1.0);
            self.threshold = self.limit;
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
    fn good_answers_grow_the_limit_fast_then_by_one_per_round() {
        let mut limiter = Limiter::new(64);
        assert_eq!(limiter.limit(), 10, "a burst of ten goes out at once");
        busy(&mut limiter, 22);
        assert_eq!(limiter.limit(), 32, "one more per answer in slow start");
        let ticket = limiter.started(0);
        limiter.failed(ticket);
        let cut = (32.0 * DECREASE) as usize;
        assert_eq!(limiter.limit(), cut);
        busy(&mut limiter, cut + 1);
        assert_eq!(
            limiter.limit(),
            cut + 1,
            "one more per round once past the threshold"
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
        let ticket = busy(&mut limiter, 99);
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
        assert_eq!(limiter.limit(), cut, "a slower answer is not a queue");
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
        busy(&mut limiter, 99);
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
        busy(&mut limiter, 6);
        assert_eq!(limiter.limit(), 16, "and in slow start");
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
