//! A partner's request limit ("60 requests a minute per account"), shared by every process
//! through PostgreSQL: the limit is the partner's, so two `serve` processes must not each
//! take all of it. Requests go out evenly spaced (GCRA without a burst, `rate_limits`): each
//! takes the next free slot in one statement and waits for it; a `Retry-After` moves every
//! process's next slot to when the partner said.

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
