//! What the benchmarks share: the benchmark shop, seeded once and reused.

mod cluster;

use shopbridge::configuration::Settings;
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
    let (settings, db) = cluster::bench_connection("shopbridge-bench-pg").await?;
    db.migrate(&settings.mapping).await?;
    Ok((settings, db))
}
