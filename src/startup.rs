//! Builds the HTTP application and runs it until SIGINT/SIGTERM (graceful shutdown).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlers, Logger};
use actix_web::{web, App, HttpResponse, HttpServer};
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::configuration::Settings;
use crate::control;
use crate::control::integrations::Environment;
use crate::db::health::DatabaseHealth;
use crate::db::notify::Announcer;
use crate::delivery::destinations;
use crate::delivery::kind::Kinds;
use crate::delivery::worker::Deliverer;
use crate::http::admission::{self, Admission};
use crate::http::error::envelope_framework_errors;
use crate::http::{edge, tls};
use crate::jobs::pull::PullRunner;
use crate::jobs::Runner;
use crate::one;
use crate::one::provider::OneProvider;
use crate::openapi::ApiDoc;
use crate::outbound::address::{Guard, Lookup, SystemLookup};
use crate::outbound::{load_roots, Client};
use crate::probes;
use crate::providers::live::{Live, Standing};
use crate::providers::Catalog;
use crate::rfmcube::provider::RfmcubeProvider;
use crate::rfmcube::push::check::ConsistencyCheck;
use crate::rfmcube::push::destination::RfmcubeKind;
use crate::rfmcube::push::import::InitialSync;
use crate::rfmcube::push::Push;
use crate::rfmcube::{self, cursor::CursorKeys};
use crate::secrets::vault::Vault;
use crate::shopify::admin::import::{Catalog as ProductCatalog, OrderHistory, Reader};
use crate::shopify::admin::tracking::TrackingKind;
use crate::shopify::admin::Admin;
use crate::shopify::provider::ShopifyProvider;
use crate::shopify::{self, worker::Applier, ShopifyAnnouncer};
use crate::waymore::client::WaymoreClient;
use crate::waymore::destination::WaymoreKind;
use crate::waymore::export::MassExport;
use crate::waymore::provider::WaymoreProvider;
use crate::waymore::{self, Waymore};
use crate::webhook::provider::WebhookProvider;
use crate::webhook::WebhookKind;
use crate::webpush::vapid::{self, VapidPublicKey};
use crate::workflows::engine::{Engine, WorkflowKind};

pub struct Application {
    port: u16,
    https: bool,
    server: Server,
    exporter: Arc<Runner<MassExport>>,
    push: Push,
    shopify_admin: Admin,
    deliverer: Arc<Deliverer>,
    pool: PgPool,
    announcer: Announcer,
    shopify_announcer: Announcer,
    applier: Arc<Applier>,
    database: Arc<DatabaseHealth>,
    live: Arc<Live>,
    vault: Vault,
    one_retention: Duration,
    shopify_retention: Duration,
    execution_retention: Duration,
}

/// The kinds of destination this build knows, each from its integration's folder.
pub fn destination_kinds(
    settings: &Settings,
    pool: &PgPool,
    guard: &Guard,
    waymore: &WaymoreClient,
    workflows: &Arc<Engine>,
) -> anyhow::Result<Kinds> {
    Ok(Kinds::default()
        .with(WebhookKind::new(settings.delivery.timeout, guard.clone()))
        .with(WaymoreKind::new(waymore.clone()))
        .with(WorkflowKind(workflows.clone()))
        .with(RfmcubeKind::new(
            pool.clone(),
            rfmcube_push_client(settings, guard),
            settings.rfmcube_push.clone(),
        ))
        .with(TrackingKind::new(
            pool.clone(),
            shopify_client(settings, guard)?,
            settings.shopify.admin_timeout,
        )))
}

/// The certificate authorities trusted besides the system's (`OUTBOUND_CA_FILE`).
fn outbound_roots(settings: &Settings) -> anyhow::Result<Vec<reqwest::Certificate>> {
    match &settings.outbound.ca_file {
        Some(path) => load_roots(path).map_err(|e| anyhow::anyhow!("OUTBOUND_CA_FILE {e}")),
        None => Ok(Vec::new()),
    }
}

/// What reaches a store's Admin API.
fn shopify_client(settings: &Settings, guard: &Guard) -> anyhow::Result<Client> {
    Ok(Client::guarded_trusting(
        settings.shopify.admin_timeout,
        guard.clone(),
        &outbound_roots(settings)?,
    ))
}

/// The Admin API side of Shopify: its imports' runners and what connecting needs.
fn shopify_admin(
    settings: &Settings,
    pool: &PgPool,
    guard: &Guard,
    vault: &Vault,
    kinds: &Kinds,
) -> anyhow::Result<Admin> {
    let http = shopify_client(settings, guard)?;
    let reader = Reader::new(pool.clone(), http.clone());
    let job = settings.shopify.import();
    Ok(Admin {
        pool: pool.clone(),
        http,
        vault: vault.clone(),
        kinds: kinds.clone(),
        orders: PullRunner::new(
            pool.clone(),
            OrderHistory::new(reader.clone()),
            job.clone(),
            vault.clone(),
        ),
        products: PullRunner::new(
            pool.clone(),
            ProductCatalog::new(reader),
            job,
            vault.clone(),
        ),
        public_url: settings.shopify.public_url.clone(),
    })
}

/// What the Rfmcube push reaches Rfmcube's API with.
fn rfmcube_push_client(settings: &Settings, guard: &Guard) -> Client {
    Client::guarded(settings.rfmcube_push.timeout, guard.clone())
}

/// The Rfmcube push's runners (initial synchronisation, consistency check) and what
/// configuring it needs.
fn rfmcube_push(
    settings: &Settings,
    pool: &PgPool,
    guard: &Guard,
    vault: &Vault,
    kinds: &Kinds,
) -> Push {
    let sync = || {
        InitialSync::new(
            pool.clone(),
            rfmcube_push_client(settings, guard),
            settings.rfmcube_push.clone(),
        )
    };
    let job = settings.rfmcube_push.import();
    Push {
        vault: vault.clone(),
        kinds: kinds.clone(),
        importer: Runner::new(pool.clone(), sync(), job.clone(), vault.clone()),
        checker: Runner::new(
            pool.clone(),
            ConsistencyCheck::new(sync()),
            job,
            vault.clone(),
        ),
    }
}

/// What runs workflows: the SMTP relay, the templates, the push and webhook clients.
pub fn workflow_engine(
    settings: &Settings,
    pool: &PgPool,
    vault: &Vault,
    guard: &Guard,
) -> anyhow::Result<Arc<Engine>> {
    let roots = outbound_roots(settings)?;
    Ok(Arc::new(Engine::new(
        pool.clone(),
        vault.clone(),
        settings.workflows.clone(),
        &settings.email,
        Client::guarded_trusting(settings.delivery.timeout, guard.clone(), &roots),
        WebhookKind::new(settings.delivery.timeout, guard.clone()),
    )?))
}

/// The providers the integrations API configures, each from its integration's folder;
/// `waymore` is the one that starts the mass export.
pub fn providers(
    settings: &Settings,
    guard: &Guard,
    vault: &Vault,
    kinds: &Kinds,
    waymore: WaymoreProvider,
    push: &Push,
    shopify: &Admin,
) -> Catalog {
    Catalog::default()
        .with(ShopifyProvider {
            admin: shopify.clone(),
        })
        .with(waymore)
        .with(RfmcubeProvider {
            push: push.clone(),
            push_url: settings.rfmcube_push.url.clone(),
        })
        .with(OneProvider)
        .with(WebhookProvider {
            guard: guard.clone(),
            vault: vault.clone(),
            kinds: kinds.clone(),
        })
}

/// The vault of this process: the key must open every secret in the database (or this
/// stops here, saying which key they need).
pub async fn open_vault(settings: &Settings, pool: &PgPool) -> anyhow::Result<Vault> {
    let vault = Vault::load(
        settings.vault.key.as_ref(),
        &settings.vault.key_file,
        settings.vault.previous.as_ref(),
    )?;
    match &settings.vault.key {
        Some(_) => log::info!(
            "secrets are sealed with SHOPBRIDGE_SECRET_KEY (key {})",
            vault.key_id()
        ),
        None => log::info!(
            "secrets are sealed with the key in {} (key {})",
            settings.vault.key_file.display(),
            vault.key_id()
        ),
    }
    let to_rotate = vault.check(pool).await?;
    if to_rotate > 0 {
        log::info!(
            "{to_rotate} secret(s) are sealed under the previous key: re-sealing them in the \
             background"
        );
    }
    Ok(vault)
}

/// What the application reads from the database before it serves.
pub struct Prepared {
    vault: Vault,
    vapid_key: VapidPublicKey,
    live: Arc<Live>,
}

impl Prepared {
    /// Opens the vault, whose key must open every secret in the database (or the start
    /// stops here, saying which key they need), seals what was kept readable before, makes
    /// the VAPID key pair once, and reads the configured integrations.
    pub async fn load(settings: &Settings, pool: &PgPool) -> anyhow::Result<Self> {
        let vault = open_vault(settings, pool).await?;
        let guard = Guard::new(settings.outbound.allowlist.clone(), Arc::new(SystemLookup));
        let kinds = destination_kinds(
            settings,
            pool,
            &guard,
            &WaymoreClient::new(settings.waymore.clone()),
            &workflow_engine(settings, pool, &vault, &guard)?,
        )?;
        let sealed = destinations::seal_readable_secrets(pool, &vault, &kinds).await?;
        if sealed > 0 {
            log::info!("sealed the secrets of {sealed} destination(s), kept readable before");
        }
        let vapid_key = vapid::ensure(pool, &vault).await?;
        let live = Live::load(pool.clone(), vault.clone()).await?;
        Ok(Prepared {
            vault,
            vapid_key,
            live,
        })
    }
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub async fn build(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        Self::build_with(settings, pool, Arc::new(SystemLookup)).await
    }

    /// [`Application::build`], resolving the hosts of the URLs users give with `lookup`.
    pub async fn build_with(
        settings: &Settings,
        pool: PgPool,
        lookup: Arc<dyn Lookup>,
    ) -> anyhow::Result<Self> {
        let prepared = Prepared::load(settings, &pool).await?;
        let configured = !matches!(
            prepared.live.lookup(rfmcube::provider::CODE),
            Standing::Unconfigured
        );
        let app = Self::build_prepared(settings, pool.clone(), lookup, prepared)?;
        app.push
            .from_environment(&pool, &settings.rfmcube_push, configured)
            .await?;
        Ok(app)
    }

    /// [`Application::build_with`], with what was read from the database already.
    pub fn build_prepared(
        settings: &Settings,
        pool: PgPool,
        lookup: Arc<dyn Lookup>,
        prepared: Prepared,
    ) -> anyhow::Result<Self> {
        let Prepared {
            vault,
            vapid_key,
            live,
        } = prepared;
        let unconfigured = |code| matches!(live.lookup(code), Standing::Unconfigured);
        let cursor_keys = web::Data::new(CursorKeys::new(pool.clone()));
        let rfmcube_settings = web::Data::new(settings.rfmcube.clone());
        if settings.rfmcube.api_keys.is_empty() && unconfigured(rfmcube::provider::CODE) {
            log::warn!(
                "RFMCUBE_API_KEYS is empty and Rfmcube is not configured (/api/integrations): \
                 /rfmcube endpoints refuse every request"
            );
        }
        if settings.one.credentials.is_empty() && unconfigured(one::provider::CODE) {
            log::warn!(
                "ONE_WEBHOOK_CREDENTIALS is empty and ONe is not configured (/api/integrations): \
                 /one endpoints refuse every request"
            );
        }
        let one_settings = web::Data::new(settings.one.clone());
        let one_retention = settings.one.retention;
        let announcer = Announcer::new(crate::events::CHANNEL);
        let announcer_data = web::Data::new(announcer.clone());
        if settings.shopify.secrets.is_empty() && unconfigured(shopify::provider::CODE) {
            log::warn!(
                "SHOPIFY_WEBHOOK_SECRETS is empty and Shopify is not configured \
                 (/api/integrations): /shopify endpoints refuse every webhook"
            );
        }
        let shopify_settings = web::Data::new(settings.shopify.clone());
        let shopify_retention = settings.shopify.retention;
        let execution_retention = settings.delivery.retention;
        let shopify_announcer = Announcer::new(shopify::inbox::CHANNEL);
        let shopify_announcer_data = web::Data::new(ShopifyAnnouncer(shopify_announcer.clone()));
        let applier = Applier::new(
            pool.clone(),
            settings.shopify.clone(),
            Some(announcer.clone()),
            Some(live.clone()),
        );
        let applier_data = web::Data::from(applier.clone());
        let admin_tokens = web::Data::new(settings.admin_tokens.clone());
        if admin_tokens.0.is_empty() {
            log::warn!("ADMIN_TOKEN is empty: /waymore admin endpoints refuse every request");
        }
        let client = WaymoreClient::new(settings.waymore.clone());
        let exporter = Runner::new(
            pool.clone(),
            MassExport::new(pool.clone(), client.clone()),
            settings.waymore.export(),
            vault.clone(),
        );
        let guard = Guard::new(settings.outbound.allowlist.clone(), lookup);
        let engine = workflow_engine(settings, &pool, &vault, &guard)?;
        if engine.mailer.is_none() {
            log::warn!("SMTP_URL is not set: workflows that send email are held until it is");
        }
        let kinds = destination_kinds(settings, &pool, &guard, &client, &engine)?;
        let engine = web::Data::from(engine);
        let vapid_key = web::Data::new(vapid_key);
        let push = rfmcube_push(settings, &pool, &guard, &vault, &kinds);
        let shopify_admin = shopify_admin(settings, &pool, &guard, &vault, &kinds)?;
        let waymore_provider = WaymoreProvider {
            client: client.clone(),
            vault: vault.clone(),
            exporter: exporter.clone(),
        };
        let catalog = web::Data::new(providers(
            settings,
            &guard,
            &vault,
            &kinds,
            waymore_provider,
            &push,
            &shopify_admin,
        ));
        let push_data = web::Data::new(push.clone());
        let shopify_admin_data = web::Data::new(shopify_admin.clone());
        let environment = web::Data::new(Environment::of(
            &settings.shopify,
            &settings.one,
            &settings.rfmcube,
            &settings.rfmcube_push,
        ));
        let deliverer = Deliverer::new(
            pool.clone(),
            kinds.clone(),
            vault.clone(),
            settings.delivery.clone(),
        );
        let kinds = web::Data::new(kinds);
        let vault_data = web::Data::new(vault.clone());
        let live_data = web::Data::from(live.clone());
        let guard = web::Data::new(guard);
        let waymore = web::Data::new(Waymore {
            client,
            vault: vault.clone(),
            exporter: exporter.clone(),
            deliverer: deliverer.clone(),
        });
        let deliverer_data = web::Data::from(deliverer.clone());
        let database = Arc::new(DatabaseHealth::beside(&pool));
        let admission = web::Data::from(Admission::new(
            settings.database.max_connections as usize,
            settings.http.max_queued_requests,
            settings.http.queue_timeout,
            database.clone(),
        ));
        let database_data = web::Data::from(database.clone());
        let body_read_timeout =
            web::Data::new(edge::BodyReadTimeout(settings.http.body_read_timeout));
        let settings = &settings.http;
        let listener = TcpListener::bind(settings.bind_addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let tls = settings.tls.as_ref().map(tls::server_config).transpose()?;
        let https = tls.is_some();
        let pool_for_workers = pool.clone();
        let pool = web::Data::new(pool);
        let max_body_bytes = settings.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().default_handler(envelope_framework_errors))
                .wrap(from_fn(edge::body_deadline))
                .wrap(from_fn(admission::admit))
                .wrap(from_fn(edge::known_content_encoding))
                .wrap(from_fn(edge::bounded_head))
                .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
                .wrap(from_fn(edge::head_as_get))
                .app_data(web::PayloadConfig::new(max_body_bytes))
                .app_data(pool.clone())
                .app_data(database_data.clone())
                .app_data(admission.clone())
                .app_data(body_read_timeout.clone())
                .app_data(cursor_keys.clone())
                .app_data(rfmcube_settings.clone())
                .app_data(kinds.clone())
                .app_data(guard.clone())
                .app_data(admin_tokens.clone())
                .app_data(waymore.clone())
                .app_data(deliverer_data.clone())
                .app_data(one_settings.clone())
                .app_data(announcer_data.clone())
                .app_data(shopify_settings.clone())
                .app_data(shopify_announcer_data.clone())
                .app_data(applier_data.clone())
                .app_data(vault_data.clone())
                .app_data(vapid_key.clone())
                .app_data(live_data.clone())
                .app_data(catalog.clone())
                .app_data(environment.clone())
                .app_data(engine.clone())
                .app_data(push_data.clone())
                .app_data(shopify_admin_data.clone())
                .configure(probes::routes)
                .configure(rfmcube::routes)
                .configure(waymore::routes)
                .configure(control::routes)
                .configure(one::routes)
                .configure(shopify::routes)
                .service(web::resource("/docs").route(web::get().to(redirect_to_docs)))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
                .default_service(web::to(HttpResponse::NotFound))
        })
        .shutdown_timeout(30);
        let server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Application {
            port,
            https,
            server,
            exporter,
            push,
            shopify_admin,
            deliverer,
            pool: pool_for_workers,
            announcer,
            shopify_announcer,
            applier,
            database,
            live,
            vault,
            one_retention,
            shopify_retention,
            execution_retention,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Serves until SIGINT/SIGTERM, running the background workers alongside; then lets
    /// the workers finish and record what they have in flight before returning.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let deliverer = tokio::spawn(self.deliverer.clone().run(stopped));
        let exporter = tokio::spawn(self.exporter.clone().run_worker());
        let importer = tokio::spawn(self.push.importer.clone().run_worker());
        let checker = tokio::spawn(self.push.checker.clone().run_worker());
        let order_import = tokio::spawn(self.shopify_admin.orders.clone().run_worker());
        let product_import = tokio::spawn(self.shopify_admin.products.clone().run_worker());
        let announcer = tokio::spawn(self.announcer.run(self.pool.clone(), stop.subscribe()));
        let one_pruner = tokio::spawn(one::prune_until_stopped(
            self.pool.clone(),
            self.one_retention,
            stop.subscribe(),
        ));
        let shopify_announcer = tokio::spawn(
            self.shopify_announcer
                .run(self.pool.clone(), stop.subscribe()),
        );
        let applier = tokio::spawn(self.applier.clone().run(stop.subscribe()));
        let database = tokio::spawn({
            let (database, stop) = (self.database.clone(), stop.subscribe());
            async move { database.watch(stop).await }
        });
        let live = tokio::spawn(self.live.clone().run(stop.subscribe()));
        let rotation = tokio::spawn({
            let (vault, pool) = (self.vault.clone(), self.pool.clone());
            async move {
                match vault.rotate(&pool).await {
                    Ok(0) => {}
                    Ok(n) => log::info!("re-sealed {n} secret(s) under the current key"),
                    Err(e) => log::error!("re-sealing secrets under the current key failed: {e}"),
                }
            }
        });
        let shopify_pruner = tokio::spawn(shopify::prune_until_stopped(
            self.pool.clone(),
            self.shopify_retention,
            stop.subscribe(),
        ));
        let execution_pruner = tokio::spawn(crate::workflows::executions::prune_until_stopped(
            self.pool.clone(),
            self.execution_retention,
            stop.subscribe(),
        ));
        let served = self.server.await;
        log::info!("stopping: finishing the deliveries and export parts in flight");
        stop.send_replace(true);
        self.exporter.stop();
        self.push.importer.stop();
        self.push.checker.stop();
        self.shopify_admin.orders.stop();
        self.shopify_admin.products.stop();
        let _ = tokio::join!(
            deliverer,
            exporter,
            importer,
            checker,
            order_import,
            product_import,
            one_pruner,
            announcer,
            applier,
            shopify_announcer,
            shopify_pruner,
            execution_pruner,
            database,
            live,
            rotation
        );
        served
    }
}

/// Swagger UI lives under `/docs/`; its relative asset paths need the trailing slash.
async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
