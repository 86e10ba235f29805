//! The benchmarks' database: a private cluster kept between runs, or `DATABASE_URL`.

use shopbridge::configuration::{DatabaseSettings, DatabaseSource, Settings};
use shopbridge::db::Database;

/// Default settings on the benchmark database, not migrated: `DATABASE_URL` if set, else a
/// private cluster under `BENCH_PG_DIR` (default `<tmp>/<default_dir>`).
pub async fn bench_connection(default_dir: &str) -> anyhow::Result<(Settings, Database)> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    let dir: std::path::PathBuf = std::env::var_os("BENCH_PG_DIR")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join(default_dir));
    let source = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => DatabaseSource::Url(Box::new(url.parse()?)),
        None => DatabaseSource::Embedded {
            dir: Some(dir.clone()),
            bin_dir: None,
        },
    };
    // The benchmarks' partners are sinks on loopback.
    let mut settings = Settings::from_lookup(|name| {
        (name == "OUTBOUND_ALLOWLIST").then(|| "127.0.0.1".to_owned())
    })?;
    // Beside the benchmark cluster, as `serve` keeps its key beside its data.
    settings.vault.key_file = dir.with_extension("key");
    settings.database = DatabaseSettings {
        source,
        max_connections: 10,
    };
    let db = Database::connect(&settings.database).await?;
    Ok((settings, db))
}
