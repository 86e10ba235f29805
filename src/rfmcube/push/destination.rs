//! The incremental sync: the `rfmcube` destination takes the shop's customer and order
//! events and sends each entity's state as it is when its turn comes.
//!
//! - **Coalesced.** A delivery with a later one of its entity still queued sends nothing
//!   (superseded): the later one sends the state then, which carries both changes.
//! - **One request per slot.** Every send waits for the connector's next slot (60 a
//!   minute, shared by every process); whatever this process has waiting when the slot
//!   comes goes in it. One change alone goes as `merge_customer` / `merge_order`; several
//!   go as one `/import` of the customers they touch, each with all of its orders (guests
//!   by email). So while changes come slower than the slots, each is a merge; once they come
//!   faster (a busy hour, a backlog after an outage) they go in batches of up to
//!   `RFMCUBE_PUSH_BATCH_SIZE`, and a backlog drains at that many entities a slot instead of
//!   one. Per-entity order holds either way: an entity has one delivery out at a time.
//! - **Deletion.** `customer.deleted` becomes `delete_customer` (by id and email), or with
//!   `RFMCUBE_PUSH_ON_DELETE=anonymise` the customer imported again with its email replaced,
//!   so Rfmcube's statistics keep its orders (a consent withdrawn).
//!
//! A merge is recorded as sent once Rfmcube answers; an import once its process completes.
//! Its process is looked at only in a slot no change is waiting for, so the looks do not
//! slow a backlog down; one that failed, or was not looked at before the process stopped,
//! is found and sent again by the consistency check.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::client::{CallError, Connector, Delete, Merge, Progress};
use super::import::{self, Account};
use super::payloads::{self, Selection};
use crate::configuration::{OnDelete, RfmcubePushSettings};
use crate::delivery::kind::{Delivery, DestinationKind, Outcome, Problem, Sending, Target};
use crate::delivery::queue;
use crate::outbound::Client;

pub const KIND: &str = "rfmcube";

pub struct RfmcubeKind {
    shared: Arc<Shared>,
}

/// What every target of the kind shares: the changes waiting for the next slot.
struct Shared {
    pool: PgPool,
    http: Client,
    settings: RfmcubePushSettings,
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the send that takes the next slot.
    slot: tokio::sync::Mutex<()>,
    /// Imports this process sent whose processes are not known to have completed.
    unconfirmed: Mutex<VecDeque<Unconfirmed>>,
    /// A task looks at them.
    confirming: AtomicBool,
}

struct Unconfirmed {
    process: String,
    entries: Vec<payloads::Entry>,
    connector: Connector,
    look_at: Instant,
    wait: Duration,
}

/// A change waiting for a slot, and who waits for its outcome.
struct Waiting {
    change: Change,
    outcome: oneshot::Sender<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Customer(i64),
    Order(i64),
}

impl RfmcubeKind {
    pub fn new(pool: PgPool, http: Client, settings: RfmcubePushSettings) -> Self {
        RfmcubeKind {
            shared: Arc::new(Shared {
                pool,
                http,
                settings,
                waiting: Mutex::new(Vec::new()),
                slot: tokio::sync::Mutex::new(()),
                unconfirmed: Mutex::new(VecDeque::new()),
                confirming: AtomicBool::new(false),
            }),
        }
    }
}

impl DestinationKind for RfmcubeKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String> {
        let account = Account::deserialize(config)
            .map_err(|e| format!("Rfmcube push destination without a connector: {e}"))?;
        let shared = &self.shared;
        let connector = account.connector(&shared.http, &shared.pool, &shared.settings)?;
        Ok(Arc::new(Connected {
            shared: shared.clone(),
            connector,
        }))
    }

    /// A send waits for a slot, behind the one being sent, then makes its request.
    fn timeout(&self) -> Duration {
        let settings = &self.shared.settings;
        settings.timeout + (settings.rate_window / settings.rate_limit.max(1)).mul_f64(3.0)
    }

    fn address(&self, config: &serde_json::Value) -> Option<String> {
        config.get("url")?.as_str().map(str::to_owned)
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["api_key"]
    }

    /// The Rfmcube integration makes and unmakes it.
    fn managed(&self) -> bool {
        true
    }

    /// Every send waits for the connector's next slot.
    fn paced(&self) -> bool {
        true
    }
}

struct Connected {
    shared: Arc<Shared>,
    connector: Connector,
}

/// `customer.deleted`'s payload.
#[derive(Deserialize)]
struct Deleted {
    id: i64,
    email: String,
}

impl Target for Connected {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            let id = delivery.entity_id.parse::<i64>();
            let change = match (delivery.entity_type.as_str(), delivery.name.as_str(), id) {
                ("customer", "customer.deleted", _) => {
                    return match serde_json::from_str::<Deleted>(&delivery.payload) {
                        Ok(deleted) => self.delete(deleted).await,
                        Err(e) => Outcome::unsendable(e),
                    };
                }
                ("customer", _, Ok(id)) => Change::Customer(id),
                ("order", _, Ok(id)) => Change::Order(id),
                _ => return Outcome::unsendable("not a customer or an order"),
            };
            match queue::superseded(&self.shared.pool, delivery.delivery_id).await {
                Ok(true) => Outcome::Superseded,
                Ok(false) => self.upsert(change).await,
                Err(e) => retry(format!("the database: {e}")),
            }
        })
    }
}

fn retry(error: String) -> Outcome {
    Outcome::Retry {
        problem: Problem {
            status: None,
            error,
        },
        retry_after: None,
    }
}

fn outcome_of(error: CallError) -> Outcome {
    let problem = |error: String| Problem {
        status: None,
        error,
    };
    match error {
        CallError::Misconfigured(reason) => Outcome::Misconfigured(problem(reason)),
        CallError::Transient {
            message,
            retry_after,
        } => Outcome::Retry {
            problem: problem(message),
            retry_after,
        },
        CallError::TooLarge(said) | CallError::Refused(said) => Outcome::Refused(problem(said)),
        CallError::Database(e) => retry(format!("the database: {e}")),
    }
}

impl Connected {
    /// Waits with the others for the next slot; the first to get it sends what waits (at
    /// most a batch: one whose change did not fit sends the rest in the next slot).
    async fn upsert(&self, change: Change) -> Outcome {
        let (sender, mut outcome) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .expect("not poisoned")
            .push(Waiting {
                change,
                outcome: sender,
            });
        loop {
            let slot = self.shared.slot.lock().await;
            if let Ok(sent) = outcome.try_recv() {
                return sent;
            }
            if let Err(e) = self.connector.limit().wait_for_turn().await {
                drop(slot);
                return self
                    .answer_all(retry(format!("the shared request limit: {e}")), outcome)
                    .await;
            }
            let batch: Vec<Waiting> = {
                let mut waiting = self.shared.waiting.lock().expect("not poisoned");
                let take = waiting.len().min(self.shared.settings.batch_size as usize);
                waiting.drain(..take).collect()
            };
            let changes: Vec<Change> = batch.iter().map(|w| w.change).collect();
            let sent = match changes.as_slice() {
                [] => continue,
                [one] => self.merge(*one).await,
                many => self.import(many).await,
            };
            // Answered before the slot is let go: the next holder finds its answer.
            for waiting in batch {
                let _ = waiting.outcome.send(sent.clone());
            }
            drop(slot);
        }
    }

    /// A send that could not wait for its slot answers every change waiting, so none
    /// waits on a slot nobody takes.
    async fn answer_all(&self, failed: Outcome, mine: oneshot::Receiver<Outcome>) -> Outcome {
        let waiting: Vec<Waiting> =
            std::mem::take(&mut *self.shared.waiting.lock().expect("not poisoned"));
        for waiting in waiting {
            let _ = waiting.outcome.send(failed.clone());
        }
        mine.await.unwrap_or(failed)
    }

    async fn merge(&self, change: Change) -> Outcome {
        let pool = &self.shared.pool;
        let built = match change {
            Change::Customer(id) => payloads::customer(pool, id).await,
            Change::Order(id) => payloads::order(pool, id).await,
        };
        let (json, sent) = match built {
            Ok(Some(built)) => built,
            // Gone since (deleted): its deletion, if any, is its own event.
            Ok(None) => return Outcome::Superseded,
            Err(e) => return retry(format!("the database: {e}")),
        };
        let (path, body) = match change {
            Change::Customer(_) => (
                "merge_customer",
                Merge {
                    trigger_integrations: false,
                    customer: Some(&json),
                    order: None,
                },
            ),
            Change::Order(_) => (
                "merge_order",
                Merge {
                    trigger_integrations: false,
                    customer: None,
                    order: Some(&json),
                },
            ),
        };
        if let Err(error) = self.connector.post(path, &body).await {
            return outcome_of(error);
        }
        match payloads::record_sent(pool, [&sent]).await {
            Ok(()) => Outcome::Delivered(200),
            Err(e) => retry(format!("recording what was sent: {e}")),
        }
    }

    /// The customers the changes touch, each with all of its orders, as one `/import`.
    async fn import(&self, changes: &[Change]) -> Outcome {
        let pool = &self.shared.pool;
        let ids = |customers: bool| -> Vec<i64> {
            changes
                .iter()
                .filter_map(|c| match (c, customers) {
                    (Change::Customer(id), true) | (Change::Order(id), false) => Some(*id),
                    _ => None,
                })
                .collect()
        };
        let (customers, guests) = match payloads::owners(pool, &ids(true), &ids(false)).await {
            Ok(owners) => owners,
            Err(e) => return retry(format!("the database: {e}")),
        };
        let entries = match payloads::entries(
            pool,
            Selection::Chosen {
                customers: &customers,
                guests: &guests,
            },
        )
        .await
        {
            Ok(entries) if entries.is_empty() => return Outcome::Superseded,
            Ok(entries) => entries,
            Err(e) => return retry(format!("the database: {e}")),
        };
        let settings = &self.shared.settings;
        match import::import(&self.connector, settings, &entries, false).await {
            Ok(processes) => {
                self.to_confirm(processes, entries);
                Outcome::Delivered(200)
            }
            Err(error) => outcome_of(error),
        }
    }

    async fn delete(&self, deleted: Deleted) -> Outcome {
        let pool = &self.shared.pool;
        let _slot = self.shared.slot.lock().await;
        let sent = match self.shared.settings.on_delete {
            OnDelete::Delete => {
                let body = Delete {
                    id: deleted.id.to_string(),
                    email: &deleted.email,
                };
                self.connector.post("delete_customer", &body).await
            }
            OnDelete::Anonymise => {
                let anonymous = format!("deleted-customer-{}@anonymised.invalid", deleted.id);
                match payloads::anonymised(pool, deleted.id, &deleted.email, &anonymous).await {
                    Ok(entry) => {
                        let entries = [payloads::Entry {
                            json: entry,
                            sent: vec![],
                        }];
                        import::import(&self.connector, &self.shared.settings, &entries, false)
                            .await
                            .map(drop)
                    }
                    Err(e) => return retry(format!("the database: {e}")),
                }
            }
        };
        if let Err(error) = sent {
            return outcome_of(error);
        }
        match payloads::record_deleted(pool, deleted.id, &deleted.email).await {
            Ok(()) => Outcome::Delivered(200),
            Err(e) => retry(format!("recording the deletion: {e}")),
        }
    }
}

impl Connected {
    /// Leaves the batch's processes to be looked at in idle slots; each one's entries are
    /// recorded as sent once it completed.
    fn to_confirm(&self, processes: Vec<(String, Range<usize>)>, entries: Vec<payloads::Entry>) {
        let wait = self.shared.settings.poll;
        let mut unconfirmed = self.shared.unconfirmed.lock().expect("not poisoned");
        for (process, run) in processes {
            unconfirmed.push_back(Unconfirmed {
                process,
                entries: entries[run].to_vec(),
                connector: self.connector.clone(),
                look_at: Instant::now() + wait,
                wait,
            });
        }
        drop(unconfirmed);
        if !self.shared.confirming.swap(true, Ordering::AcqRel) {
            tokio::spawn(confirm_when_idle(self.shared.clone()));
        }
    }
}

/// Looks at the processes of this process's imports, oldest first, each in a slot no
/// change waits for; records what completed, leaves what failed to the consistency check.
async fn confirm_when_idle(shared: Arc<Shared>) {
    let spacing = shared.settings.rate_window / shared.settings.rate_limit.max(1);
    loop {
        let next = shared
            .unconfirmed
            .lock()
            .expect("not poisoned")
            .front()
            .map(|u| u.look_at);
        let Some(look_at) = next else {
            shared.confirming.store(false, Ordering::Release);
            // One queued after the look and before the flag went down has nobody else.
            let empty = shared.unconfirmed.lock().expect("not poisoned").is_empty();
            if empty || shared.confirming.swap(true, Ordering::AcqRel) {
                return;
            }
            continue;
        };
        tokio::time::sleep_until(look_at).await;
        let idle = match shared.slot.try_lock() {
            Ok(slot) if shared.waiting.lock().expect("not poisoned").is_empty() => Some(slot),
            _ => None,
        };
        let Some(_slot) = idle else {
            tokio::time::sleep(spacing).await;
            continue;
        };
        let Some(mut item) = shared.unconfirmed.lock().expect("not poisoned").pop_front() else {
            continue;
        };
        match item.connector.process(&item.process).await {
            Ok(status) if status.progress() == Progress::Completed => {
                let sent = item.entries.iter().flat_map(|e| &e.sent);
                if let Err(error) = payloads::record_sent(&shared.pool, sent).await {
                    log::warn!("recording what Rfmcube was sent: {error}");
                }
            }
            Ok(status) if status.progress() == Progress::Failed => log::warn!(
                "Rfmcube import process {} ended {}: the consistency check sends its \
                 customers again",
                item.process,
                status.status
            ),
            Ok(_) | Err(CallError::Transient { .. }) => {
                item.wait = (item.wait * 2).min(Duration::from_secs(60));
                item.look_at = Instant::now() + item.wait;
                shared
                    .unconfirmed
                    .lock()
                    .expect("not poisoned")
                    .push_back(item);
            }
            Err(error) => log::warn!(
                "Rfmcube import process {}: {error}; the consistency check sends its customers \
                 again",
                item.process
            ),
        }
    }
}
