use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use shopbridge::configuration::Settings;
use shopbridge::db::Database;
use shopbridge::demo::{self, DemoSize};
use shopbridge::http::openapi;
use shopbridge::rfmcube::auth::ApiKeys;
use shopbridge::startup::Application;

/// Accepted by `serve --demo` when no Rfmcube keys are configured, so the README's curl
/// examples work at once.
const DEMO_API_KEY: &str = "demo-key";

/// Connects a shop's PostgreSQL database to Rfmcube and Routee-Waymore.
///
/// Settings come from environment variables (and a `.env` file): see `.env.example`.
/// Without DATABASE_URL, a private PostgreSQL cluster is started from the installed
/// server binaries, with its data under EMBEDDED_PG_DIR.
#[derive(Parser)]
#[command(name = "shopbridge", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (migrations are applied first).
    Serve {
        /// Seed a small demo shop first, if the database holds no customers and no orders.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Print the OpenAPI spec (the content of openapi/openapi.json).
    Openapi,
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

#[tokio::main]
async fn main() -> ExitCode {
    dotenvy::dotenv().ok();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,sqlx::postgres::notice=warn"),
    )
    .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", openapi::spec_json());
        return Ok(());
    }
    let settings = Settings::from_env()?;
    let db = Database::connect(&settings.database).await?;
    let result = match cli.command {
        Command::Serve { demo } => serve(&settings, &db, demo).await,
        Command::Migrate => db.migrate().await.map_err(Into::into).map(|()| {
            log::info!("migrations applied");
        }),
        Command::Demo {
            command: DemoCommand::Seed { customers, orders },
        } => match db.migrate().await {
            Ok(()) => seed(&db, DemoSize { customers, orders }).await,
            Err(error) => Err(error.into()),
        },
        Command::Openapi => unreachable!("handled before connecting"),
    };
    db.close().await;
    result
}

async fn serve(settings: &Settings, db: &Database, demo: bool) -> anyhow::Result<()> {
    db.migrate().await?;
    if demo && demo::shop_counts(&db.pool).await? == (0, 0) {
        seed(db, demo::SMALL).await?;
    }
    let mut settings = settings.clone();
    if demo && settings.rfmcube.api_keys.is_empty() {
        log::warn!(
            "demo mode: RFMCUBE_API_KEYS is unset, so the api-key `{DEMO_API_KEY}` is accepted"
        );
        settings.rfmcube.api_keys = ApiKeys::parse(DEMO_API_KEY);
    }
    let app = Application::build(&settings, db.pool.clone())?;
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
