//! `shopbridge events …`: the event log and its destinations, as the admin endpoints.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

use super::state_arg;
use crate::configuration::Settings;
use crate::delivery::destinations;
use crate::events::{self, EventFilter, EventPattern, ReplayRequest};
use crate::startup;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Events, newest first, with their deliveries.
    List {
        #[arg(long)]
        destination: Option<String>,
        /// pending, delivered, failed or canceled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        entity_type: Option<String>,
        #[arg(long)]
        entity_id: Option<String>,
        /// Older than this event id (the previous page's nextBefore).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One event: payload, deliveries, every attempt.
    Show { id: i64 },
    /// Every destination's counts, oldest pending age, hold and current error.
    Destinations,
    /// Queue a destination's failed deliveries again.
    Retry { destination: String },
    /// Send the events of an id range to a destination again.
    Replay {
        destination: String,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        to: i64,
        #[arg(long)]
        name: Option<String>,
    },
    /// Release a held destination: its deliveries go out again, in order.
    Release { destination: String },
}

pub async fn run(
    settings: &Settings,
    pool: &PgPool,
    command: EventsCommand,
) -> anyhow::Result<Value> {
    Ok(match command {
        EventsCommand::List {
            destination,
            state,
            name,
            entity_type,
            entity_id,
            before,
            limit,
        } => {
            let state = state_arg(state, "pending, delivered, failed or canceled")?;
            let filter = EventFilter {
                destination,
                state,
                name,
                entity_type,
                entity_id,
                before,
                limit: Some(limit),
                ..EventFilter::default()
            };
            serde_json::to_value(events::list(pool, &filter).await?)?
        }
        EventsCommand::Show { id } => serde_json::to_value(
            events::show(pool, id)
                .await?
                .with_context(|| format!("no event has id {id}"))?,
        )?,
        EventsCommand::Destinations => {
            let kinds = startup::kinds(settings, pool).await?;
            serde_json::to_value(destinations::status(pool, &kinds, None).await?)?
        }
        EventsCommand::Retry { destination } => {
            json!({"queued": events::retry_failed(pool, &destination).await?})
        }
        EventsCommand::Replay {
            destination,
            from,
            to,
            name,
        } => {
            let request = ReplayRequest {
                from_event_id: from,
                to_event_id: to,
                name: name
                    .map(EventPattern::try_from)
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
            };
            json!({"queued": events::replay(pool, &destination, &request).await?})
        }
        EventsCommand::Release { destination } => {
            if !destinations::release(pool, &destination).await? {
                anyhow::bail!("no destination is named {destination:?}");
            }
            json!({"released": destination})
        }
    })
}
