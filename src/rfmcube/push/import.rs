//! The initial synchronisation, as a resumable job (`rfmcube.import`): every customer with
//! its orders, then every guest (orders without a customer, grouped by email), through
//! `/import` in parts of `RFMCUBE_PUSH_BATCH_SIZE`. A part is acknowledged once Rfmcube's
//! import process for it has completed, so the job's position is what Rfmcube has: a crash
//! resumes after the last acknowledged part, repeating at most the parts in flight (an
//! import is a merge: sending one twice changes nothing).

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use super::client::{CallError, Connector, Progress};
use super::payloads::{self, Entry, ImportBody, Selection};
use super::DESTINATION;
use crate::configuration::RfmcubePushSettings;
use crate::delivery::destinations;
use crate::jobs::{self, Job, JobDefinition, PartError, StagePlan};
use crate::outbound::Client;

pub const KIND: &str = "rfmcube.import";

/// The longest wait between two looks at an import process.
const POLL_CAP: Duration = Duration::from_secs(60);

/// How many times in a row a look at a process may fail before the part is sent again.
const POLL_TRIES: u32 = 5;

pub struct InitialSync {
    pool: PgPool,
    http: Client,
    settings: RfmcubePushSettings,
}

impl InitialSync {
    pub fn new(pool: PgPool, http: Client, settings: RfmcubePushSettings) -> Self {
        InitialSync {
            pool,
            http,
            settings,
        }
    }

    /// Customers (or guests) per part.
    pub fn batch_size(&self) -> u32 {
        self.settings.batch_size
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connector a part goes to: the destination's config as the runner gives it.
    pub fn connector(&self, destination: &serde_json::Value) -> Result<Connector, PartError> {
        Account::deserialize(destination)
            .map_err(|e| e.to_string())
            .and_then(|account| account.connector(&self.http, &self.pool, &self.settings))
            .map_err(|e| PartError {
                permanent: true,
                message: format!("the Rfmcube push destination's config: {e}"),
            })
    }

    /// Imports `entries`, each request's process waited for, and records them as sent. A
    /// key or platform Rfmcube refuses holds the destination (and with it the job).
    pub async fn send_entries(
        &self,
        connector: &Connector,
        entries: &[Entry],
    ) -> Result<(), PartError> {
        if entries.is_empty() {
            return Ok(());
        }
        match import(connector, &self.settings, entries, true).await {
            Ok(_) => {}
            Err(CallError::Misconfigured(reason)) => {
                hold(&self.pool, &reason).await.map_err(database)?;
                return Err(PartError {
                    permanent: false,
                    message: reason,
                });
            }
            Err(error) => {
                return Err(PartError {
                    permanent: error.is_permanent(),
                    message: error.to_string(),
                })
            }
        }
        payloads::record_sent(&self.pool, entries.iter().flat_map(|e| &e.sent))
            .await
            .map_err(database)
    }
}

/// The `rfmcube` destination's config: where the connector's API is, and its key.
#[derive(Deserialize)]
pub struct Account {
    pub url: String,
    pub api_key: String,
}

impl Account {
    pub fn connector(
        &self,
        http: &Client,
        pool: &PgPool,
        settings: &RfmcubePushSettings,
    ) -> Result<Connector, String> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| format!("the push URL {:?}: {e}", self.url))?;
        Connector::new(http.clone(), pool.clone(), settings, url, &self.api_key)
    }
}

pub const CUSTOMERS: &str = "customers";
pub const GUESTS: &str = "guests";

impl Job for InitialSync {
    const KIND: &'static str = KIND;

    fn destination(&self) -> Option<&'static str> {
        Some(DESTINATION)
    }

    async fn plan(&self, conn: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        let (customers, customer_count, guests, guest_count): (i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT (SELECT coalesce(max(id), 0) FROM customers),
                        (SELECT count(*) FROM customers),
                        (SELECT coalesce(max(id), 0) FROM orders WHERE customer_id IS NULL),
                        (SELECT count(DISTINCT lower(customer_email)) FROM orders
                         WHERE customer_id IS NULL)",
            )
            .fetch_one(conn)
            .await?;
        Ok(vec![
            StagePlan {
                stage: CUSTOMERS,
                upper: customers,
                total: customer_count,
            },
            StagePlan {
                stage: GUESTS,
                upper: guests,
                total: guest_count,
            },
        ])
    }
}

impl JobDefinition for InitialSync {
    type Part = Vec<Entry>;

    async fn cut(
        &self,
        stage: &str,
        after: i64,
        bound: i64,
        size: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let keys = match stage {
            GUESTS => payloads::GUEST_KEYS,
            _ => payloads::CUSTOMER_KEYS,
        };
        jobs::next_part_end(&self.pool, keys, after, bound, size).await
    }

    async fn build(
        &self,
        stage: &str,
        after: i64,
        last: i64,
        size: i64,
    ) -> Result<(Self::Part, i64), sqlx::Error> {
        let selection = match stage {
            GUESTS => Selection::Guests { after, last, size },
            _ => Selection::Customers { after, last, size },
        };
        let entries = payloads::entries(&self.pool, selection).await?;
        let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        Ok((entries, count))
    }

    async fn send(
        &self,
        _stage: &str,
        part: &Self::Part,
        destination: &serde_json::Value,
    ) -> Result<(), PartError> {
        self.send_entries(&self.connector(destination)?, part).await
    }
}

pub fn database(error: sqlx::Error) -> PartError {
    PartError {
        permanent: false,
        message: format!("the database: {error}"),
    }
}

/// Holds the push destination with `reason` (its key or platform is wrong): its
/// deliveries and this job wait until an operator releases or reconfigures it.
pub async fn hold(pool: &PgPool, reason: &str) -> Result<(), sqlx::Error> {
    if let Some(id) = destinations::id_of(pool, DESTINATION).await? {
        destinations::hold_for(pool, id, reason).await?;
    }
    Ok(())
}

/// Imports `entries` in requests of at most `RFMCUBE_PUSH_MAX_BYTES`, each halved again
/// when Rfmcube answers 416; with `wait`, each request's process is waited for before the
/// next request goes. The processes started, each with the entries it holds.
pub async fn import(
    connector: &Connector,
    settings: &RfmcubePushSettings,
    entries: &[Entry],
    wait: bool,
) -> Result<Vec<(String, Range<usize>)>, CallError> {
    let mut processes = Vec::new();
    let mut pending: Vec<Range<usize>> = split_to_fit(entries, settings.max_bytes);
    pending.reverse();
    while let Some(run) = pending.pop() {
        let chunk = &entries[run.clone()];
        let body = serde_json::to_vec(&ImportBody::of(chunk)).expect("an import serialises");
        match connector.import(body).await {
            Ok(process) => {
                if wait {
                    wait_for(connector, settings, &process).await?;
                }
                processes.push((process, run));
            }
            Err(CallError::TooLarge(said)) if run.len() > 1 => {
                log::warn!("Rfmcube import: {said}; sending it in halves");
                let middle = run.start + run.len() / 2;
                pending.push(middle..run.end);
                pending.push(run.start..middle);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(processes)
}

/// `entries` cut into runs whose import body stays within `max_bytes` (an entry larger than
/// that alone is a run of its own, for Rfmcube to judge).
fn split_to_fit(entries: &[Entry], max_bytes: usize) -> Vec<Range<usize>> {
    // The body's fields, the brackets and one comma per entry.
    const ENVELOPE: usize = 100;
    let mut runs = Vec::new();
    let (mut start, mut size) = (0, ENVELOPE);
    for (i, entry) in entries.iter().enumerate() {
        let len = entry.json.get().len() + 1;
        if i > start && size + len > max_bytes {
            runs.push(start..i);
            (start, size) = (i, ENVELOPE);
        }
        size += len;
    }
    if start < entries.len() {
        runs.push(start..entries.len());
    }
    runs
}

/// Looks at `process` until it completes, waiting longer each time.
pub async fn wait_for(
    connector: &Connector,
    settings: &RfmcubePushSettings,
    process: &str,
) -> Result<(), CallError> {
    let mut wait = settings.poll;
    let mut failed_looks = 0;
    loop {
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(POLL_CAP);
        match connector.process(process).await {
            Ok(status) => match status.progress() {
                Progress::Completed => return Ok(()),
                Progress::Running => failed_looks = 0,
                Progress::Failed => {
                    return Err(CallError::Transient {
                        message: format!(
                            "Rfmcube's import process {process} ended {}: {}",
                            status.status, status.data
                        ),
                        retry_after: None,
                    })
                }
            },
            Err(CallError::Transient { message, .. }) if failed_looks + 1 < POLL_TRIES => {
                failed_looks += 1;
                log::warn!("Rfmcube import process {process}: {message}; looking again");
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn entry(bytes: usize) -> Entry {
        let json = format!("\"{}\"", "x".repeat(bytes - 2));
        Entry {
            json: RawValue::from_string(json).unwrap(),
            sent: vec![],
        }
    }

    #[test]
    fn entries_are_cut_into_bodies_within_the_size() {
        let entries: Vec<Entry> = (0..10).map(|_| entry(99)).collect();
        let runs = split_to_fit(&entries, 400);
        assert_eq!(
            runs.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert_eq!(split_to_fit(&entries, 10_000).len(), 1);
    }

    #[test]
    fn an_entry_larger_than_the_size_goes_alone() {
        let entries = vec![entry(50), entry(1000), entry(50)];
        let runs = split_to_fit(&entries, 400);
        assert_eq!(runs, [0..1, 1..2, 2..3]);
    }
}
