//! Rfmcube's push API (seed 002), for shops Rfmcube cannot reach: the shop sends its
//! customers and orders, and answers for their consistency "even in the event of errors".
//!
//! - [`client`]: the API on the wire, each request within the connector's 60 a minute.
//! - [`payloads`]: customers and orders in the API's shapes, and what Rfmcube was sent.
//! - [`import`]: the initial synchronisation, a resumable job.
//! - [`destination`]: the incremental sync from the event log (merges, or imports when
//!   changes come faster than the limit carries merges), and deletions.
//! - [`check`]: the consistency check, which sends what differs from what was sent.
//!
//! Push is on while the connector's api-key is configured: the Rfmcube integration's
//! `pushApiKey` (`/api/integrations`), or `RFMCUBE_PUSH_API_KEY` when it is not
//! configured. It makes the managed `rfmcube` destination, and the first time the initial
//! synchronisation.

pub mod check;
pub mod client;
pub mod destination;
pub mod import;
pub mod operator;
pub mod payloads;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::bundle::Backbone;
use crate::configuration::RfmcubePushSettings;
use crate::delivery::destinations::{self, DestinationError, DestinationName};
use crate::delivery::kind::DestinationKind;
use crate::events::EventPattern;
use crate::jobs::{self, Job, JobStatus, Runner, StartError};
use crate::secrets::vault::Vault;
use check::ConsistencyCheck;
use destination::RfmcubeKind;
use import::InitialSync;

/// The managed destination of the incremental sync.
pub const DESTINATION: &str = "rfmcube";

/// The events it takes.
pub const EVENTS: [&str; 7] = [
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "order.created",
    "order.updated",
    "order.status_changed",
    "order.payment_confirmed",
];

/// What push needs besides the database: the vault that seals the key, its destination kind, and the
/// runners of the initial synchronisation and of the consistency check.
#[derive(Clone)]
pub struct Push {
    pub vault: Vault,
    /// Its destination kind, `rfmcube`.
    pub kind: Arc<dyn DestinationKind>,
    pub importer: Arc<Runner<InitialSync>>,
    pub checker: Arc<Runner<ConsistencyCheck>>,
}

/// A connector: where its API is, and its key.
pub struct Connection<'a> {
    pub url: &'a str,
    pub api_key: &'a str,
}

impl Push {
    /// The push as configured: its destination kind, and the runners of the initial
    /// synchronisation and of the consistency check.
    pub fn new(backbone: &Backbone) -> Push {
        let settings = &backbone.settings.rfmcube_push;
        let sync = || {
            InitialSync::new(
                backbone.pool.clone(),
                backbone.client(settings.timeout),
                settings.clone(),
            )
        };
        Push {
            vault: backbone.vault.clone(),
            kind: Arc::new(RfmcubeKind::new(
                backbone.pool.clone(),
                backbone.client(settings.timeout),
                settings.clone(),
            )),
            importer: Runner::new(
                backbone.pool.clone(),
                sync(),
                settings.import(),
                backbone.vault.clone(),
            ),
            checker: Runner::new(
                backbone.pool.clone(),
                ConsistencyCheck::new(sync()),
                settings.import(),
                backbone.vault.clone(),
            ),
        }
    }

    /// Makes the `rfmcube` destination send to `connection` (or changes it to), and starts
    /// the initial synchronisation when this is a connector the shop has not been synced
    /// to; the destination's id.
    pub async fn connect(
        &self,
        pool: &PgPool,
        connection: Connection<'_>,
    ) -> Result<i64, DestinationError> {
        let kind = &self.kind;
        let config = json!({"url": connection.url, "api_key": connection.api_key});
        let events: Vec<EventPattern> = EVENTS
            .iter()
            .map(|e| EventPattern::try_from((*e).to_owned()).expect("an event name"))
            .collect();
        let mut tx = pool.begin().await?;
        // Processes starting together configure it once.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbridge.rfmcube-push'))")
            .execute(&mut *tx)
            .await?;
        let existing = destinations::id_of(&mut *tx, DESTINATION).await?;
        let (id, same) = match existing {
            Some(id) => {
                let mut same = false;
                destinations::reconfigure_in(
                    &mut tx,
                    &self.vault,
                    DESTINATION,
                    kind.as_ref(),
                    Some(&events),
                    |old| {
                        same = old == config;
                        Ok(config)
                    },
                )
                .await?;
                (id, same)
            }
            None => {
                let name = DestinationName::parse(DESTINATION).expect("a valid destination name");
                let id = destinations::add_in(
                    &mut tx,
                    &self.vault,
                    &name,
                    kind.as_ref(),
                    &events,
                    config,
                )
                .await?;
                (id, false)
            }
        };
        // Another connector (or the first) starts from nothing there: send the history.
        if !same {
            sqlx::query("TRUNCATE rfmcube_push_sent")
                .execute(&mut *tx)
                .await?;
            jobs::cancel_in(&mut tx, InitialSync::KIND, "another Rfmcube connector").await?;
            jobs::cancel_in(&mut tx, ConsistencyCheck::KIND, "another Rfmcube connector").await?;
            let _ = jobs::start_in(
                &mut tx,
                self.importer.definition(),
                self.importer.definition().batch_size(),
            )
            .await?;
        }
        tx.commit().await?;
        self.importer.wake();
        Ok(id)
    }

    /// Stops pushing: the destination goes with its deliveries, the initial
    /// synchronisation and the check are canceled.
    pub async fn disconnect(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        jobs::cancel_in(&mut tx, InitialSync::KIND, "Rfmcube push was turned off").await?;
        jobs::cancel_in(
            &mut tx,
            ConsistencyCheck::KIND,
            "Rfmcube push was turned off",
        )
        .await?;
        destinations::forget(&mut *tx, DESTINATION).await?;
        tx.commit().await
    }

    /// Pushes to the connector of `RFMCUBE_PUSH_API_KEY` when Rfmcube is not configured
    /// through the integrations API (`configured`); without the variable, an
    /// environment-made destination goes.
    pub async fn from_environment(
        &self,
        pool: &PgPool,
        settings: &RfmcubePushSettings,
        configured: bool,
    ) -> Result<(), DestinationError> {
        if configured {
            return Ok(());
        }
        match &settings.api_key {
            Some(api_key) => {
                let connection = Connection {
                    url: settings.url.as_str(),
                    api_key,
                };
                self.connect(pool, connection).await.map(drop)
            }
            None => Ok(self.disconnect(pool).await?),
        }
    }

    /// Starts the initial synchronisation again (or resumes the failed one).
    pub async fn start_import(&self, pool: &PgPool) -> Result<jobs::Started, StartError> {
        let started = jobs::start(
            pool,
            self.importer.definition(),
            self.importer.definition().batch_size(),
        )
        .await?;
        self.importer.wake();
        Ok(started)
    }

    /// Starts the consistency check (or resumes the failed one).
    pub async fn start_check(&self, pool: &PgPool) -> Result<jobs::Started, StartError> {
        let started = jobs::start(
            pool,
            self.checker.definition(),
            self.checker.definition().batch_size(),
        )
        .await?;
        self.checker.wake();
        Ok(started)
    }
}

/// Why a job of push's did not start: push is not configured, or the job runs.
pub fn not_started(error: &StartError) -> String {
    match error {
        StartError::NoDestination(_) => "Rfmcube push is not configured: set the Rfmcube \
                                         integration's pushApiKey or RFMCUBE_PUSH_API_KEY"
            .to_owned(),
        other => other.to_string(),
    }
}

/// Push as `GET /admin/rfmcube/push` shows it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PushStatus {
    /// A connector is configured: changes are pushed.
    #[sqlx(default)]
    pub configured: bool,
    /// Where they go.
    #[sqlx(default)]
    pub url: Option<String>,
    /// Held: Rfmcube refused the key or the connector's platform (the reason says which),
    /// or the integration is disabled. Nothing is sent until it is released or configured
    /// again; nothing is lost.
    #[sqlx(default)]
    pub held: bool,
    #[sqlx(default)]
    pub hold_reason: Option<String>,
    #[sqlx(default)]
    pub last_error: Option<String>,
    /// Changes waiting to be sent.
    #[sqlx(default)]
    pub backlog: i64,
    /// What Rfmcube was sent and has: customers, orders, customers deleted.
    pub sent_customers: i64,
    pub sent_orders: i64,
    pub deleted_customers: i64,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The latest initial synchronisation and consistency check, with progress.
    #[sqlx(skip)]
    pub import: Option<JobStatus>,
    #[sqlx(skip)]
    pub check: Option<JobStatus>,
}

/// Push's status.
pub async fn status(pool: &PgPool) -> Result<PushStatus, sqlx::Error> {
    let mut status: PushStatus = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE entity = 'customer' AND hash IS NOT NULL) AS sent_customers,
                count(*) FILTER (WHERE entity = 'order') AS sent_orders,
                count(*) FILTER (WHERE hash IS NULL) AS deleted_customers,
                max(sent_at) AS last_sent_at
         FROM rfmcube_push_sent",
    )
    .fetch_one(pool)
    .await?;
    if let Some(destination) = destinations::standing(pool, DESTINATION).await? {
        status.configured = true;
        status.url = destination.config["url"].as_str().map(str::to_owned);
        status.held = destination.held;
        status.hold_reason = destination.hold_reason;
        status.last_error = destination.last_error;
        status.backlog = destinations::pending(pool, destination.id).await?;
    }
    status.import = jobs::latest(pool, InitialSync::KIND).await?;
    status.check = jobs::latest(pool, ConsistencyCheck::KIND).await?;
    Ok(status)
}
