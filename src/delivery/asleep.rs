//! The sign a delivery worker hangs out before it sleeps, so writers notify only then.
//!
//! A NOTIFY makes concurrent writers commit one at a time (migration
//! `20261123000008_notify_only_sleeping_workers.sql`), and a busy worker does not need it. The
//! sign is a session advisory lock: held exclusively while the worker sleeps, so writers'
//! shared try fails and they notify; let go while it is busy, so they do not. Taking it
//! waits for the writers that committed unannounced, and the worker looks once more after
//! each grant, so nothing committed meanwhile waits for the poll.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgPool};
use tokio::sync::{watch, Notify};

/// The advisory lock key writers try in `record_event()`: 'SHOPWAKE'.
const ASLEEP_LOCK: i64 = 6_001_133_709_951_060_805;
/// How often a held lock's connection is checked: if it died, so did the lock, and writers
/// no longer notify.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What the worker wants the sign to say.
pub struct AsleepSign {
    asleep: watch::Sender<bool>,
}

impl AsleepSign {
    /// Keeps the sign on its own connection until dropped. `wake` is told whenever writers
    /// may have committed unannounced: after each grant and after a lost connection.
    pub fn hang(pool: PgPool, wake: Arc<Notify>) -> AsleepSign {
        let (asleep, wanted) = watch::channel(false);
        tokio::spawn(keep(pool, wanted, wake));
        AsleepSign { asleep }
    }

    /// Asleep: writers notify from now on. Awake: the worker promises another round after
    /// the work it just claimed, which finds what they commit meanwhile.
    pub fn set(&self, asleep: bool) {
        self.asleep
            .send_if_modified(|now| std::mem::replace(now, asleep) != asleep);
    }
}

/// Ends when the sign is dropped; the connection goes with it, and the lock too.
async fn keep(pool: PgPool, mut wanted: watch::Receiver<bool>, wake: Arc<Notify>) {
    loop {
        match keep_on_one_connection(&pool, &mut wanted, &wake).await {
            Ok(()) => return,
            Err(error) => {
                log::warn!("event delivery: the asleep sign's connection failed: {error}")
            }
        }
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `Ok` once the sign is dropped.
async fn keep_on_one_connection(
    pool: &PgPool,
    wanted: &mut watch::Receiver<bool>,
    wake: &Notify,
) -> Result<(), sqlx::Error> {
    let mut connection = pool.acquire().await?.detach();
    loop {
        if !wanted_to_be(wanted, true).await {
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(ASLEEP_LOCK)
            .execute(&mut connection)
            .await?;
        wake.notify_one();
        let kept = loop {
            tokio::select! {
                kept = wanted_to_be(wanted, false) => break kept,
                () = tokio::time::sleep(CHECK_EVERY) => connection.ping().await?,
            }
        };
        if !kept {
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ASLEEP_LOCK)
            .execute(&mut connection)
            .await?;
    }
}

/// Waits until the worker wants the sign to say `asleep`; false once it is dropped.
async fn wanted_to_be(wanted: &mut watch::Receiver<bool>, asleep: bool) -> bool {
    wanted.wait_for(|now| *now == asleep).await.is_ok()
}
