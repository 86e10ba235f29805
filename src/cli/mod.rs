//! The `shopbridge` command line: `serve`, `migrate`, and the operators' commands, each the
//! same operation as its admin endpoint, printing JSON (`waymore` follows the export with a
//! progress bar).

mod events;
mod jobs;
mod mapping;
mod rfmcube;
mod shopify;
mod waymore;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::configuration::{AdminTokens, Settings};
use crate::db::{self, Database};
use crate::demo::{self, DemoSize};
use crate::jobs::Runner;
use crate::openapi;
use crate::secrets::SecretSet;
use crate::shop;
use crate::startup::{self, Application};
use crate::waymore::client::WaymoreClient;
use crate::waymore::export::MassExport;

/// Accepted by `serve --demo` when no Rfmcube keys are configured, so the README's curl
/// examples work at once.
const DEMO_API_KEY: &str = "demo-key";
/// The same, for the admin endpoints when no ADMIN_TOKEN is configured.
const DEMO_ADMIN_TOKEN: &str = "demo-admin";

/// Connects a shop's PostgreSQL database to Rfmcube and Routee-Waymore.
///
/// Settings come from environment variables (and a `.env` file): see `.env.example`.
/// Without DATABASE_URL, a private PostgreSQL cluster is started from the installed
/// server binaries, with its data under EMBEDDED_PG_DIR.
#[derive(Parser)]
#[command(name = "shopbridge", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the OpenAPI spec (the content of openapi/openapi.json).
    Openapi,
    /// The mapping from the shop's tables to what shopbridge reads (SHOP_MAPPING).
    Mapping {
        #[command(subcommand)]
        command: mapping::MappingCommand,
    },
    /// Remove every object shopbridge made in the database (its schemas, its capture
    /// triggers); the shop's tables and rows stay as they were.
    Uninstall {
        /// Confirms the removal.
        #[arg(long)]
        yes: bool,
    },
    #[command(flatten)]
    Database(DatabaseCommand),
}

/// The commands that work on the database.
#[derive(Subcommand)]
enum DatabaseCommand {
    /// Run the HTTP API (migrations are applied first).
    Serve {
        /// Seed a small demo shop first, if the database holds no customers and no orders.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Apply the migrations, then print the database's schema as `docs/schema.sql` holds it
    /// (needs `pg_dump`, beside `initdb`).
    Schema,
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Routee-Waymore: connect, follow the mass export, disconnect.
    Waymore {
        #[command(subcommand)]
        command: waymore::WaymoreCommand,
    },
    /// The shop event log and its destinations: list, inspect, retry, replay, release
    /// (JSON, as the admin endpoints).
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Resumable jobs: list with progress, cancel (JSON, as the admin endpoints).
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Rfmcube push: status, the initial synchronisation again, the consistency check.
    Rfmcube {
        #[command(subcommand)]
        command: rfmcube::RfmcubeCommand,
    },
    /// Shopify webhook intake: status, stored webhooks, reprocess, replay a saved payload.
    Shopify {
        #[command(subcommand)]
        command: shopify::ShopifyCommand,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Fill an empty shop with deterministic, realistic fake data.
    Seed {
        #[arg(long, default_value_t = 2_000)]
        customers: u32,
        #[arg(long, default_value_t = 10_000)]
        orders: u32,
    },
}

/// Runs one command to its end.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", openapi::spec_json());
        return Ok(());
    }
    let settings = Settings::from_env()?;
    let db = Database::connect(&settings.database).await?;
    let result = match cli.command {
        Command::Openapi => Ok(()),
        Command::Mapping { command } => mapping::run(&db, &settings.mapping, command).await,
        Command::Uninstall { yes } => mapping::uninstall(&db.pool, yes).await,
        Command::Database(command) => migrated(&settings, &db, command).await,
    };
    db.close().await;
    result
}

/// Runs `command` once the database is migrated.
async fn migrated(
    settings: &Settings,
    db: &Database,
    command: DatabaseCommand,
) -> anyhow::Result<()> {
    db.migrate(&settings.mapping).await?;
    on_database(settings, db, command).await
}

/// Runs a command on the migrated database.
async fn on_database(
    settings: &Settings,
    db: &Database,
    command: DatabaseCommand,
) -> anyhow::Result<()> {
    let pool = &db.pool;
    match command {
        DatabaseCommand::Serve { demo } => serve(settings, db, demo).await,
        DatabaseCommand::Migrate => {
            log::info!("migrations applied");
            Ok(())
        }
        DatabaseCommand::Schema => {
            print!("{}", db::schema::dump(pool, settings).await?);
            Ok(())
        }
        DatabaseCommand::Demo {
            command: DemoCommand::Seed { customers, orders },
        } => seed(db, DemoSize { customers, orders }).await,
        DatabaseCommand::Waymore { command } => {
            let client = WaymoreClient::new(settings.waymore.clone());
            let vault = startup::open_vault(settings, pool).await?;
            let exporter = Runner::new(
                pool.clone(),
                MassExport::new(pool.clone(), client.clone()),
                settings.waymore.export(),
                vault.clone(),
            );
            waymore::run(pool, &vault, exporter, &client, command).await
        }
        DatabaseCommand::Events { command } => {
            print_json(events::run(settings, pool, command).await?)
        }
        DatabaseCommand::Jobs { command } => print_json(jobs::run(pool, command).await?),
        DatabaseCommand::Rfmcube { command } => {
            let vault = startup::open_vault(settings, pool).await?;
            rfmcube::run(settings, pool, &vault, command).await
        }
        DatabaseCommand::Shopify { command } => {
            print_json(shopify::run(settings, pool, command).await?)
        }
    }
}

fn print_json(json: serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// A `--state` value read as the API reads it; `choices` name the accepted values.
fn state_arg<T: serde::de::DeserializeOwned>(
    state: Option<String>,
    choices: &str,
) -> anyhow::Result<Option<T>> {
    state
        .map(|s| serde_json::from_value(serde_json::Value::String(s)))
        .transpose()
        .with_context(|| format!("--state: {choices}"))
}

async fn serve(settings: &Settings, db: &Database, demo: bool) -> anyhow::Result<()> {
    if !crate::rfmcube::sees_every_session(&db.pool).await? {
        log::warn!(
            "this database role cannot see other roles' transactions, so Rfmcube crawls may \
             miss rows of transactions still open: GRANT pg_read_all_stats TO <this role>"
        );
    }
    if demo && demo::shop_counts(&db.pool).await? == (0, 0) {
        seed(db, demo::SMALL).await?;
    }
    let report = shop::check::check(&mut *db.pool.acquire().await?, &settings.mapping).await?;
    if !report.problems.is_empty() {
        anyhow::bail!(
            "the mapping {} does not check (`shopbridge mapping check` says more): {}",
            report.mapping,
            report.problems.join("; ")
        );
    }
    for statement in &report.create_indexes {
        log::warn!("the window queries need an index the shop lacks: {statement}");
    }
    let mut settings = settings.clone();
    if demo && settings.rfmcube.api_keys.is_empty() {
        log::warn!(
            "demo mode: RFMCUBE_API_KEYS is unset, so the api-key `{DEMO_API_KEY}` is accepted"
        );
        settings.rfmcube.api_keys = SecretSet::parse(DEMO_API_KEY);
    }
    if demo && settings.admin_tokens.0.is_empty() {
        log::warn!(
            "demo mode: ADMIN_TOKEN is unset, so the admin token `{DEMO_ADMIN_TOKEN}` is accepted"
        );
        settings.admin_tokens = AdminTokens(SecretSet::parse(DEMO_ADMIN_TOKEN));
    }
    let app = Application::build(&settings, db.pool.clone()).await?;
    let scheme = if app.is_https() { "https" } else { "http" };
    let addr = settings.http.bind_addr;
    log::info!(
        "listening on {scheme}://{}:{}; API docs at /docs",
        addr.ip(),
        app.port()
    );
    app.run_until_stopped().await.context("HTTP server failed")
}

async fn seed(db: &Database, size: DemoSize) -> anyhow::Result<()> {
    log::info!(
        "seeding {} customers and {} orders…",
        size.customers,
        size.orders
    );
    let report = demo::seed(&db.pool, size).await?;
    log::info!(
        "seeded {} customers, {} orders ({} items), {} products in {:.1} s",
        report.customers,
        report.orders,
        report.order_items,
        report.products,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}
