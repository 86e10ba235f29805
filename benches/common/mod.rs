//! What the benchmarks share: the benchmark shop, seeded once and reused.

use shopbridge::configuration::{DatabaseSettings, DatabaseSource, Settings};
use shopbridge::db::Database;
use shopbridge::demo::{self, DemoSize};

pub const SHOP: DemoSize = DemoSize {
    customers: 200_000,
    orders: 1_000_000,
};

/// Default settings on the benchmark database, and that database, holding the shop:
/// `DATABASE_URL` if set, else a private cluster under `BENCH_PG_DIR` (default
/// `<tmp>/shopbridge-bench-pg`), kept between runs so the seeding happens once.
pub async fn bench_shop() -> anyhow::Result<(Settings, Database)> {
    let (settings, db) = bench_database().await?;
    if demo::shop_counts(&db.pool).await? == (0, 0) {
        println!(
            "seeding {} customers and {} orders (once; reused by later runs)…",
            SHOP.customers, SHOP.orders
        );
        let report = demo::seed(&db.pool, SHOP).await?;
        println!("seeded in {:.1} s", report.elapsed.as_secs_f64());
        sqlx::query("VACUUM ANALYZE").execute(&db.pool).await?;
    }
    Ok((settings, db))
}

/// [`bench_shop`]'s settings and database, not seeded.
pub async fn bench_database() -> anyhow::Result<(Settings, Database)> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    let dir: std::path::PathBuf = std::env::var_os("BENCH_PG_DIR")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("shopbridge-bench-pg"));
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
    db.migrate(&settings.mapping).await?;
    Ok((settings, db))
}
