//! Rfmcube's settings: the pull webservice's keys and the push API's connector.

use std::str::FromStr;
use std::time::Duration;

use super::{ConfigError, Env, JobSettings, JOB_LEASE};
use crate::retry::RetryPolicy;
use crate::secrets::SecretSet;

#[derive(Debug, Clone, Default)]
pub struct RfmcubeSettings {
    /// `RFMCUBE_API_KEYS`: keys Rfmcube may present in `api-key`; none configured refuses
    /// every request.
    pub api_keys: SecretSet,
}

impl RfmcubeSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(RfmcubeSettings {
            api_keys: SecretSet::parse(&env.var("RFMCUBE_API_KEYS").unwrap_or_default()),
        })
    }
}

/// Rfmcube's push API (seed 002): the shop sends its customers and orders.
#[derive(Debug, Clone)]
pub struct RfmcubePushSettings {
    /// `RFMCUBE_PUSH_API_KEY`: the connector's api-key, when Rfmcube is not configured
    /// through `/api/integrations`. Unset there and here: nothing is pushed.
    pub api_key: Option<String>,
    /// `RFMCUBE_PUSH_URL`: the API's base.
    pub url: reqwest::Url,
    /// `RFMCUBE_PUSH_MAX_BYTES`: the largest request body sent; a larger batch is split.
    /// Rfmcube refuses more than 200 MB (the seed) or 50 MB (its own page).
    pub max_bytes: usize,
    /// `RFMCUBE_PUSH_BATCH_SIZE`: customers (with their orders) per `/import` request.
    pub batch_size: u32,
    /// `RFMCUBE_PUSH_RATE_LIMIT` requests per `RFMCUBE_PUSH_RATE_WINDOW_MS`: Rfmcube's
    /// limit per connector, shared by every process.
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// `RFMCUBE_PUSH_TIMEOUT_SECS`: the longest one request takes.
    pub timeout: Duration,
    /// `RFMCUBE_PUSH_POLL_MS`: the first wait before asking how an import process is
    /// doing; doubled at each ask, up to a minute.
    pub poll: Duration,
    /// `RFMCUBE_PUSH_CONCURRENCY`: import requests in flight at once.
    pub concurrency: usize,
    /// `RFMCUBE_PUSH_MAX_ATTEMPTS` tries of one import request, backing off from
    /// `RFMCUBE_PUSH_RETRY_BASE_MS` up to a minute.
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// `RFMCUBE_PUSH_ON_DELETE`: what a customer deleted in the shop becomes.
    pub on_delete: OnDelete,
}

/// What Rfmcube is sent when a customer is deleted in the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// `delete`: `delete_customer`, which deletes the customer and its orders there.
    Delete,
    /// `anonymise`: the customer merged with its personal fields blanked and its email
    /// replaced, so Rfmcube's statistics keep its orders (a withdrawn consent).
    Anonymise,
}

impl FromStr for OnDelete {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "delete" => Ok(OnDelete::Delete),
            "anonymise" | "anonymize" => Ok(OnDelete::Anonymise),
            other => Err(format!("{other:?} is neither delete nor anonymise")),
        }
    }
}

impl RfmcubePushSettings {
    /// The initial synchronisation: an import request is tried `max_attempts` times.
    pub fn import(&self) -> JobSettings {
        JobSettings {
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                base: self.retry_base,
                cap: Duration::from_secs(60),
            },
            concurrency: self.concurrency,
            lease: JOB_LEASE,
        }
    }

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(RfmcubePushSettings {
            api_key: env.var("RFMCUBE_PUSH_API_KEY"),
            url: env.url("RFMCUBE_PUSH_URL", "https://api.rfmcube.com/v1")?,
            max_bytes: env.at_least_one("RFMCUBE_PUSH_MAX_BYTES", 8 * 1024 * 1024)?,
            batch_size: u32::try_from(env.at_least_one("RFMCUBE_PUSH_BATCH_SIZE", 1000)?)
                .unwrap_or(u32::MAX),
            rate_limit: u32::try_from(env.at_least_one("RFMCUBE_PUSH_RATE_LIMIT", 60)?)
                .unwrap_or(u32::MAX),
            rate_window: Duration::from_millis(
                env.parse("RFMCUBE_PUSH_RATE_WINDOW_MS", 60_000u64)?.max(1),
            ),
            timeout: Duration::from_secs(env.parse("RFMCUBE_PUSH_TIMEOUT_SECS", 60)?.max(1)),
            poll: Duration::from_millis(env.parse("RFMCUBE_PUSH_POLL_MS", 5000u64)?.max(1)),
            concurrency: env.at_least_one("RFMCUBE_PUSH_CONCURRENCY", 4)?,
            max_attempts: env.parse("RFMCUBE_PUSH_MAX_ATTEMPTS", 8u32)?.max(1),
            retry_base: Duration::from_millis(env.parse("RFMCUBE_PUSH_RETRY_BASE_MS", 1000)?),
            on_delete: env.parse("RFMCUBE_PUSH_ON_DELETE", OnDelete::Delete)?,
        })
    }
}
