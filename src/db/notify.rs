//! NOTIFY after commit: announces work committed for the workers listening on a channel.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{watch, Notify};

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
    wanted: Arc<Notify>,
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
    pub async fn run(self, pool: PgPool, mut stop: watch::Receiver<bool>) {
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

/// Sends one NOTIFY on `channel`; a failure is logged (the workers poll as well).
pub async fn notify(pool: &PgPool, channel: &str) {
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
