//! `shopbridge waymore …`: the admin endpoints' operations from a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use sqlx::PgPool;

use crate::jobs::{RunOutcome, Runner};
use crate::secrets::vault::Vault;
use crate::waymore::client::WaymoreClient;
use crate::waymore::connection::{self, ConnectError, Credentials, DisconnectError};
use crate::waymore::export::{self, ExportState, ExportStatus, MassExport, StartError};

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
    follow(pool, exporter).await
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
    match export::latest(pool).await? {
        Some(status) => print_export(&status),
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
    match export::start(pool, exporter.definition(), batch_size).await {
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
    follow(pool, exporter).await
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

/// Runs the waiting export here (or watches the process that runs it) until it ends,
/// showing its progress; Ctrl-C leaves it to be resumed.
async fn follow(pool: &PgPool, exporter: Arc<Runner<MassExport>>) -> anyhow::Result<()> {
    let runner = tokio::spawn(async move { exporter.run_once().await });
    let mut view = ProgressView::new();
    let finished = loop {
        let status = export::latest(pool).await?;
        if let Some(status) = &status {
            view.show(status);
            if !matches!(status.state, ExportState::Pending | ExportState::Running) {
                break status.clone();
            }
        }
        if runner.is_finished() {
            // Idle or Busy: nothing for this process to run; keep watching the other one.
            if let Ok(Ok(RunOutcome::Idle)) = &runner.await {
                bail!("no export is waiting");
            }
            return watch(pool, view).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    view.finish();
    report(&finished)
}

async fn watch(pool: &PgPool, mut view: ProgressView) -> anyhow::Result<()> {
    loop {
        let status = export::latest(pool)
            .await?
            .context("the export disappeared")?;
        view.show(&status);
        if !matches!(status.state, ExportState::Pending | ExportState::Running) {
            view.finish();
            return report(&status);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn report(status: &ExportStatus) -> anyhow::Result<()> {
    print_export(status);
    match status.state {
        ExportState::Completed => Ok(()),
        _ => bail!(
            "export #{} {}: {}",
            status.id,
            serde_json::to_value(status.state)?
                .as_str()
                .unwrap_or("ended"),
            status.last_error.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

fn print_export(status: &ExportStatus) {
    println!(
        "Export #{}: {}{}",
        status.id,
        serde_json::to_value(status.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        status
            .last_error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    for entity in &status.entities {
        println!(
            "  {:<12} {:>10} / {:<10}{}",
            entity.entity,
            entity.sent,
            entity.total,
            if entity.done { " done" } else { "" }
        );
    }
}

/// Progress bars on a terminal; a line per change of entity or every few seconds otherwise.
enum ProgressView {
    Bars {
        multi: MultiProgress,
        bars: Vec<ProgressBar>,
    },
    Lines {
        last: Option<(String, i64)>,
        printed_at: std::time::Instant,
    },
}

impl ProgressView {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            ProgressView::Bars {
                multi: MultiProgress::new(),
                bars: Vec::new(),
            }
        } else {
            ProgressView::Lines {
                last: None,
                printed_at: std::time::Instant::now(),
            }
        }
    }

    fn show(&mut self, status: &ExportStatus) {
        match self {
            ProgressView::Bars { multi, bars } => {
                if bars.is_empty() {
                    let style =
                        ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} {eta}")
                            .expect("valid template")
                            .progress_chars("=> ");
                    for entity in &status.entities {
                        let bar = multi.add(ProgressBar::new(entity.total.max(0) as u64));
                        bar.set_style(style.clone());
                        bar.set_prefix(entity.entity.clone());
                        bars.push(bar);
                    }
                }
                for (bar, entity) in bars.iter().zip(&status.entities) {
                    bar.set_position(entity.sent.max(0) as u64);
                }
            }
            ProgressView::Lines { last, printed_at } => {
                let current = status
                    .entities
                    .iter()
                    .find(|e| !e.done)
                    .or(status.entities.last());
                if let Some(entity) = current {
                    let key = (entity.entity.clone(), entity.sent);
                    let moved_on = last.as_ref().is_none_or(|(name, _)| *name != key.0);
                    let changed = last.as_ref() != Some(&key);
                    if moved_on || (changed && printed_at.elapsed() >= Duration::from_secs(2)) {
                        eprintln!("{}: {}/{}", entity.entity, entity.sent, entity.total);
                        *last = Some(key);
                        *printed_at = std::time::Instant::now();
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if let ProgressView::Bars { bars, .. } = self {
            for bar in bars.iter() {
                bar.finish();
            }
        }
    }
}
