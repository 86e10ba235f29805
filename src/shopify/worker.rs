//! The applier: workers that claim stored webhooks with `FOR UPDATE SKIP LOCKED` and apply
//! them in the transaction that claimed them, so a crash leaves them pending, never half
//! applied. Woken by the inbox's NOTIFY; retries back off; failures stay visible.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::{Connection, PgPool};
use tokio::sync::{watch, Notify};

use super::apply::{self, ApplyError, Webhook};
use super::inbox::{self, Claimed};
use super::mapping::{self, Applied, MappingError, Version};
use super::provider;
use super::topic::Topic;
use crate::configuration::ShopifySettings;
use crate::db::listen::listen;
use crate::db::notify::Announcer;
use crate::providers::live::{Live, Standing};

/// Webhooks a worker claims and applies in one transaction: one commit (one WAL flush) for
/// them all, each in its own savepoint.
const BATCH: i64 = 20;

/// Without a notification, the inbox is still looked at this often (other processes'
/// intake while the LISTEN connection was down, retries coming due).
const POLL: Duration = Duration::from_secs(5);

pub struct Applier {
    pool: PgPool,
    settings: ShopifySettings,
    wake: Arc<Notify>,
    /// Announces the shop events applying recorded, after each commit; without it (the
    /// CLI) the shop triggers announce them in the transaction.
    events: Option<Announcer>,
    /// The configured integrations (its `storeUrl`); without it (the CLI), the settings.
    live: Option<Arc<Live>>,
}

/// What became of one webhook.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(Applied),
    /// Tried again later (a transient error, or waiting for its order).
    Retrying(String),
    Failed(String),
    /// Stored only: the integration's switch for its topic is off.
    Ignored(String),
}

impl Outcome {
    /// The inbox state it leaves the webhook in, and what happened.
    pub fn describe(&self) -> (&'static str, &str) {
        match self {
            Outcome::Applied(applied) => ("applied", applied.summary()),
            Outcome::Retrying(why) => ("pending", why),
            Outcome::Failed(error) => ("failed", error),
            Outcome::Ignored(why) => ("ignored", why),
        }
    }
}

impl Applier {
    pub fn new(
        pool: PgPool,
        settings: ShopifySettings,
        events: Option<Announcer>,
        live: Option<Arc<Live>>,
    ) -> Arc<Self> {
        Arc::new(Applier {
            pool,
            settings,
            wake: Arc::new(Notify::new()),
            events,
            live,
        })
    }

    /// A transaction whose shop events this applier announces after the commit.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.events.is_some() {
            sqlx::query("SELECT set_config('shopbridge.announce', 'after_commit', true)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    async fn commit(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        if let Some(events) = &self.events {
            events.announce();
        }
        Ok(())
    }

    /// Runs `SHOPIFY_APPLY_CONCURRENCY` workers until `stopped`; each finishes the webhook
    /// it is applying.
    pub async fn run(self: Arc<Self>, stopped: watch::Receiver<bool>) {
        if self.settings.apply_concurrency == 0 {
            return;
        }
        let listener = tokio::spawn(listen(self.pool.clone(), inbox::CHANNEL, self.wake.clone()));
        let workers: Vec<_> = (0..self.settings.apply_concurrency)
            .map(|_| tokio::spawn(self.clone().work(stopped.clone())))
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
        listener.abort();
    }

    async fn work(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        while !*stopped.borrow() {
            let wait = match self.apply_next().await {
                Ok(true) => continue,
                Ok(false) => match inbox::next_due(&self.pool).await {
                    Ok(Some(due)) => (due - Utc::now()).to_std().unwrap_or_default().min(POLL),
                    Ok(None) => POLL,
                    Err(e) => {
                        log::warn!("Shopify applier: cannot read the inbox: {e}");
                        POLL
                    }
                },
                Err(e) => {
                    log::warn!("Shopify applier: {e}");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Applies the next due webhooks; false when none is due.
    async fn apply_next(&self) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let claimed = inbox::claim_due(&mut tx, BATCH).await?;
        if claimed.is_empty() {
            return Ok(false);
        }
        // More may be due: let an idle worker look while this one applies.
        self.wake.notify_one();
        for webhook in claimed {
            self.apply_claimed(&mut tx, webhook).await?;
        }
        self.commit(tx).await?;
        Ok(true)
    }

    /// Applies webhook `id` now, whatever its state (the CLI's replay and trials).
    pub async fn apply_now(&self, id: i64) -> Result<Option<Outcome>, sqlx::Error> {
        let mut tx = self.begin().await?;
        let Some(claimed) = inbox::claim(&mut tx, id).await? else {
            return Ok(None);
        };
        let outcome = self.apply_claimed(&mut tx, claimed).await?;
        self.commit(tx).await?;
        Ok(Some(outcome))
    }

    /// Applies in a savepoint of the claiming transaction, and records the outcome in it.
    async fn apply_claimed(
        &self,
        tx: &mut sqlx::PgConnection,
        claimed: Claimed,
    ) -> Result<Outcome, sqlx::Error> {
        let attempt = claimed.attempts as u32 + 1;
        let topic = Topic::named(&claimed.topic);
        if let Some(switch) = topic.and_then(|topic| self.switched_off(topic)) {
            let outcome = format!("stored, not applied: {switch} is off");
            inbox::record_ignored(tx, claimed.id, &outcome).await?;
            return Ok(Outcome::Ignored(outcome));
        }
        let result = match topic {
            Some(topic) => {
                let webhook = Webhook {
                    topic,
                    body: &claimed.body,
                    version: Version {
                        triggered_at: claimed.triggered_at,
                        received_at: claimed.received_at,
                    },
                    store_url: provider::store_url(
                        self.live.as_deref(),
                        &self.settings,
                        claimed.shop_domain.as_deref(),
                    ),
                };
                let mut savepoint = tx.begin().await?;
                match apply::apply(&mut savepoint, &webhook).await {
                    Ok(applied) => {
                        savepoint.commit().await?;
                        Ok(applied)
                    }
                    Err(error) => {
                        savepoint.rollback().await?;
                        Err(error)
                    }
                }
            }
            None => Err(ApplyError::Mapping(MappingError(format!(
                "topic {:?} is not one shopbridge applies",
                claimed.topic
            )))),
        };
        let retry = &self.settings.retry;
        let outcome = match result {
            Ok(Applied::WaitingForOrder(order)) => {
                let retry_in = retry.delay(attempt);
                inbox::record_retry(tx, claimed.id, retry_in, Some(order), None).await?;
                Outcome::Retrying(format!("waiting for order {order}"))
            }
            Ok(applied) => {
                if inbox::record_applied(tx, claimed.id, applied.summary(), applied.wakes_order())
                    .await?
                {
                    self.wake.notify_one();
                }
                Outcome::Applied(applied)
            }
            Err(error) if is_permanent(&error) || attempt >= retry.max_attempts => {
                let message = error.to_string();
                log::warn!(
                    "Shopify webhook {} ({}) failed: {message}",
                    claimed.id,
                    claimed.topic
                );
                inbox::record_failed(tx, claimed.id, &message).await?;
                Outcome::Failed(message)
            }
            Err(error) => {
                let message = error.to_string();
                inbox::record_retry(tx, claimed.id, retry.delay(attempt), None, Some(&message))
                    .await?;
                Outcome::Retrying(message)
            }
        };
        Ok(outcome)
    }

    /// The switch that keeps `topic` from being applied, while the Shopify integration is
    /// configured with it off: `autoImportOrders` for orders (and for fulfillments, unless
    /// `pushTracking` is on), `syncProducts` for products.
    fn switched_off(&self, topic: Topic) -> Option<&'static str> {
        let Standing::Active(configured) = self.live.as_deref()?.lookup(provider::CODE) else {
            return None;
        };
        let on = |name: &str| {
            configured
                .settings
                .get(name)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        match topic {
            Topic::Order(_) if !on(provider::IMPORT_ORDERS) => Some(provider::IMPORT_ORDERS),
            Topic::Fulfillment(_)
                if !on(provider::IMPORT_ORDERS) && !on(provider::PUSH_TRACKING) =>
            {
                Some("autoImportOrders (and pushTracking)")
            }
            Topic::Product(_) | Topic::ProductDeletion if !on(provider::SYNC_PRODUCTS) => {
                Some(provider::SYNC_PRODUCTS)
            }
            _ => None,
        }
    }

    /// Asks an idle worker to look at the inbox (after a reprocess in this process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Errors that trying again cannot fix: the webhook's content does not fit (mapping, or
/// PostgreSQL's data exceptions and constraint violations, such as a product whose handle is
/// already another product's sku). Everything else (deadlocks, a lost connection) is retried.
fn is_permanent(error: &ApplyError) -> bool {
    match error {
        ApplyError::Mapping(_) => true,
        ApplyError::Database(error) => mapping::refuses_content(error),
    }
}
