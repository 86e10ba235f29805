//! The consistency check (`rfmcube.check`), the seed's "procedure to guarantee consistency
//! even in the event of errors": every customer and guest is built again as it would be
//! sent and compared with what Rfmcube was last sent (`rfmcube_push_sent`, an md5 per
//! customer and order); those that differ, or were never sent, are imported again, and
//! customers Rfmcube has that the shop deleted are deleted there. It catches what the
//! event log cannot: a change written with the triggers off, an import process that
//! failed after it was accepted, a restore from a backup. A resumable job on the shared
//! runner like the initial synchronisation, whose stages and parts it shares.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::client::Delete;
use super::import::{self, InitialSync};
use super::payloads::{self, Entry};
use super::DESTINATION;
use crate::jobs::{self, Job, JobDefinition, PartError, StagePlan};

pub const KIND: &str = "rfmcube.check";

/// Customers Rfmcube was sent that the shop no longer has.
const DELETED: &str = "deleted";

const DELETED_KEYS: &str = "
    SELECT s.id FROM rfmcube_push_sent s
    WHERE s.entity = 'customer' AND s.hash IS NOT NULL AND s.id > $1 AND s.id <= $2
      AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.id)
    ORDER BY s.id LIMIT $3";

pub struct ConsistencyCheck {
    sync: InitialSync,
}

impl ConsistencyCheck {
    pub fn new(sync: InitialSync) -> Self {
        ConsistencyCheck { sync }
    }

    pub fn batch_size(&self) -> u32 {
        self.sync.batch_size()
    }
}

/// What one part of the check sends.
pub enum CheckPart {
    /// Entries that differ from what Rfmcube was sent.
    Differing(Vec<Entry>),
    /// Customers to delete there: id and email.
    Deleted(Vec<(i64, String)>),
}

impl Job for ConsistencyCheck {
    const KIND: &'static str = KIND;

    fn destination(&self) -> Option<&'static str> {
        Some(DESTINATION)
    }

    async fn plan(&self, conn: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        let mut plan = self.sync.plan(conn).await?;
        let (upper, total): (i64, i64) = sqlx::query_as(
            "SELECT coalesce(max(id), 0), count(*) FROM rfmcube_push_sent s
             WHERE s.entity = 'customer' AND s.hash IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.id)",
        )
        .fetch_one(conn)
        .await?;
        plan.push(StagePlan {
            stage: DELETED,
            upper,
            total,
        });
        Ok(plan)
    }
}

impl JobDefinition for ConsistencyCheck {
    type Part = CheckPart;

    async fn cut(
        &self,
        stage: &str,
        after: i64,
        bound: i64,
        size: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        match stage {
            DELETED => {
                jobs::next_part_end(self.sync.pool(), DELETED_KEYS, after, bound, size).await
            }
            _ => self.sync.cut(stage, after, bound, size).await,
        }
    }

    /// The part's entries that differ; its count is every entity checked, for progress.
    async fn build(
        &self,
        stage: &str,
        after: i64,
        last: i64,
        size: i64,
    ) -> Result<(Self::Part, i64), sqlx::Error> {
        let pool = self.sync.pool();
        if stage == DELETED {
            let deleted: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT s.id, s.email FROM rfmcube_push_sent s
                 WHERE s.entity = 'customer' AND s.id IN ({DELETED_KEYS})
                 ORDER BY s.id"
            )))
            .bind(after)
            .bind(last)
            .bind(size)
            .fetch_all(pool)
            .await?;
            let count = i64::try_from(deleted.len()).unwrap_or(i64::MAX);
            return Ok((CheckPart::Deleted(deleted), count));
        }
        let (entries, count) = self.sync.build(stage, after, last, size).await?;
        let differing = differing(pool, entries).await?;
        Ok((CheckPart::Differing(differing), count))
    }

    async fn send(
        &self,
        _stage: &str,
        part: &Self::Part,
        destination: &serde_json::Value,
    ) -> Result<(), PartError> {
        let connector = self.sync.connector(destination)?;
        match part {
            CheckPart::Differing(entries) => {
                if !entries.is_empty() {
                    log::info!(
                        "Rfmcube consistency check: {} customer(s) or guest(s) differ from what \
                         Rfmcube was sent; sending them again",
                        entries.len()
                    );
                }
                self.sync.send_entries(&connector, entries).await
            }
            CheckPart::Deleted(deleted) => {
                // Anonymising needs the orders the deletion's event saw; the check only
                // knows the customer is gone, so it deletes whatever RFMCUBE_PUSH_ON_DELETE.
                for (id, email) in deleted {
                    let body = Delete {
                        id: id.to_string(),
                        email,
                    };
                    let sent = connector.post("delete_customer", &body).await;
                    sent.map_err(|error| PartError {
                        permanent: error.is_permanent(),
                        message: error.to_string(),
                    })?;
                    payloads::record_deleted(self.sync.pool(), *id, email)
                        .await
                        .map_err(import::database)?;
                }
                Ok(())
            }
        }
    }
}

/// The entries with a customer or order whose hash is not the one Rfmcube was last sent.
async fn differing(pool: &PgPool, entries: Vec<Entry>) -> Result<Vec<Entry>, sqlx::Error> {
    let (mut kinds, mut ids) = (vec![], vec![]);
    for sent in entries.iter().flat_map(|e| &e.sent) {
        kinds.push(sent.entity);
        ids.push(sent.id);
    }
    let known: Vec<(String, i64, Option<Uuid>)> = sqlx::query_as(
        "SELECT s.entity, s.id, s.hash FROM rfmcube_push_sent s
         JOIN unnest($1::text[], $2::bigint[]) k (entity, id) USING (entity, id)",
    )
    .bind(kinds)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let known: HashMap<(String, i64), Option<Uuid>> = known
        .into_iter()
        .map(|(entity, id, hash)| ((entity, id), hash))
        .collect();
    Ok(entries
        .into_iter()
        .filter(|entry| {
            entry
                .sent
                .iter()
                .any(|sent| known.get(&(sent.entity.to_owned(), sent.id)) != Some(&Some(sent.hash)))
        })
        .collect())
}
