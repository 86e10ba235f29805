//! Shopify's settings.

use std::time::Duration;

use super::{ConfigError, Env, JobSettings, JOB_LEASE};
use crate::retry::RetryPolicy;
use crate::secrets::SigningSecrets;

#[derive(Debug, Clone)]
pub struct ShopifySettings {
    /// `SHOPIFY_WEBHOOK_SECRETS`: the app's webhook signing secrets (several while one is
    /// rotated); none configured refuses every webhook.
    pub secrets: SigningSecrets,
    /// `SHOPIFY_STORE_URL`: the storefront, for product links; by default
    /// `https://<X-Shopify-Shop-Domain>`.
    pub store_url: Option<String>,
    /// `SHOPIFY_APPLY_CONCURRENCY`: webhooks applied at once by this process; 0 only stores
    /// them (another process applies).
    pub apply_concurrency: usize,
    /// `SHOPIFY_WEBHOOK_RETENTION`: applied webhooks are deleted after this long.
    pub retention: Duration,
    /// Backoff of retries, and how many a transient error gets before the webhook is failed.
    pub retry: RetryPolicy,
    /// `PUBLIC_URL`: shopbridge's https address as Shopify reaches it; the webhook
    /// subscriptions made when a store connects point there.
    pub public_url: Option<reqwest::Url>,
    /// `SHOPIFY_ADMIN_TIMEOUT_SECS`: the longest one Admin API request takes.
    pub admin_timeout: Duration,
    /// `SHOPIFY_IMPORT_MAX_ATTEMPTS`: tries of one page of an import before it fails.
    pub import_attempts: u32,
}

impl ShopifySettings {
    /// The imports: a page is tried `import_attempts` times, backing off from a second up to
    /// a minute between tries.
    pub fn import(&self) -> JobSettings {
        JobSettings {
            retry: RetryPolicy {
                max_attempts: self.import_attempts,
                base: self.retry.base,
                cap: Duration::from_secs(60),
            },
            concurrency: 1,
            lease: JOB_LEASE,
        }
    }

    /// The storefront's base URL for a webhook from `shop_domain`.
    pub fn store_url(&self, shop_domain: Option<&str>) -> Option<String> {
        self.store_url
            .clone()
            .or_else(|| shop_domain.map(|domain| format!("https://{domain}")))
    }

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(ShopifySettings {
            secrets: SigningSecrets::parse(&env.var("SHOPIFY_WEBHOOK_SECRETS").unwrap_or_default()),
            store_url: env
                .optional_url("SHOPIFY_STORE_URL")?
                .map(|url| url.as_str().trim_end_matches('/').to_owned()),
            apply_concurrency: env.parse("SHOPIFY_APPLY_CONCURRENCY", 4)?,
            retention: env
                .duration("SHOPIFY_WEBHOOK_RETENTION", Duration::from_secs(30 * 86400))?,
            retry: RetryPolicy {
                max_attempts: 10,
                base: Duration::from_secs(1),
                cap: Duration::from_secs(600),
            },
            public_url: env.optional_url("PUBLIC_URL")?,
            admin_timeout: Duration::from_secs(env.parse("SHOPIFY_ADMIN_TIMEOUT_SECS", 30)?),
            import_attempts: env.parse("SHOPIFY_IMPORT_MAX_ATTEMPTS", 10)?,
        })
    }
}
