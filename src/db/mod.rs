//! Database plumbing shared by every integration: the pool, the embedded cluster, migrations.

pub mod embedded;
pub mod health;
pub mod listen;
pub mod notify;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgConnection;
use sqlx::{ConnectOptions, PgPool};

use crate::configuration::{DatabaseSettings, DatabaseSource};
use crate::shop::{self, Mapping, MappingError};
use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const DEFAULT_EMBEDDED_DIR: &str = ".data/postgres";
const ROOT_FALLBACK_DIR: &str = "/var/lib/shopbridge";

/// The database name used inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "shopbridge";

/// The search path of every shopbridge session: the mapping's views of the shop (when the
/// shop is mapped), shopbridge's own schema (the event log, deliveries, destinations, jobs,
/// integrations…), then the shop's tables.
pub const SEARCH_PATH: &str = "shopbridge_shop, shopbridge, public";

/// `options` searching shopbridge's schema, then the shop's.
pub fn with_search_path(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("search_path", SEARCH_PATH)])
}

/// The checksum `20261208000002_shopbridge_schema.sql` had before it was corrected to move
/// only shopbridge's functions (and to leave a mapped shop's schema alone): a database that
/// applied it is in the state the corrected one leaves.
const CORRECTED_MIGRATION: (i64, &str) = (
    20261208000002,
    "9b8f1fb2b9a15a50960f956913cd9c16770d0d8c9bd8a79ccb4582915f70284ab93355719657e47eacf6651358079802",
);

/// Applies the migrations over `conn`, then installs `mapping`. sqlx keeps its record of
/// the migrations in shopbridge's schema, so that record moves from `public`, where it
/// stood before shopbridge had a schema of its own, under a lock two starting processes
/// share.
pub async fn migrate(conn: &mut PgConnection, mapping: &Mapping) -> Result<(), DbError> {
    let fresh: bool = sqlx::query_scalar(
        "SELECT to_regclass('shopbridge._sqlx_migrations') IS NULL
                AND to_regclass('public._sqlx_migrations') IS NULL",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(DbError::Connect)?;
    if fresh && *mapping == Mapping::Reference {
        refuse_a_platform_unmapped(conn).await?;
    }
    let (version, old) = CORRECTED_MIGRATION;
    let corrected: String = MIGRATOR
        .iter()
        .find(|m| m.version == version)
        .map(|m| m.checksum.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "BEGIN;
         SELECT pg_advisory_xact_lock(hashtext('shopbridge.schema'));
         CREATE SCHEMA IF NOT EXISTS shopbridge;
         DO $$ BEGIN
             IF to_regclass('public._sqlx_migrations') IS NOT NULL
                AND to_regclass('shopbridge._sqlx_migrations') IS NULL THEN
                 ALTER TABLE public._sqlx_migrations SET SCHEMA shopbridge;
             END IF;
             IF to_regclass('shopbridge._sqlx_migrations') IS NOT NULL THEN
                 UPDATE shopbridge._sqlx_migrations SET checksum = decode('{corrected}', 'hex')
                 WHERE version = {version} AND checksum = decode('{old}', 'hex');
             END IF;
         END $$;
         COMMIT;
         SET search_path = shopbridge, public;"
    )))
    .execute(&mut *conn)
    .await
    .map_err(DbError::Connect)?;
    sqlx::query("SELECT set_config('shopbridge.mapping', $1, false)")
        .bind(mapping.name())
        .execute(&mut *conn)
        .await
        .map_err(DbError::Connect)?;
    MIGRATOR.run(&mut *conn).await?;
    shop::install(conn, mapping).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET search_path = {SEARCH_PATH}"
    )))
    .execute(&mut *conn)
    .await
    .map_err(DbError::Connect)?;
    Ok(())
}

/// A first install with the reference mapping over a database that holds a platform's
/// tables would add shopbridge's reference tables beside them: refused, naming the preset.
async fn refuse_a_platform_unmapped(conn: &mut PgConnection) -> Result<(), DbError> {
    match shop::check::detect(conn).await.map_err(DbError::Connect)? {
        Some(preset) if preset != Mapping::Reference => Err(MappingError::Invalid {
            mapping: Mapping::Reference.name(),
            problem: format!(
                "this database holds a {0} store's tables: set SHOP_MAPPING={0} \
                 (docs/mapping.md) so shopbridge reads them instead of creating its own",
                preset.name()
            ),
        }
        .into()),
        _ => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// The connected database; owns the embedded cluster when there is one, so the cluster
/// lives exactly as long as the pool that uses it.
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let (options, embedded) = match &settings.source {
            DatabaseSource::Url(options) => ((**options).clone(), None),
            DatabaseSource::Embedded { dir, bin_dir } => {
                let options = |dir: PathBuf| EmbeddedOptions {
                    dir,
                    bin_dir: bin_dir.clone(),
                    ephemeral: false,
                };
                let cluster = match dir {
                    Some(dir) => EmbeddedPostgres::start(options(dir.clone())).await?,
                    None => start_in_default_dir(options).await?,
                };
                log::info!(
                    "embedded PostgreSQL running on 127.0.0.1:{} (data in {})",
                    cluster.port(),
                    cluster.dir().display()
                );
                cluster
                    .ensure_database(EMBEDDED_DATABASE)
                    .await
                    .map_err(DbError::Connect)?;
                (cluster.connect_options(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        let pool = pool(options, settings.max_connections)
            .await
            .map_err(DbError::Connect)?;
        Ok(Database { pool, embedded })
    }

    pub async fn migrate(&self, mapping: &Mapping) -> Result<(), DbError> {
        let mut conn = self.pool.acquire().await.map_err(DbError::Connect)?;
        migrate(&mut conn, mapping).await
    }

    /// Closes the pool, then stops the embedded cluster (if any).
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            cluster.stop();
        }
    }
}

/// The default data directory is `.data/postgres`. When shopbridge runs as root from a
/// directory the unprivileged cluster user cannot reach (a clone under /root, say), the
/// cluster goes to /var/lib/shopbridge/<hash of that path> instead, so the defaults work
/// wherever the project lives.
async fn start_in_default_dir(
    options: impl Fn(PathBuf) -> EmbeddedOptions,
) -> Result<EmbeddedPostgres, EmbeddedError> {
    let preferred = PathBuf::from(DEFAULT_EMBEDDED_DIR);
    match EmbeddedPostgres::start(options(preferred.clone())).await {
        Err(EmbeddedError::Unreachable { dir, user, blocked }) => {
            let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
            let fallback = Path::new(ROOT_FALLBACK_DIR).join(hex_prefix(&digest));
            log::warn!(
                "{} is not reachable by the `{user}` user ({} is closed to it); keeping the \
                 embedded cluster in {} instead (set EMBEDDED_PG_DIR to choose)",
                dir.display(),
                blocked.display(),
                fallback.display()
            );
            let _ = std::fs::remove_dir(&preferred);
            EmbeddedPostgres::start(options(fallback)).await
        }
        other => other,
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Every session reports timestamps in UTC, whatever the server's or role's TimeZone, and
/// searches shopbridge's schema first.
pub async fn pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(
            with_search_path(options)
                .options([("TimeZone", "UTC")])
                .application_name("shopbridge")
                .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(5)),
        )
        .await
}

/// True when every migration this binary knows has been applied successfully.
pub async fn migrations_applied<'c>(
    executor: impl sqlx::PgExecutor<'c>,
) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(executor)
            .await
            .or_else(|e| match &e {
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
                    Ok(Vec::new())
                }
                _ => Err(e),
            })?;
    Ok(MIGRATOR
        .iter()
        .all(|m| applied.binary_search(&m.version).is_ok()))
}

/// Runs a retention `DELETE` (taking the retention in seconds as `$1` and a batch size as
/// `$2`) batch after batch until a batch comes back short, so no single statement holds
/// locks on a large backlog. The rows deleted.
pub async fn delete_in_batches(
    pool: &PgPool,
    sql: &'static str,
    retention: Duration,
) -> Result<u64, sqlx::Error> {
    const BATCH: i64 = 5000;
    let mut deleted = 0;
    loop {
        let batch = sqlx::query(sql)
            .bind(retention.as_secs_f64())
            .bind(BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        deleted += batch;
        if batch < BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// Calls `prune` now and then every hour until `stopped`; `what` names it in the log.
pub async fn prune_hourly<F, Fut>(
    what: &'static str,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    prune: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<u64, sqlx::Error>>,
{
    const EVERY: Duration = Duration::from_secs(3600);
    loop {
        match prune().await {
            Ok(0) => {}
            Ok(n) => log::info!("{what}: deleted {n} past the retention period"),
            Err(e) => log::warn!("{what}: pruning failed, will try again: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}
