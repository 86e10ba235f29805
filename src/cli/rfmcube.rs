//! `shopbridge rfmcube …`: the Rfmcube push from a terminal, as its admin endpoints.

use std::sync::Arc;

use anyhow::bail;
use clap::Subcommand;
use sqlx::PgPool;

use super::jobs::follow;
use crate::configuration::Settings;
use crate::jobs::{self, StartError};
use crate::jobs::{JobDefinition, Runner};
use crate::outbound::address::{Guard, SystemLookup};
use crate::outbound::Client;
use crate::rfmcube::push;
use crate::rfmcube::push::check::ConsistencyCheck;
use crate::rfmcube::push::import::InitialSync;
use crate::secrets::vault::Vault;

#[derive(Subcommand)]
pub enum RfmcubeCommand {
    /// Push: where it stands, as GET /admin/rfmcube/push (JSON).
    Status,
    /// Push: send every customer and order again (or resume the failed synchronisation),
    /// and follow it.
    Import,
    /// Push: compare every customer and order with what Rfmcube was last sent, send what
    /// differs (or resume the failed check), and follow it.
    Check,
}

pub async fn run(
    settings: &Settings,
    pool: &PgPool,
    vault: &Vault,
    command: RfmcubeCommand,
) -> anyhow::Result<()> {
    let push = &settings.rfmcube_push;
    let sync = || {
        let guard = Guard::new(settings.outbound.allowlist.clone(), Arc::new(SystemLookup));
        InitialSync::new(
            pool.clone(),
            Client::guarded(push.timeout, guard),
            push.clone(),
        )
    };
    match command {
        RfmcubeCommand::Status => {
            let status = push::status(pool).await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(())
        }
        RfmcubeCommand::Import => {
            let runner = Runner::new(pool.clone(), sync(), push.import(), vault.clone());
            run_job(pool, runner, "Import", push.batch_size).await
        }
        RfmcubeCommand::Check => {
            let check = ConsistencyCheck::new(sync());
            let runner = Runner::new(pool.clone(), check, push.import(), vault.clone());
            run_job(pool, runner, "Check", push.batch_size).await
        }
    }
}

/// Starts (or resumes) the job and follows it to its end.
async fn run_job<D: JobDefinition>(
    pool: &PgPool,
    runner: Arc<Runner<D>>,
    what: &str,
    batch_size: u32,
) -> anyhow::Result<()> {
    match jobs::start(pool, runner.definition(), batch_size).await {
        Ok(started) if started.resumed => {
            println!("Resuming {} #{}.", what.to_lowercase(), started.id)
        }
        Ok(started) => println!("Starting {} #{}.", what.to_lowercase(), started.id),
        Err(StartError::AlreadyRunning(id)) => {
            println!("{what} #{id} is running; following it.")
        }
        Err(error @ StartError::NoDestination(_)) => bail!("{}", push::not_started(&error)),
        Err(StartError::Database(e)) => return Err(e.into()),
    }
    follow(pool, runner, what).await
}
