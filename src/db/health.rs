//! Whether the database answers, watched from a connection of its own. While it does not,
//! requests that need it are answered at once, and those under way when it goes, as soon as
//! that is seen, instead of each waiting for the pool's timeout.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::{watch, Mutex};

/// How often the database is asked, and how long an answer may take.
const EVERY: Duration = Duration::from_millis(500);
const WITHIN: Duration = Duration::from_secs(1);
/// Slow answers in a row that count as down (a refused or broken connection counts at once).
const SLOW_IN_A_ROW: u32 = 2;

pub struct DatabaseHealth {
    options: PgConnectOptions,
    /// Its own connection, so the watch never waits behind requests for the pool, and a
    /// refused connection shows at once (a pool retries it until its timeout).
    connection: Mutex<Option<PgConnection>>,
    up: watch::Sender<bool>,
}

impl DatabaseHealth {
    /// Watches the database `pool` uses; up until a check says otherwise.
    pub fn beside(pool: &PgPool) -> Self {
        DatabaseHealth {
            options: (*pool.connect_options()).clone(),
            connection: Mutex::new(None),
            up: watch::Sender::new(true),
        }
    }

    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Resolves once the database is seen down.
    pub async fn gone(&self) {
        let mut up = self.up.subscribe();
        let _ = up.wait_for(|up| !*up).await;
    }

    /// Whether every migration is applied, within a second however long the database
    /// takes; `None` when it did not answer in time.
    pub async fn migrations_applied(&self) -> Option<Result<bool, sqlx::Error>> {
        tokio::time::timeout(WITHIN, async {
            let mut connection = self.connection.lock().await;
            let checked = match connection.as_mut() {
                Some(connection) => super::migrations_applied(connection).await,
                None => {
                    let mut fresh = self.options.connect().await?;
                    let checked = super::migrations_applied(&mut fresh).await;
                    *connection = Some(fresh);
                    checked
                }
            };
            if checked.is_err() {
                *connection = None;
            }
            checked
        })
        .await
        .ok()
    }

    /// One check: `Some(true)` answered, `Some(false)` refused or broken, `None` slow.
    async fn check(&self) -> Option<bool> {
        tokio::time::timeout(WITHIN, async {
            let mut connection = self.connection.lock().await;
            if connection.is_none() {
                *connection = self.options.connect().await.ok();
            }
            let answered = match connection.as_mut() {
                Some(connection) => connection.ping().await.is_ok(),
                None => false,
            };
            if !answered {
                *connection = None;
            }
            answered
        })
        .await
        .ok()
    }

    /// Asks the database every half second until `stop`.
    pub async fn watch(&self, mut stop: watch::Receiver<bool>) {
        let mut slow = 0;
        loop {
            let up = match self.check().await {
                Some(answered) => {
                    slow = 0;
                    answered
                }
                None => {
                    slow += 1;
                    slow < SLOW_IN_A_ROW
                }
            };
            if self.up.send_replace(up) != up {
                match up {
                    true => log::info!("the database answers again"),
                    false => log::warn!("the database does not answer: requests get 503"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }
}
