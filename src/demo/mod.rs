//! Demo data: a deterministic, realistic shop built by one set-based SQL script.

use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, PgPool};

const SEED_SQL: &str = include_str!("seed.sql");

/// What `serve --demo` puts into an empty database: enough to browse every endpoint.
pub const SMALL: DemoSize = DemoSize {
    customers: 200,
    orders: 1_000,
};

#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub customers: u32,
    pub orders: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the database already holds shop data ({customers} customers, {orders} orders); \
         demo data is only seeded into an empty shop"
    )]
    NotEmpty { customers: i64, orders: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug)]
pub struct SeedReport {
    pub customers: i64,
    pub orders: i64,
    pub order_items: i64,
    pub products: i64,
    pub elapsed: Duration,
}

/// Counts of customers and orders: both zero means an empty shop.
pub async fn shop_counts(pool: &PgPool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) c),
                (SELECT count(*) FROM (SELECT 1 FROM orders LIMIT 1) o)",
    )
    .fetch_one(pool)
    .await
}

/// Fills an empty shop in one transaction: all of it or nothing.
pub async fn seed(pool: &PgPool, size: DemoSize) -> Result<SeedReport, DemoError> {
    let started = Instant::now();
    // Its own connection, so the long script is not reported as a slow statement.
    let mut conn = (*pool.connect_options())
        .clone()
        .log_slow_statements(log::LevelFilter::Off, Duration::ZERO)
        .connect()
        .await?;
    let mut tx = conn.begin().await?;
    // Serialises concurrent seeders; the emptiness check below then holds until commit.
    sqlx::query("LOCK TABLE customers, orders IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (customers, orders): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)")
            .fetch_one(&mut *tx)
            .await?;
    if customers > 0 || orders > 0 {
        return Err(DemoError::NotEmpty { customers, orders });
    }
    sqlx::query(
        "SELECT set_config('shopbridge.seed_customers', $1, true),
                set_config('shopbridge.seed_orders', $2, true)",
    )
    .bind(size.customers.to_string())
    .bind(size.orders.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::raw_sql(SEED_SQL).execute(&mut *tx).await?;
    let (customers, orders, order_items, products): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),
                (SELECT count(*) FROM order_items), (SELECT count(*) FROM products)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(SeedReport {
        customers,
        orders,
        order_items,
        products,
        elapsed: started.elapsed(),
    })
}
