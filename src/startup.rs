//! Builds the application from the backbone's services and every integration's
//! [`Bundle`], and runs it until SIGINT/SIGTERM (graceful shutdown). It names no
//! integration: the list is [`crate::INTEGRATIONS`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlers, Logger};
use actix_web::{web, App, HttpResponse, HttpServer};
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::bundle::{Backbone, Bundle, Register, Routes, Start, Task};
use crate::configuration::{HttpSettings, Settings};
use crate::control;
use crate::db::health::DatabaseHealth;
use crate::db::notify::Announcer;
use crate::delivery::destinations;
use crate::delivery::kind::Kinds;
use crate::delivery::worker::Deliverer;
use crate::events;
use crate::http::admission::{self, Admission};
use crate::http::error::envelope_framework_errors;
use crate::http::{edge, tls};
use crate::openapi::ApiDoc;
use crate::outbound::address::{Guard, Lookup, SystemLookup};
use crate::outbound::load_roots;
use crate::probes;
use crate::providers::live::Live;
use crate::providers::Catalog;
use crate::secrets::vault::Vault;
use crate::webpush::vapid::{self, VapidPublicKey};

pub struct Application {
    port: u16,
    https: bool,
    server: Server,
    tasks: Vec<Task>,
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

/// The backbone a command outside `serve` builds integrations from.
pub async fn backbone(settings: &Settings, pool: &PgPool) -> anyhow::Result<Backbone> {
    let vault = open_vault(settings, pool).await?;
    let live = Live::load(pool.clone(), vault.clone()).await?;
    backbone_of(settings, pool, vault, live, Arc::new(SystemLookup))
}

/// The destination kinds of this build, as `serve` registers them.
pub async fn kinds(settings: &Settings, pool: &PgPool) -> anyhow::Result<Kinds> {
    Ok(
        bundles(&backbone(settings, pool).await?, crate::INTEGRATIONS)?
            .kinds
            .into_iter()
            .collect(),
    )
}

fn backbone_of(
    settings: &Settings,
    pool: &PgPool,
    vault: Vault,
    live: Arc<Live>,
    lookup: Arc<dyn Lookup>,
) -> anyhow::Result<Backbone> {
    let roots = match &settings.outbound.ca_file {
        Some(path) => load_roots(path).map_err(|e| anyhow::anyhow!("OUTBOUND_CA_FILE {e}"))?,
        None => Vec::new(),
    };
    Ok(Backbone {
        settings: settings.clone(),
        pool: pool.clone(),
        vault,
        guard: Guard::new(settings.outbound.allowlist.clone(), lookup),
        roots,
        live,
        events: Announcer::new(events::CHANNEL),
    })
}

/// Every integration's bundle, together.
fn bundles(backbone: &Backbone, integrations: &[Register]) -> anyhow::Result<Bundle> {
    integrations
        .iter()
        .try_fold(Bundle::default(), |all, register| {
            Ok(all.and(register(backbone)?))
        })
}

/// What the application reads from the database before it serves.
pub struct Prepared {
    vault: Vault,
    vapid_key: VapidPublicKey,
    live: Arc<Live>,
}

impl Prepared {
    /// Opens the vault, whose key must open every secret in the database (or the start
    /// stops here, saying which key they need), makes the VAPID key pair once, reads the
    /// configured integrations, and seals the destinations' secrets kept readable before.
    pub async fn load(settings: &Settings, pool: &PgPool) -> anyhow::Result<Self> {
        let vault = open_vault(settings, pool).await?;
        let vapid_key = vapid::ensure(pool, &vault).await?;
        let live = Live::load(pool.clone(), vault.clone()).await?;
        let backbone = backbone_of(
            settings,
            pool,
            vault.clone(),
            live.clone(),
            Arc::new(SystemLookup),
        )?;
        let kinds: Kinds = bundles(&backbone, crate::INTEGRATIONS)?
            .kinds
            .into_iter()
            .collect();
        let sealed = destinations::seal_readable_secrets(pool, &vault, &kinds).await?;
        if sealed > 0 {
            log::info!("sealed the secrets of {sealed} destination(s), kept readable before");
        }
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
        Self::build_integrating(settings, pool, lookup, crate::INTEGRATIONS).await
    }

    /// [`Application::build_with`] with `integrations` rather than this build's.
    pub async fn build_integrating(
        settings: &Settings,
        pool: PgPool,
        lookup: Arc<dyn Lookup>,
        integrations: &[Register],
    ) -> anyhow::Result<Self> {
        let prepared = Prepared::load(settings, &pool).await?;
        let (app, starts) = Self::assemble(settings, pool, lookup, prepared, integrations)?;
        for start in starts {
            start.await?;
        }
        Ok(app)
    }

    /// [`Application::build_with`], with what was read from the database already, and
    /// without the integrations' start-up steps.
    pub fn build_prepared(
        settings: &Settings,
        pool: PgPool,
        lookup: Arc<dyn Lookup>,
        prepared: Prepared,
    ) -> anyhow::Result<Self> {
        Self::assemble(settings, pool, lookup, prepared, crate::INTEGRATIONS).map(|(app, _)| app)
    }

    fn assemble(
        settings: &Settings,
        pool: PgPool,
        lookup: Arc<dyn Lookup>,
        prepared: Prepared,
        integrations: &[Register],
    ) -> anyhow::Result<(Self, Vec<Start>)> {
        let Prepared {
            vault,
            vapid_key,
            live,
        } = prepared;
        let backbone = backbone_of(settings, &pool, vault, live, lookup)?;
        let integrated = bundles(&backbone, integrations)?;
        let kinds: Kinds = integrated.kinds.iter().cloned().collect();
        let catalog: Catalog = integrated.providers.iter().cloned().collect();
        let all = integrated.and(services(&backbone, kinds, catalog, vapid_key));
        for warning in &all.warnings {
            log::warn!("{warning}");
        }
        let (port, https, server) = serve(&settings.http, pool, all.routes)?;
        let app = Application {
            port,
            https,
            server,
            tasks: all.tasks,
        };
        Ok((app, all.starts))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Stops the server as SIGTERM does, from within the process.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, running every background task alongside; then tells
    /// them all to stop and waits while they finish and record what they have in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let running: Vec<_> = self
            .tasks
            .into_iter()
            .map(|task| tokio::spawn(task(stopped.clone())))
            .collect();
        let served = self.server.await;
        log::info!("stopping: finishing the deliveries and job parts in flight");
        stop.send_replace(true);
        futures_util::future::join_all(running).await;
        served
    }
}

/// The backbone's own part: delivery to every destination, the event log's announcements,
/// the database's health and the admission it governs, the live integrations, the vault's
/// rotation, the probes and the control plane.
fn services(
    backbone: &Backbone,
    kinds: Kinds,
    catalog: Catalog,
    vapid_key: VapidPublicKey,
) -> Bundle {
    let Backbone {
        settings,
        pool,
        vault,
        guard,
        live,
        events,
        ..
    } = backbone.clone();
    let deliverer = Deliverer::new(
        pool.clone(),
        kinds.clone(),
        vault.clone(),
        settings.delivery.clone(),
    );
    let database = Arc::new(DatabaseHealth::beside(&pool));
    let admission = Admission::new(
        settings.database.max_connections as usize,
        settings.http.max_queued_requests,
        settings.http.queue_timeout,
        database.clone(),
    );
    let no_admin_token = settings.admin_tokens.0.is_empty();
    let rotating = (vault.clone(), pool.clone());
    Bundle::default()
        .data(web::Data::from(deliverer.clone()))
        .data(web::Data::from(database.clone()))
        .data(web::Data::from(admission))
        .data(web::Data::new(edge::BodyReadTimeout(
            settings.http.body_read_timeout,
        )))
        .data(web::Data::new(kinds))
        .data(web::Data::new(catalog))
        .data(web::Data::new(guard))
        .data(web::Data::new(vault))
        .data(web::Data::from(live.clone()))
        .data(web::Data::new(events.clone()))
        .data(web::Data::new(vapid_key))
        .data(web::Data::new(settings.admin_tokens.clone()))
        .routes(|cfg| {
            probes::routes(cfg);
            control::routes(cfg);
        })
        .task(move |stop| deliverer.run(stop))
        .task({
            let pool = pool.clone();
            move |stop| events.run(pool, stop)
        })
        .task(move |stop| async move { database.watch(stop).await })
        .task(move |stop| live.run(stop))
        .task(move |_| async move {
            let (vault, pool) = rotating;
            match vault.rotate(&pool).await {
                Ok(0) => {}
                Ok(n) => log::info!("re-sealed {n} secret(s) under the current key"),
                Err(e) => log::error!("re-sealing secrets under the current key failed: {e}"),
            }
        })
        .warn_if(
            no_admin_token,
            "ADMIN_TOKEN is empty: admin endpoints refuse every request",
        )
}

/// Binds the listener and starts the HTTP server with every bundle's routes: its port,
/// whether it speaks HTTPS, and the server.
fn serve(
    settings: &HttpSettings,
    pool: PgPool,
    routes: Vec<Routes>,
) -> anyhow::Result<(u16, bool, Server)> {
    let listener = TcpListener::bind(settings.bind_addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind_addr))?;
    let port = listener.local_addr()?.port();
    let tls = settings.tls.as_ref().map(tls::server_config).transpose()?;
    let https = tls.is_some();
    let pool = web::Data::new(pool);
    let max_body_bytes = settings.max_body_bytes;
    let server = HttpServer::new(move || {
        let app = App::new()
            .wrap(ErrorHandlers::new().default_handler(envelope_framework_errors))
            .wrap(from_fn(edge::body_deadline))
            .wrap(from_fn(admission::admit))
            .wrap(from_fn(edge::known_content_encoding))
            .wrap(from_fn(edge::bounded_head))
            .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
            .wrap(from_fn(edge::head_as_get))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(pool.clone());
        routes
            .iter()
            .fold(app, |app, routes| app.configure(|cfg| routes(cfg)))
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
    Ok((port, https, server))
}

/// Swagger UI lives under `/docs/`; its relative asset paths need the trailing slash.
async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
