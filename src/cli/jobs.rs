//! `shopbridge jobs …`: the resumable jobs, as the admin endpoints.

use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::jobs;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first, with their progress per stage.
    List {
        /// Only jobs of this kind, e.g. waymore.export.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Cancel an unfinished job: its runner stops before its next part.
    Cancel { id: i64 },
}

pub async fn run(pool: &PgPool, command: JobsCommand) -> anyhow::Result<Value> {
    Ok(match command {
        JobsCommand::List { kind, limit } => {
            json!({"jobs": jobs::list(pool, kind.as_deref(), i64::from(limit)).await?})
        }
        JobsCommand::Cancel { id } => match jobs::cancel(pool, id).await? {
            true => json!({"canceled": id}),
            false => anyhow::bail!("no unfinished job has id {id}"),
        },
    })
}
