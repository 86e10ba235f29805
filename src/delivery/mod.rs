//! Delivery of the shop event log to its destinations (svix-style: the log is the queue,
//! workers claim with leases, every attempt is recorded).
//!
//! - [`destinations`]: who takes which events, their circuit breaker and status.
//! - [`worker`]: claims due deliveries with short leases, sends many at once, keeps each
//!   ordering key in commit order, records every outcome as it happens.
//! - [`sender`]: how one delivery goes out, per kind of destination (Waymore, webhook).
//! - [`retry`]: backoff with jitter, shared with the mass export.
//! - [`listen`]: LISTEN with reconnection, to wake workers as soon as something commits.
//! - [`asleep`]: the sign a worker hangs out before it sleeps, so writers notify only then.

pub mod asleep;
pub mod destinations;
pub mod listen;
pub mod retry;
pub mod sender;
pub mod worker;

use std::time::Duration;

pub use retry::RetryPolicy;

/// The NOTIFY channel `record_event()` announces new events on.
pub const CHANNEL: &str = "shop_events";

/// Announces work committed for the workers listening on a channel (events that
/// `record_event_unannounced()` recorded, webhooks stored in an inbox), once its transaction
/// has committed: callers ask with [`Announcer::announce`], and one task sends the NOTIFY, so
/// a burst of requests makes one or two notifications, not one each. The NOTIFY is a
/// statement of its own that writes nothing, so it holds PostgreSQL's notification lock
/// only for an instant, not across a commit's WAL flush. If it fails, the workers still
/// find the work at their next poll.
#[derive(Debug, Clone)]
pub struct Announcer {
    channel: &'static str,
    wanted: std::sync::Arc<tokio::sync::Notify>,
}

impl Announcer {
    pub fn new(channel: &'static str) -> Self {
        Announcer {
            channel,
            wanted: Default::default(),
        }
    }

    pub fn announce(&self) {
        self.wanted.notify_one();
    }

    /// Sends the announcements asked for until `stop`, then a last one if one is pending.
    pub async fn run(self, pool: sqlx::PgPool, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.wanted.notified() => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
            notify(&pool, self.channel).await;
        }
        let pending = self.wanted.notified();
        tokio::pin!(pending);
        if pending.as_mut().enable() {
            notify(&pool, self.channel).await;
        }
    }
}

async fn notify(pool: &sqlx::PgPool, channel: &str) {
    if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(pool)
        .await
    {
        log::warn!(
            "{channel}: could not announce new work (it is found at the next poll): {error}"
        );
    }
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Deliveries in flight at once, per destination and process.
    pub concurrency: usize,
    /// Backoff of one delivery's retries and of a failing destination's probes.
    pub retry: RetryPolicy,
    /// How often the log is checked without a notification (safety net).
    pub poll: Duration,
    /// Finished events are deleted this long after they occurred and finished.
    pub retention: Duration,
    /// Timeout of one webhook request.
    pub timeout: Duration,
    /// How long a stopping process waits for its deliveries in flight.
    pub drain_timeout: Duration,
}
