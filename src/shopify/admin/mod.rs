//! Shopify both ways: with a custom app's Admin API access token (the integration's
//! `apiKey`), shopbridge talks to the store's GraphQL Admin API besides receiving its
//! webhooks.
//!
//! - [`client`]: the API on the wire, within the store's query budget.
//! - [`graphql`]: the queries and mutations, and their answers as the webhooks' types.
//! - [`connect`]: checking the token, the webhook subscriptions the switches need, and
//!   starting or stopping the imports.
//! - [`import`]: the order history and the catalog, as resumable jobs.
//! - [`tracking`]: shipments' tracking numbers, sent to Shopify as fulfillments.
//!
//! While connected, the managed `shopify` destination holds the store's address and token
//! (sealed); the imports read it, and it takes the `shipment.*` events for `pushTracking`.

pub mod client;
pub mod connect;
pub mod graphql;
pub mod import;
pub mod tracking;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::bundle::Backbone;
use crate::delivery::destinations;
use crate::delivery::kind::DestinationKind;
use crate::jobs::pull::PullRunner;
use crate::jobs::{self, Job, JobStatus};
use crate::outbound::rate::SharedBucket;
use crate::outbound::Client;
use crate::secrets::vault::Vault;
use client::{AdminApi, STANDARD_PLAN};
use import::{Catalog, OrderHistory, Reader};
use tracking::TrackingKind;

/// The managed destination of a connected store.
pub const DESTINATION: &str = "shopify";

/// The `shopify` destination's config: the store, its token, and whether shipments'
/// tracking goes to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Store {
    pub store_url: String,
    pub access_token: String,
    #[serde(default)]
    pub push_tracking: bool,
}

impl Store {
    /// The store's Admin API, within its budget (one per store, shared by every process).
    pub async fn api(&self, http: &Client, pool: &PgPool) -> Result<AdminApi, String> {
        let url = reqwest::Url::parse(&self.store_url)
            .map_err(|e| format!("the store URL {:?}: {e}", self.store_url))?;
        let key = format!("shopify:{}", url.host_str().unwrap_or_default());
        let budget = SharedBucket::open(pool.clone(), key, STANDARD_PLAN)
            .await
            .map_err(|e| format!("the store's query budget: {e}"))?;
        AdminApi::new(http.clone(), &url, &self.access_token, budget)
    }
}

/// What the Admin API side needs: the database, the HTTP client that reaches the store,
/// the vault sealing the token, the tracking kind, the imports' runners, and the public address the
/// webhook subscriptions point at.
#[derive(Clone)]
pub struct Admin {
    pub pool: PgPool,
    pub http: Client,
    pub vault: Vault,
    /// The destination kind that pushes tracking to the store.
    pub tracking: Arc<dyn DestinationKind>,
    pub orders: Arc<PullRunner<OrderHistory>>,
    pub products: Arc<PullRunner<Catalog>>,
    pub public_url: Option<reqwest::Url>,
}

impl Admin {
    /// The Admin API side as configured: the tracking kind, and the runners of the order
    /// history's and the catalog's imports.
    pub fn new(backbone: &Backbone) -> Admin {
        let settings = &backbone.settings.shopify;
        let (pool, vault) = (&backbone.pool, &backbone.vault);
        let http = backbone.client_trusting(settings.admin_timeout);
        let reader = Reader::new(pool.clone(), http.clone());
        let job = settings.import();
        Admin {
            pool: pool.clone(),
            http: http.clone(),
            vault: vault.clone(),
            tracking: Arc::new(TrackingKind::new(
                pool.clone(),
                http,
                settings.admin_timeout,
            )),
            orders: PullRunner::new(
                pool.clone(),
                OrderHistory::new(reader.clone()),
                job.clone(),
                vault.clone(),
            ),
            products: PullRunner::new(pool.clone(), Catalog::new(reader), job, vault.clone()),
            public_url: settings.public_url.clone(),
        }
    }
}

/// The store's side, as `GET /admin/shopify` shows it.
#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Connected through the Admin API (an access token is configured).
    pub connected: bool,
    pub store_url: Option<String>,
    /// The store's name and myshopify domain, as Shopify answered when connected.
    pub name: Option<String>,
    pub domain: Option<String>,
    /// The webhook subscriptions registered there: topic → subscription id.
    #[schema(value_type = Option<Object>)]
    pub subscriptions: Option<sqlx::types::Json<serde_json::Value>>,
    pub orders_since: Option<DateTime<Utc>>,
    pub connected_at: Option<DateTime<Utc>>,
    /// Why the store's destination is held (a token Shopify refuses).
    #[sqlx(default)]
    pub held: Option<String>,
    #[sqlx(skip)]
    pub order_import: Option<JobStatus>,
    #[sqlx(skip)]
    pub product_import: Option<JobStatus>,
}

/// The connection, its imports and why it is held, if it is.
pub async fn connection(pool: &PgPool) -> Result<Connection, sqlx::Error> {
    let mut connection: Connection = sqlx::query_as(
        "SELECT true AS connected, s.store_url, s.name, s.domain, s.subscriptions,
                s.orders_since, s.connected_at
         FROM shopify_store s",
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or_default();
    if connection.connected {
        connection.held = destinations::standing(pool, DESTINATION)
            .await?
            .filter(|d| d.held)
            .and_then(|d| d.hold_reason);
    }
    connection.order_import = jobs::latest(pool, OrderHistory::KIND).await?;
    connection.product_import = jobs::latest(pool, Catalog::KIND).await?;
    Ok(connection)
}

/// Holds the store's destination with `reason` (Shopify refuses its token): the imports and
/// the tracking wait until the integration is configured again.
pub async fn hold(pool: &PgPool, reason: &str) -> Result<(), sqlx::Error> {
    if let Some(id) = destinations::id_of(pool, DESTINATION).await? {
        destinations::hold_for(pool, id, reason).await?;
    }
    Ok(())
}
