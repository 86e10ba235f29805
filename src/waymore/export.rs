//! The mass export of the shop's history, as a resumable job: entities in Waymore's order
//! (each finished before the next starts), each in parts of `WAYMORE_BATCH_SIZE` objects,
//! built by one SQL statement ([`mass_data`]) and sent to the data URL under the connected
//! account's UUID. The runner (`crate::jobs`) does the rest: parallel parts, fenced lease,
//! exact resume, retries; the job stops while the Waymore destination is held (a
//! disconnect) and fails on a part Waymore refuses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use super::client::WaymoreClient;
use super::mass_data::{self, MassEntity};
use super::DESTINATION;
use crate::jobs::walk::Walk;
use crate::jobs::{self, Job, JobDefinition, JobState, JobStatus, PartError, StagePlan};
use crate::shop::Keys;

/// The export as the runner knows it.
pub struct MassExport {
    pool: PgPool,
    client: WaymoreClient,
    keys: Keys,
}

impl MassExport {
    pub fn new(pool: PgPool, client: WaymoreClient) -> Self {
        MassExport {
            keys: Keys::new(pool.clone()),
            pool,
            client,
        }
    }

    async fn walk(&self, entity: MassEntity) -> Result<Walk, sqlx::Error> {
        Walk::of(&self.keys, Self::KIND, entity.name(), entity.relation()).await
    }
}

/// The account the export sends under: the Waymore destination's config.
#[derive(Deserialize)]
struct Account {
    uuid: String,
}

fn entity(stage: &str) -> MassEntity {
    MassEntity::parse(stage).expect("the export's stages are its entities")
}

impl Job for MassExport {
    const KIND: &'static str = "waymore.export";

    fn destination(&self) -> Option<&'static str> {
        Some(DESTINATION)
    }

    /// One stage per entity: its history is the rows that exist now.
    async fn plan(&self, conn: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        let mut plan = Vec::new();
        for entity in MassEntity::ALL {
            let (upper, total) = self.walk(entity).await?.plan(conn).await?;
            plan.push(StagePlan {
                stage: entity.name(),
                upper,
                total,
            });
        }
        Ok(plan)
    }
}

impl JobDefinition for MassExport {
    type Part = Box<RawValue>;

    async fn cut(
        &self,
        stage: &str,
        after: i64,
        bound: i64,
        size: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        self.walk(entity(stage))
            .await?
            .next_part_end(&self.pool, after, bound, size)
            .await
    }

    async fn build(
        &self,
        stage: &str,
        after: i64,
        last: i64,
        size: i64,
    ) -> Result<(Self::Part, i64), sqlx::Error> {
        let entity = entity(stage);
        let walk = self.walk(entity).await?;
        let part = mass_data::part(&self.pool, entity, &walk, after, last, size).await?;
        Ok((part.objects, part.count))
    }

    async fn send(
        &self,
        stage: &str,
        part: &Self::Part,
        destination: &serde_json::Value,
    ) -> Result<(), PartError> {
        let account = Account::deserialize(destination).map_err(|e| PartError {
            permanent: true,
            message: format!("the Waymore destination has no account: {e}"),
        })?;
        let entity = entity(stage);
        self.client
            .send_mass_data(&account.uuid, entity.name(), entity.description(), part)
            .await
            .map_err(|error| PartError {
                permanent: error.is_permanent(),
                message: error.to_string(),
            })
    }
}

/// The export's state, as `/waymore/status` shows it.
pub type ExportState = JobState;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    pub id: i64,
    pub state: ExportState,
    pub batch_size: i32,
    /// Why the export failed, or the last error it is retrying (cleared by the next part
    /// Waymore acknowledges).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entities: Vec<EntityProgress>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntityProgress {
    #[schema(example = "customers")]
    pub entity: String,
    pub sent: i64,
    pub total: i64,
    pub done: bool,
}

impl From<JobStatus> for ExportStatus {
    fn from(job: JobStatus) -> Self {
        ExportStatus {
            id: job.id,
            state: job.state,
            batch_size: job.part_size,
            last_error: job.last_error,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            entities: job
                .stages
                .into_iter()
                .map(|stage| EntityProgress {
                    entity: stage.stage,
                    sent: stage.sent,
                    total: stage.total,
                    done: stage.done,
                })
                .collect(),
        }
    }
}

/// The most recent export, with its progress per entity.
pub async fn latest(pool: &PgPool) -> Result<Option<ExportStatus>, sqlx::Error> {
    Ok(jobs::latest(pool, MassExport::KIND).await?.map(Into::into))
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub export_id: i64,
    /// A failed export was resumed from where it stopped, rather than a new one started.
    pub resumed: bool,
}

impl From<jobs::Started> for Started {
    fn from(started: jobs::Started) -> Self {
        Started {
            export_id: started.id,
            resumed: started.resumed,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("export #{0} is already running")]
    AlreadyRunning(i64),
    #[error("Waymore is not connected")]
    NotConnected,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts an export of the history as it is now, or resumes the failed one.
pub async fn start(
    pool: &PgPool,
    export: &MassExport,
    batch_size: u32,
) -> Result<Started, StartError> {
    let mut tx = pool.begin().await?;
    let connected: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM waymore_connection)")
        .fetch_one(&mut *tx)
        .await?;
    if !connected {
        return Err(StartError::NotConnected);
    }
    let started = jobs::start_in(&mut tx, export, batch_size)
        .await?
        .map_err(|jobs::Running(id)| StartError::AlreadyRunning(id))?;
    tx.commit().await?;
    Ok(started.into())
}
