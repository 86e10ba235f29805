//! A small shop beside the benchmark shop, for figures measured on a shop of a given size.

use shopbridge::db::Database;
use shopbridge::demo::{self, DemoSize};

/// A database of its own in the benchmark's cluster holding a shop of `size`, seeded once.
pub async fn small_shop(db: &Database, size: DemoSize) -> anyhow::Result<sqlx::PgPool> {
    let name = format!("bench_{}_{}", size.customers, size.orders);
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&db.pool)
            .await?;
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&db.pool)
            .await?;
    }
    let options = (*db.pool.connect_options()).clone().database(&name);
    let pool = shopbridge::db::pool(options, 10).await?;
    shopbridge::db::migrate(
        &mut *pool.acquire().await?,
        &shopbridge::shop::Mapping::Reference,
    )
    .await?;
    if demo::shop_counts(&pool).await? == (0, 0) {
        demo::seed(&pool, size).await?;
        sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    }
    Ok(pool)
}
