use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use shopbridge::configuration::Settings;
use shopbridge::db::Database;
use shopbridge::delivery::destinations::{self, EventPattern};
use shopbridge::demo::{self, DemoSize};
use shopbridge::events::{self as shop_events, EventFilter, ReplayRequest};
use shopbridge::http::auth::{AdminTokens, SecretSet};
use shopbridge::http::openapi;
use shopbridge::rfmcube::{self, auth::ApiKeys};
use shopbridge::shopify::inbox::{self, WebhookFilter};
use shopbridge::shopify::topic::Topic;
use shopbridge::shopify::worker::Applier;
use shopbridge::startup::{export_settings, Application};
use shopbridge::waymore::cli;
use shopbridge::waymore::client::WaymoreClient;
use shopbridge::waymore::export::Exporter;

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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the OpenAPI spec (the content of openapi/openapi.json).
    Openapi,
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
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Routee-Waymore: connect, follow the mass export, disconnect.
    Waymore {
        #[command(subcommand)]
        command: WaymoreCommand,
    },
    /// The shop event log: list, inspect, retry, replay (JSON, as the admin endpoints).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Shopify webhook intake: status, stored webhooks, reprocess, replay a saved payload.
    Shopify {
        #[command(subcommand)]
        command: ShopifyCommand,
    },
}

#[derive(Subcommand)]
enum ShopifyCommand {
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

#[derive(Subcommand)]
enum EventsCommand {
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
    /// Every destination's counts, oldest pending age and current error.
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
}

#[derive(Subcommand)]
enum WaymoreCommand {
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
    // actix logs every malformed request line or header at ERROR: a client could flood the
    // log with them, so the default filter (and .env.example's) turns them off.
    env_logger::Builder::from_env(
        env_logger::Env::default()
            .default_filter_or("info,sqlx::postgres::notice=warn,actix_http::h1::dispatcher=off"),
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
    let command = match cli.command {
        Command::Openapi => {
            print!("{}", openapi::spec_json());
            return Ok(());
        }
        Command::Database(command) => command,
    };
    let settings = Settings::from_env()?;
    let db = Database::connect(&settings.database).await?;
    let result = match command {
        DatabaseCommand::Serve { demo } => serve(&settings, &db, demo).await,
        DatabaseCommand::Migrate => db.migrate().await.map_err(Into::into).map(|()| {
            log::info!("migrations applied");
        }),
        DatabaseCommand::Demo {
            command: DemoCommand::Seed { customers, orders },
        } => match db.migrate().await {
            Ok(()) => seed(&db, DemoSize { customers, orders }).await,
            Err(error) => Err(error.into()),
        },
        DatabaseCommand::Waymore { command } => waymore(&settings, &db, command).await,
        DatabaseCommand::Events { command } => match db.migrate().await {
            Ok(()) => events(&db, command).await,
            Err(error) => Err(error.into()),
        },
        DatabaseCommand::Shopify { command } => match db.migrate().await {
            Ok(()) => shopify_command(&settings, &db, command).await,
            Err(error) => Err(error.into()),
        },
    };
    db.close().await;
    result
}

async fn serve(settings: &Settings, db: &Database, demo: bool) -> anyhow::Result<()> {
    db.migrate().await?;
    if !rfmcube::sees_every_session(&db.pool).await? {
        log::warn!(
            "this database role cannot see other roles' transactions, so Rfmcube crawls may \
             miss rows of transactions still open: GRANT pg_read_all_stats TO <this role>"
        );
    }
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
    if demo && settings.admin_tokens.0.is_empty() {
        log::warn!(
            "demo mode: ADMIN_TOKEN is unset, so the admin token `{DEMO_ADMIN_TOKEN}` is accepted"
        );
        settings.admin_tokens = AdminTokens(SecretSet::parse(DEMO_ADMIN_TOKEN));
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

async fn waymore(
    settings: &Settings,
    db: &Database,
    command: WaymoreCommand,
) -> anyhow::Result<()> {
    db.migrate().await?;
    let client = WaymoreClient::new(settings.waymore.clone());
    let exporter = Exporter::new(
        db.pool.clone(),
        client.clone(),
        export_settings(&settings.waymore),
    );
    let pool = &db.pool;
    match command {
        WaymoreCommand::Connect { username } => {
            cli::connect(pool, exporter, &client, &username).await
        }
        WaymoreCommand::Status => cli::status(pool, &client).await,
        WaymoreCommand::Export => cli::export(pool, exporter, &client).await,
        WaymoreCommand::Disconnect => cli::disconnect(pool, &client).await,
    }
}

async fn events(db: &Database, command: EventsCommand) -> anyhow::Result<()> {
    let pool = &db.pool;
    let json = match command {
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
            serde_json::to_value(shop_events::list(pool, &filter).await?)?
        }
        EventsCommand::Show { id } => serde_json::to_value(
            shop_events::show(pool, id)
                .await?
                .with_context(|| format!("no event has id {id}"))?,
        )?,
        EventsCommand::Destinations => {
            serde_json::to_value(destinations::status(pool, None).await?)?
        }
        EventsCommand::Retry { destination } => {
            serde_json::json!({"queued": shop_events::retry_failed(pool, &destination).await?})
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
            serde_json::json!({"queued": shop_events::replay(pool, &destination, &request).await?})
        }
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

async fn shopify_command(
    settings: &Settings,
    db: &Database,
    command: ShopifyCommand,
) -> anyhow::Result<()> {
    let pool = &db.pool;
    let json = match command {
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
            serde_json::json!({"queued": inbox::reprocess(pool, ids).await?})
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
            let applier = Applier::new(pool.clone(), settings.shopify.clone(), None);
            let outcome = applier
                .apply_now(id)
                .await?
                .context("the replayed webhook vanished before it was applied")?;
            let (state, detail) = outcome.describe();
            serde_json::json!({"id": id, "webhookId": webhook_id, "state": state, "outcome": detail})
        }
    };
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
