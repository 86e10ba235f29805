//! Database plumbing shared by every integration: the pool, the embedded cluster, migrations.

pub mod embedded;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::configuration::{DatabaseSettings, DatabaseSource};
use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The database name used inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "shopbridge";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
                let cluster = EmbeddedPostgres::start(EmbeddedOptions {
                    dir: dir.clone(),
                    bin_dir: bin_dir.clone(),
                    ephemeral: false,
                })
                .await?;
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

    pub async fn migrate(&self) -> Result<(), DbError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, then stops the embedded cluster (if any).
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            cluster.stop();
        }
    }
}

/// Every session reports timestamps in UTC, whatever the server's or role's TimeZone.
pub async fn pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(
            options
                .options([("TimeZone", "UTC")])
                .application_name("shopbridge"),
        )
        .await
}

/// True when every migration this binary knows has been applied successfully.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
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
