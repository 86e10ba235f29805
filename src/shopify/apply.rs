//! Applying one stored webhook to the shop tables: parse the body for its topic, map it, and
//! write it in the caller's transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::topic::Topic;
use super::wire::{self, Timestamp};
use super::{fulfillments, orders, products};

/// The version of an object a webhook carries: its `updated_at`; when Shopify sends none
/// (the seed's product), when Shopify says the webhook was triggered; failing that, when it
/// was received.
#[derive(Debug, Clone)]
pub struct Version {
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

impl Version {
    pub fn of(&self, updated_at: Option<Timestamp>) -> DateTime<Utc> {
        updated_at
            .map(|t| t.to_utc())
            .or(self.triggered_at)
            .unwrap_or(self.received_at)
    }
}

/// What the webhook is about and where it came from.
#[derive(Debug, Clone)]
pub struct Webhook<'a> {
    pub topic: Topic,
    pub body: &'a str,
    pub version: Version,
    /// The storefront's base URL, for product links.
    pub store_url: Option<String>,
}

/// The webhook's content cannot become rows (not retried: reprocess it once fixed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What applying did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Rows written; `summary` says which (`created order 12`).
    Written {
        summary: String,
        /// An order's Shopify id: fulfillments waiting for it are due now.
        wakes_order: Option<i64>,
    },
    /// Nothing to write: the stored version is newer, or there is nothing to change.
    Skipped(String),
    /// A fulfillment whose order has not been received: tried again when it arrives.
    WaitingForOrder(i64),
}

impl Applied {
    pub fn written(what: &str, id: i64, created: bool) -> Self {
        let verb = if created { "created" } else { "updated" };
        Applied::Written {
            summary: format!("{verb} {what} {id}"),
            wakes_order: None,
        }
    }

    pub fn older(what: &str, shopify_id: i64) -> Self {
        Applied::Skipped(format!(
            "the stored {what} (Shopify id {shopify_id}) is newer: nothing changed"
        ))
    }

    /// What it did, in words, as the inbox keeps it.
    pub fn summary(&self) -> &str {
        match self {
            Applied::Written { summary, .. } => summary,
            Applied::Skipped(reason) => reason,
            Applied::WaitingForOrder(_) => "waiting for its order",
        }
    }

    pub fn wakes_order(&self) -> Option<i64> {
        match self {
            Applied::Written { wakes_order, .. } => *wakes_order,
            _ => None,
        }
    }

    pub fn waking(self, order: i64) -> Self {
        match self {
            Applied::Written { summary, .. } => Applied::Written {
                summary,
                wakes_order: Some(order),
            },
            other => other,
        }
    }
}

/// Parses `webhook.body` for its topic and writes it through `conn` (a transaction).
pub async fn apply(conn: &mut PgConnection, webhook: &Webhook<'_>) -> Result<Applied, ApplyError> {
    let version = &webhook.version;
    Ok(match webhook.topic {
        Topic::Order(_) => {
            let order = orders::map(parse(webhook)?, version)?;
            orders::apply(conn, &order).await?
        }
        Topic::Fulfillment(_) => {
            let fulfillment = fulfillments::map(parse(webhook)?, version);
            fulfillments::apply(conn, &fulfillment).await?
        }
        Topic::Product(_) => {
            let product = products::map(parse(webhook)?, version, webhook.store_url.as_deref());
            products::apply(conn, &product).await?
        }
        Topic::ProductDeletion => {
            let deleted: wire::Deleted = parse(webhook)?;
            products::deactivate(conn, deleted.id).await?
        }
    })
}

/// Parses the body as the wire type of its topic; the message names the field at fault.
pub fn parse<T: serde::de::DeserializeOwned>(webhook: &Webhook<'_>) -> Result<T, MappingError> {
    parse_body(webhook.body).map_err(MappingError)
}

pub fn parse_body<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| match e.path().to_string() {
        path if path == "." => format!("{}", e.inner()),
        path => format!("{path}: {}", e.inner()),
    })
}
