//! Waymore's settings.

use std::time::Duration;

use super::{ConfigError, Env, JobSettings, JOB_LEASE};
use crate::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub struct WaymoreSettings {
    pub auth_url: reqwest::Url,
    pub data_url: reqwest::Url,
    pub events_url: reqwest::Url,
    /// Shown to shop owners without a Routee account.
    pub signup_url: String,
    /// The shop's domain, sent when authenticating (from `SHOP_URL`).
    pub shop_domain: String,
    /// Objects per mass-data request.
    pub batch_size: u32,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// The shop's cart page, sent in CartUpdate events.
    pub cart_url: String,
    /// Mass-export parts in flight at once.
    pub export_concurrency: usize,
}

impl WaymoreSettings {
    /// The mass export: a part is tried `WAYMORE_MAX_ATTEMPTS` times, backing off from
    /// `WAYMORE_RETRY_BASE_MS` up to a minute between tries.
    pub fn export(&self) -> JobSettings {
        JobSettings {
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                base: self.retry_base,
                cap: Duration::from_secs(60),
            },
            concurrency: self.export_concurrency,
            lease: JOB_LEASE,
        }
    }

    pub fn from_env(env: &Env, shop_url: &reqwest::Url) -> Result<Self, ConfigError> {
        Ok(WaymoreSettings {
            auth_url: env.url(
                "WAYMORE_AUTH_URL",
                "https://waymore.routee.net/api/authenticate",
            )?,
            data_url: env.url("WAYMORE_DATA_URL", "https://idata.routee.net/api/data")?,
            events_url: env.url("WAYMORE_EVENTS_URL", "https://idata.routee.net/api/event")?,
            signup_url: env
                .var("WAYMORE_SIGNUP_URL")
                .unwrap_or_else(|| "https://www.routee.net/".into()),
            shop_domain: shop_url.host_str().unwrap_or("localhost").to_owned(),
            cart_url: env
                .var("SHOP_CART_URL")
                .unwrap_or_else(|| format!("{}/cart", shop_url.as_str().trim_end_matches('/'))),
            export_concurrency: env.at_least_one("WAYMORE_EXPORT_CONCURRENCY", 8)?,
            batch_size: u32::try_from(env.at_least_one("WAYMORE_BATCH_SIZE", 100)?)
                .unwrap_or(u32::MAX),
            timeout: Duration::from_secs(env.parse("WAYMORE_TIMEOUT_SECS", 30)?),
            max_attempts: env.parse("WAYMORE_MAX_ATTEMPTS", 8u32)?.max(1),
            retry_base: Duration::from_millis(env.parse("WAYMORE_RETRY_BASE_MS", 500)?),
        })
    }
}
