//! Every process's copy of the configured integrations, secrets opened, so a webhook is
//! checked without a query. A change is announced at its commit (a trigger on
//! `integrations`) and read again at once. The listener also wakes it after every
//! (re)connection, so what a lost LISTEN connection missed is read then: no polling.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use super::store::{self, Status};
use crate::secrets::vault::Vault;

pub const CHANNEL: &str = "shopbridge_integrations";

/// How long after a failed read it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One configured integration as requests see it.
#[derive(Debug)]
pub struct Configured {
    pub id: Uuid,
    pub active: bool,
    pub settings: Map<String, Value>,
    pub details: Map<String, Value>,
    pub secrets: Map<String, Value>,
}

/// What a provider's requests go by.
pub enum Standing {
    /// Not configured through the API: its environment variables apply.
    Unconfigured,
    Disabled,
    Active(Arc<Configured>),
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    provider: String,
    status: Status,
    settings: Value,
    details: Value,
    sealed: Option<Vec<u8>>,
}

pub struct Live {
    pool: PgPool,
    vault: Vault,
    by_provider: RwLock<Arc<HashMap<String, Arc<Configured>>>>,
    changed: Arc<Notify>,
}

impl Live {
    /// Reads what is configured now.
    pub async fn load(pool: PgPool, vault: Vault) -> Result<Arc<Self>, sqlx::Error> {
        let live = Arc::new(Live {
            pool,
            vault,
            by_provider: RwLock::default(),
            changed: Arc::new(Notify::new()),
        });
        live.reload().await?;
        Ok(live)
    }

    /// The integration of a provider configured once (Shopify, ONe, Rfmcube).
    pub fn lookup(&self, provider: &str) -> Standing {
        let snapshot = self.by_provider.read().expect("not poisoned").clone();
        match snapshot.get(provider) {
            None => Standing::Unconfigured,
            Some(configured) if !configured.active => Standing::Disabled,
            Some(configured) => Standing::Active(configured.clone()),
        }
    }

    /// Reads every integration again. One whose secrets do not open counts as disabled:
    /// its webhooks are answered 503 and retried later, not accepted unchecked.
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT i.id, i.provider, i.status, i.settings, i.details, s.sealed
             FROM integrations i
             LEFT JOIN secrets s ON s.owner = 'integration/' || i.id AND s.name = 'credentials'
             ORDER BY i.connected_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_provider = HashMap::new();
        for Row {
            id,
            provider,
            status,
            settings,
            details,
            sealed,
        } in rows
        {
            let secrets = match sealed {
                None => Ok(Map::new()),
                Some(sealed) => self
                    .vault
                    .open(&store::owner(id), "credentials", &sealed)
                    .map(|bytes| serde_json::from_slice(&bytes).unwrap_or_default()),
            };
            let opened = secrets.is_ok();
            if let Err(error) = &secrets {
                log::error!("integration {id} ({provider}) is treated as disabled: {error}");
            }
            let object = |value: Value| match value {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            by_provider.insert(
                provider,
                Arc::new(Configured {
                    id,
                    active: status == Status::Active && opened,
                    settings: object(settings),
                    details: object(details),
                    secrets: secrets.unwrap_or_default(),
                }),
            );
        }
        *self.by_provider.write().expect("not poisoned") = Arc::new(by_provider);
        Ok(())
    }

    /// Keeps the copy current until `stopped`.
    pub async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        // LISTEN holds its connection: its own, so requests keep the whole pool.
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(self.pool.connect_options().as_ref().clone());
        let listener = tokio::spawn(crate::db::listen::listen(
            own,
            CHANNEL,
            self.changed.clone(),
        ));
        loop {
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
            if let Err(error) = self.reload().await {
                log::warn!("integrations: reading them again failed, will retry: {error}");
                tokio::time::sleep(RETRY_AFTER).await;
                self.changed.notify_one();
            }
        }
        listener.abort();
    }
}
