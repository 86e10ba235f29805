//! `shopbridge mapping …`: which preset fits the database, whether the configured mapping
//! serves, and the SQL it runs; `shopbridge uninstall`.

use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

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

/// `detect`, before anything is installed.
pub async fn detect(pool: &PgPool) -> anyhow::Result<Value> {
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

/// `check` and `show`, over the installed mapping.
pub async fn run(pool: &PgPool, mapping: &Mapping, command: MappingCommand) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    match command {
        MappingCommand::Detect => unreachable!("detected before migrating"),
        MappingCommand::Check => {
            let report = check::check(&mut conn, mapping).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.problems.is_empty() {
                bail!("the mapping {} does not check", mapping.name());
            }
        }
        MappingCommand::Show => print!("{}", check::show(&mut conn, mapping).await?),
    }
    Ok(())
}

/// Removes every object shopbridge made; the shop's tables and rows stay.
pub async fn uninstall(pool: &PgPool, confirmed: bool) -> anyhow::Result<Value> {
    if !confirmed {
        bail!(
            "uninstall drops shopbridge's schemas (its event log, deliveries, integrations, \
             secrets) and its capture triggers: run it again with --yes"
        );
    }
    shop::uninstall(&mut *pool.acquire().await?).await?;
    Ok(json!({"uninstalled": true}))
}
