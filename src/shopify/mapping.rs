//! What the mappings of Shopify objects to shop rows share: the version of the object a
//! webhook carries, what applying it did, and content that cannot become rows.

use chrono::{DateTime, Utc};

use super::wire::Timestamp;

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

/// The webhook's content cannot become rows (not retried: reprocess it once fixed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

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

/// PostgreSQL's data exceptions and constraint violations: the content does not fit.
pub fn refuses_content(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        _ => false,
    }
}
