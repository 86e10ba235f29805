//! Applying one stored webhook to the shop tables: parse the body for its topic, map it, and
//! write it in the caller's transaction.

use sqlx::PgConnection;

use super::mapping::{Applied, MappingError, Version};
use super::topic::Topic;
use super::wire::{self, parse_body};
use super::{fulfillments, orders, products};

/// What the webhook is about and where it came from.
#[derive(Debug, Clone)]
pub struct Webhook<'a> {
    pub topic: Topic,
    pub body: &'a str,
    pub version: Version,
    /// The storefront's base URL, for product links.
    pub store_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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
fn parse<T: serde::de::DeserializeOwned>(webhook: &Webhook<'_>) -> Result<T, MappingError> {
    parse_body(webhook.body).map_err(MappingError)
}
