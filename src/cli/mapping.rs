//! `shopbridge mapping …`: which preset fits the database, whether the configured mapping
//! serves, and the SQL it runs; `shopbridge uninstall`.

use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::db::Database;
use crate::shop::{self, check, Mapping};

#[derive(Subcommand)]
pub enum MappingCommand {
    /// Which preset fits the connected database, from its catalog (nothing is installed).
    Detect,
    /// Every relation, column and type the mapping needs exists, the indexes the window
    /// queries need exist (or the CREATE INDEX to run), and a sample of each entity reads.
    Check,
    /// The SQL each relation runs, and the capture generated from the mapping.
    Show,
}

/// `detect` looks at the database as it is; `check` and `show` at the installed mapping,
/// migrating first.
pub async fn run(db: &Database, mapping: &Mapping, command: MappingCommand) -> anyhow::Result<()> {
    match command {
        MappingCommand::Detect => super::print_json(detect(&db.pool).await?),
        MappingCommand::Check => {
            db.migrate(mapping).await?;
            let report = check::check(&mut *db.pool.acquire().await?, mapping).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.problems.is_empty() {
                bail!("the mapping {} does not check", mapping.name());
            }
            Ok(())
        }
        MappingCommand::Show => {
            db.migrate(mapping).await?;
            print!(
                "{}",
                check::show(&mut *db.pool.acquire().await?, mapping).await?
            );
            Ok(())
        }
    }
}

async fn detect(pool: &PgPool) -> anyhow::Result<Value> {
    let found = check::detect(&mut *pool.acquire().await?).await?;
    Ok(match found {
        Some(mapping) => {
            json!({"preset": mapping.name(), "set": format!("SHOP_MAPPING={}", mapping.name())})
        }
        None => json!({
            "preset": null,
            "hint": "no preset fits: write a mapping file (docs/mapping.md) and set SHOP_MAPPING to its path"
        }),
    })
}

/// Removes every object shopbridge made; the shop's tables and rows stay.
pub async fn uninstall(pool: &PgPool, confirmed: bool) -> anyhow::Result<()> {
    if !confirmed {
        bail!(
            "uninstall drops shopbridge's schemas (its event log, deliveries, integrations, \
             secrets) and its capture triggers: run it again with --yes"
        );
    }
    shop::uninstall(&mut *pool.acquire().await?).await?;
    super::print_json(json!({"uninstalled": true}))
}
