//! `shopbridge waymore …`: the admin endpoints' operations from a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use sqlx::PgPool;

use super::jobs::{follow, print_job};
use crate::jobs::{self, Job, Runner};
use crate::secrets::vault::Vault;
use crate::waymore::client::WaymoreClient;
use crate::waymore::connection::{self, ConnectError, Credentials, DisconnectError};
use crate::waymore::export::{self as mass_export, MassExport, StartError};

const PASSWORD_VAR: &str = "WAYMORE_PASSWORD";

#[derive(Subcommand)]
pub enum WaymoreCommand {
    /// Authenticate with Routee once (the password is asked for, or read from
    /// WAYMORE_PASSWORD), keep the UUID, then send the shop's history.
    Connect {
        #[arg(long)]
        username: String,
    },
    /// Connection and export progress.
    Status,
    /// Start a new export of the shop's history (or resume the failed one) and follow it.
    Export,
    /// Send Uninstall to Waymore and forget the UUID.
    Disconnect,
}

pub async fn run(
    pool: &PgPool,
    vault: &Vault,
    exporter: Arc<Runner<MassExport>>,
    client: &WaymoreClient,
    command: WaymoreCommand,
) -> anyhow::Result<()> {
    match command {
        WaymoreCommand::Connect { username } => {
            connect(pool, vault, exporter, client, &username).await
        }
        WaymoreCommand::Status => status(pool, client).await,
        WaymoreCommand::Export => export(pool, exporter, client).await,
        WaymoreCommand::Disconnect => disconnect(pool, vault, client).await,
    }
}

fn signup(client: &WaymoreClient) -> String {
    format!(
        "No Routee account yet? Sign up at {}",
        client.settings().signup_url
    )
}

/// The password from WAYMORE_PASSWORD (for scripts), else a prompt that does not echo.
fn password() -> anyhow::Result<String> {
    if let Some(password) = std::env::var(PASSWORD_VAR).ok().filter(|p| !p.is_empty()) {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: set {PASSWORD_VAR}");
    }
    rpassword::prompt_password("Routee password: ").context("reading the password")
}

async fn connect(
    pool: &PgPool,
    vault: &Vault,
    exporter: Arc<Runner<MassExport>>,
    client: &WaymoreClient,
    username: &str,
) -> anyhow::Result<()> {
    let credentials = Credentials::parse(username, &password()?).map_err(anyhow::Error::msg)?;
    let export = exporter.definition();
    let (connection, started) = match connection::connect(
        pool,
        vault,
        client,
        export,
        &credentials,
        uuid::Uuid::new_v4(),
    )
    .await
    {
        Ok(done) => done,
        Err(ConnectError::Refused(message)) => {
            bail!(
                "Waymore refused the credentials: {message}\n{}",
                signup(client)
            )
        }
        Err(ConnectError::Upstream(e)) => bail!("{e}\n{}", signup(client)),
        Err(e) => return Err(e.into()),
    };
    println!(
        "Connected to Waymore as {} (uuid {}). Sending the shop's history, export #{}.",
        connection.username, connection.uuid_hint, started.export_id
    );
    follow(pool, exporter, "Export").await
}

async fn status(pool: &PgPool, client: &WaymoreClient) -> anyhow::Result<()> {
    match connection::current(pool).await? {
        Some(c) => println!(
            "Connected as {} since {} (uuid {})",
            c.username,
            c.connected_at.format("%Y-%m-%d %H:%M UTC"),
            c.uuid_hint
        ),
        None => println!("Not connected to Waymore. {}", signup(client)),
    }
    match jobs::latest(pool, MassExport::KIND).await? {
        Some(status) => print_job("Export", &status),
        None => println!("No export yet."),
    }
    Ok(())
}

async fn export(
    pool: &PgPool,
    exporter: Arc<Runner<MassExport>>,
    client: &WaymoreClient,
) -> anyhow::Result<()> {
    let batch_size = client.settings().batch_size;
    match mass_export::start(pool, exporter.definition(), batch_size).await {
        Ok(started) if started.resumed => println!("Resuming export #{}.", started.export_id),
        Ok(started) => println!("Starting export #{}.", started.export_id),
        Err(StartError::AlreadyRunning(id)) => println!("Export #{id} is running; following it."),
        Err(StartError::NotConnected) => {
            bail!(
                "not connected to Waymore: run `shopbridge waymore connect` first. {}",
                signup(client)
            )
        }
        Err(StartError::Database(e)) => return Err(e.into()),
    }
    follow(pool, exporter, "Export").await
}

async fn disconnect(pool: &PgPool, vault: &Vault, client: &WaymoreClient) -> anyhow::Result<()> {
    match connection::disconnect(pool, vault, client).await {
        Ok(()) => {
            println!("Disconnected from Waymore (Uninstall sent, UUID deleted).");
            Ok(())
        }
        Err(DisconnectError::NotConnected) => {
            println!("Not connected to Waymore.");
            Ok(())
        }
        Err(DisconnectError::Upstream(e)) => {
            bail!("Waymore did not take the Uninstall event ({e}); still connected, try again")
        }
        Err(e) => Err(e.into()),
    }
}
