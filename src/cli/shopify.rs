//! `shopbridge shopify …`: the Shopify intake, as the admin endpoints, and replaying a
//! saved payload.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

use super::state_arg;
use crate::configuration::Settings;
use crate::shopify::inbox::{self, WebhookFilter};
use crate::shopify::topic::Topic;
use crate::shopify::worker::Applier;

#[derive(Subcommand)]
pub enum ShopifyCommand {
    /// Webhooks received, applied, pending, failed, and the last error.
    Status,
    /// Stored webhooks, newest first.
    List {
        /// pending, applied or failed.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        /// Older than this inbox id (the previous page's nextBefore).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Apply webhooks again: the ids given, or every failed one.
    Reprocess { ids: Vec<i64> },
    /// Store a saved payload as if Shopify had sent it, apply it now, and print the outcome.
    Replay {
        /// A JSON file holding one order, fulfillment or product, as Shopify sends it.
        file: std::path::PathBuf,
        /// Its topic, such as orders/create or products/update.
        #[arg(long)]
        topic: String,
        /// The shop it came from (for product links when SHOPIFY_STORE_URL is unset).
        #[arg(long)]
        shop: Option<String>,
    },
}

pub async fn run(
    settings: &Settings,
    pool: &PgPool,
    command: ShopifyCommand,
) -> anyhow::Result<Value> {
    Ok(match command {
        ShopifyCommand::Status => serde_json::to_value(inbox::status(pool).await?)?,
        ShopifyCommand::List {
            state,
            topic,
            before,
            limit,
        } => {
            let state = state_arg(state, "pending, applied or failed")?;
            let filter = WebhookFilter {
                state,
                topic,
                before,
                limit: Some(limit),
            };
            serde_json::to_value(inbox::list(pool, &filter).await?)?
        }
        ShopifyCommand::Reprocess { ids } => {
            let ids = (!ids.is_empty()).then_some(ids.as_slice());
            json!({"queued": inbox::reprocess(pool, ids).await?})
        }
        ShopifyCommand::Replay { file, topic, shop } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let topic = Topic::named(&topic)
                .with_context(|| format!("--topic: {topic:?} is not a topic shopbridge applies"))?;
            topic.check(&body).map_err(|e| {
                anyhow::anyhow!("{}: not a {} payload: {e}", file.display(), topic.name())
            })?;
            let webhook_id = format!("replay-{}", uuid::Uuid::new_v4());
            let received = inbox::Received {
                webhook_id: &webhook_id,
                topic,
                shop_domain: shop.as_deref(),
                triggered_at: Some(chrono::Utc::now()),
                api_version: None,
                body: &body,
            };
            let id = inbox::store(pool, &received)
                .await?
                .context("the replay's webhook id is taken")?;
            let applier = Applier::new(pool.clone(), settings.shopify.clone(), None, None);
            let outcome = applier
                .apply_now(id)
                .await?
                .context("the replayed webhook vanished before it was applied")?;
            let (state, detail) = outcome.describe();
            json!({"id": id, "webhookId": webhook_id, "state": state, "outcome": detail})
        }
    })
}
