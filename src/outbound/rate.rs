//! Partners' limits, shared by every process through PostgreSQL: the limit is the partner's,
//! so two `serve` processes must not each take all of it.
//!
//! - [`SharedLimit`]: requests a minute ("60 requests a minute per account"). Requests go
//!   out evenly spaced (GCRA without a burst, `rate_limits`): each takes the next free slot
//!   in one statement and waits for it; a `Retry-After` moves every process's next slot to
//!   when the partner said.
//! - [`SharedBucket`]: query cost (Shopify's GraphQL Admin API: a bucket of points refilled
//!   at a restore rate, `cost_buckets`). Each request takes its cost, into debt if need be,
//!   and waits until the debt is refilled; the partner's answer corrects the balance.

use std::time::Duration;

use sqlx::PgPool;

/// How much wider than the partner's limit requests are spaced: the partner counts arrivals,
/// and network jitter could otherwise bring one request more into its window.
const MARGIN: f64 = 1.02;

/// One partner account's limit.
#[derive(Clone)]
pub struct SharedLimit {
    pool: PgPool,
    key: String,
    spacing: Duration,
}

impl SharedLimit {
    /// `requests` per `per` for `key` (the account's name, never a secret).
    pub fn new(pool: PgPool, key: impl Into<String>, requests: u32, per: Duration) -> Self {
        SharedLimit {
            pool,
            key: key.into(),
            spacing: per.mul_f64(MARGIN) / requests.max(1),
        }
    }

    /// The time between two requests.
    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Takes the next slot and waits for it.
    pub async fn acquire(&self) -> Result<(), sqlx::Error> {
        let wait: f64 = sqlx::query_scalar(
            "INSERT INTO rate_limits AS r (key, next_at)
             VALUES ($1, clock_timestamp() + make_interval(secs => $2))
             ON CONFLICT (key) DO UPDATE
             SET next_at = greatest(r.next_at, clock_timestamp()) + make_interval(secs => $2)
             RETURNING extract(epoch FROM r.next_at - clock_timestamp())::float8 - $2",
        )
        .bind(&self.key)
        .bind(self.spacing.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        Ok(())
    }

    /// Waits until the next slot is free, without taking it: a caller that gathers what to
    /// send while it waits sends all of it in the slot.
    pub async fn wait_for_turn(&self) -> Result<(), sqlx::Error> {
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM next_at - clock_timestamp())::float8
             FROM rate_limits WHERE key = $1",
        )
        .bind(&self.key)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(wait) = wait.filter(|wait| *wait > 0.0) {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        Ok(())
    }

    /// The partner asked for no request before `wait` from now: no process sends one.
    pub async fn hold_off(&self, wait: Duration) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO rate_limits AS r (key, next_at)
             VALUES ($1, clock_timestamp() + make_interval(secs => $2))
             ON CONFLICT (key) DO UPDATE
             SET next_at = greatest(r.next_at, clock_timestamp() + make_interval(secs => $2))",
        )
        .bind(&self.key)
        .bind(wait.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// One partner account's budget of query cost.
#[derive(Clone)]
pub struct SharedBucket {
    pool: PgPool,
    key: String,
}

/// The partner's own count after an answer (Shopify's `extensions.cost.throttleStatus`).
#[derive(Debug, Clone, Copy)]
pub struct Balance {
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
}

impl SharedBucket {
    /// The budget of `key` (the account's name, never a secret), as the partner described it
    /// when it is new; later answers correct it.
    pub async fn open(
        pool: PgPool,
        key: impl Into<String>,
        first: Balance,
    ) -> Result<Self, sqlx::Error> {
        let key = key.into();
        sqlx::query(
            "INSERT INTO cost_buckets (key, maximum, restore_rate, available, at)
             VALUES ($1, $2, $3, $2, clock_timestamp())
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(first.maximum)
        .bind(first.restore_rate)
        .execute(&pool)
        .await?;
        Ok(SharedBucket { pool, key })
    }

    /// Takes `cost` points and waits until the budget holds them.
    pub async fn take(&self, cost: f64) -> Result<(), sqlx::Error> {
        let wait: f64 = sqlx::query_scalar(
            "WITH now AS (SELECT clock_timestamp() AS t),
             refilled AS (
                 SELECT least(b.maximum,
                              b.available + b.restore_rate * extract(epoch FROM now.t - b.at))
                            AS have,
                        b.restore_rate, now.t
                 FROM cost_buckets b, now WHERE b.key = $1 FOR UPDATE OF b
             )
             UPDATE cost_buckets b SET available = r.have - $2, at = r.t
             FROM refilled r WHERE b.key = $1
             RETURNING greatest(0, $2 - r.have) / r.restore_rate",
        )
        .bind(&self.key)
        .bind(cost)
        .fetch_one(&self.pool)
        .await?;
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        Ok(())
    }

    /// After an answer: gives back what was taken and not used, and believes the partner
    /// where it counts less than this budget does (another client of the account, a clock
    /// apart); its maximum and restore rate become the budget's.
    pub async fn settle(&self, unused: f64, partner: Balance) -> Result<(), sqlx::Error> {
        sqlx::query(
            "WITH now AS (SELECT clock_timestamp() AS t)
             UPDATE cost_buckets b
             SET available = least($3, $4,
                                   least(b.maximum, b.available
                                         + b.restore_rate * extract(epoch FROM now.t - b.at))
                                   + $2),
                 maximum = $3, restore_rate = $5, at = now.t
             FROM now WHERE b.key = $1",
        )
        .bind(&self.key)
        .bind(unused.max(0.0))
        .bind(partner.maximum)
        .bind(partner.available)
        .bind(partner.restore_rate.max(f64::MIN_POSITIVE))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
