//! Settings from environment variables (a `.env` file is loaded first by the binary).
//! Every variable, its default and its meaning is listed in `.env.example`. Each section
//! is a file here that reads its own variables through [`Env`]; [`Settings`] joins them.

mod backbone;
mod one;
mod rfmcube;
mod shopify;
mod waymore;
mod workflows;

use std::str::FromStr;
use std::time::Duration;

use crate::retry::RetryPolicy;

use crate::shop::Mapping;
pub use backbone::{
    AdminTokens, DatabaseSettings, DatabaseSource, DeliverySettings, HttpSettings,
    OutboundSettings, TlsSettings, VaultSettings,
};
pub use one::OneSettings;
pub use rfmcube::{OnDelete, RfmcubePushSettings, RfmcubeSettings};
pub use shopify::ShopifySettings;
pub use waymore::WaymoreSettings;
pub use workflows::{EmailSettings, WorkflowSettings};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub rfmcube: RfmcubeSettings,
    pub rfmcube_push: RfmcubePushSettings,
    pub waymore: WaymoreSettings,
    pub delivery: DeliverySettings,
    pub one: OneSettings,
    pub shopify: ShopifySettings,
    pub outbound: OutboundSettings,
    /// `ADMIN_TOKEN`: bearer token(s) of the admin endpoints; none configured refuses all.
    pub admin_tokens: AdminTokens,
    pub vault: VaultSettings,
    pub email: EmailSettings,
    pub workflows: WorkflowSettings,
    /// `SHOP_MAPPING`: which tables the shop is read from: `reference` (shopbridge's own,
    /// the default), a preset (`medusa-v2`, `saleor`), or the path of a mapping file.
    pub mapping: Mapping,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let shop_url = env.url("SHOP_URL", "http://localhost")?;
        Ok(Settings {
            database: DatabaseSettings::from_env(&env)?,
            http: HttpSettings::from_env(&env)?,
            rfmcube: RfmcubeSettings::from_env(&env)?,
            rfmcube_push: RfmcubePushSettings::from_env(&env)?,
            waymore: WaymoreSettings::from_env(&env, &shop_url)?,
            delivery: DeliverySettings::from_env(&env)?,
            one: OneSettings::from_env(&env)?,
            shopify: ShopifySettings::from_env(&env)?,
            outbound: OutboundSettings::from_env(&env)?,
            admin_tokens: AdminTokens::from_env(&env),
            vault: VaultSettings::from_env(&env)?,
            email: EmailSettings::from_env(&env)?,
            workflows: WorkflowSettings::from_env(&env, &shop_url)?,
            mapping: env.parse("SHOP_MAPPING", Mapping::Reference)?,
        })
    }
}

/// How long a job runner's claim lasts without renewal: a runner that died is replaced
/// after at most this long.
const JOB_LEASE: Duration = Duration::from_secs(15);

/// How a resumable job runs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Retries of one part (`max_attempts` tries before the job fails).
    pub retry: RetryPolicy,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// How long a runner's claim lasts without renewal; renewed every tenth of it.
    pub lease: Duration,
}

/// The environment as a section reads it; empty values count as unset.
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The value of `variable`, unless unset or empty.
    pub fn var(&self, variable: &str) -> Option<String> {
        (self.0)(variable).filter(|value| !value.trim().is_empty())
    }

    /// `variable` parsed, or `default` when unset.
    pub fn parse<T>(&self, variable: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.var(variable) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|e| ConfigError {
                variable,
                problem: format!("has an invalid value {value:?}: {e}"),
            }),
        }
    }

    /// A count that must be at least one.
    pub fn at_least_one(
        &self,
        variable: &'static str,
        default: usize,
    ) -> Result<usize, ConfigError> {
        match self.parse(variable, default)? {
            0 => Err(ConfigError {
                variable,
                problem: "must be at least 1".into(),
            }),
            n => Ok(n),
        }
    }

    /// A duration written as a number and a unit (`90s`, `30m`, `12h`, `7d`).
    pub fn duration(
        &self,
        variable: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        Ok(self.parse(variable, HumanDuration(default))?.0)
    }

    /// An http(s) URL, `default` when unset.
    pub fn url(&self, variable: &'static str, default: &str) -> Result<reqwest::Url, ConfigError> {
        let value = self.var(variable).unwrap_or_else(|| default.to_owned());
        match reqwest::Url::parse(value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
            Ok(_) => Err(ConfigError {
                variable,
                problem: format!("must be an http(s) URL, not {value:?}"),
            }),
            Err(e) => Err(ConfigError {
                variable,
                problem: format!("is not a URL ({e}): {value:?}"),
            }),
        }
    }

    /// An http(s) URL, none when unset.
    pub fn optional_url(
        &self,
        variable: &'static str,
    ) -> Result<Option<reqwest::Url>, ConfigError> {
        self.var(variable)
            .map(|_| self.url(variable, ""))
            .transpose()
    }
}

/// A duration written as a number and a unit: `90s`, `30m`, `12h`, `7d`.
#[derive(Debug, Clone, Copy)]
struct HumanDuration(Duration);

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: u64 = number
            .parse()
            .map_err(|_| "expected a number and a unit, like 7d".to_owned())?;
        let seconds = match unit.trim() {
            "s" | "" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            other => return Err(format!("unknown unit {other:?}; use s, m, h or d")),
        };
        Ok(HumanDuration(Duration::from_secs(
            number.saturating_mul(seconds),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_use_the_embedded_cluster_on_localhost_8080() {
        let s = settings(&[]).unwrap();
        assert!(matches!(
            s.database.source,
            DatabaseSource::Embedded { dir: None, .. }
        ));
        assert_eq!(s.http.bind_addr.to_string(), "127.0.0.1:8080");
        assert!(s.http.tls.is_none());
    }

    #[test]
    fn database_url_selects_an_existing_database() {
        let s = settings(&[("DATABASE_URL", "postgres://u:p@db.example:5433/shop")]).unwrap();
        assert!(matches!(s.database.source, DatabaseSource::Url(_)));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let err = settings(&[("BIND_ADDR", "not-an-address")]).unwrap_err();
        assert_eq!(err.variable, "BIND_ADDR");
        let err = settings(&[("MAX_BODY_BYTES", "-3")]).unwrap_err();
        assert_eq!(err.variable, "MAX_BODY_BYTES");
        let err = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }

    #[test]
    fn waymore_urls_default_to_routee_and_must_be_http() {
        let s = settings(&[("SHOP_URL", "https://shop.example.com/store")]).unwrap();
        assert_eq!(
            s.waymore.auth_url.as_str(),
            "https://waymore.routee.net/api/authenticate"
        );
        assert_eq!(s.waymore.shop_domain, "shop.example.com");
        assert_eq!(s.waymore.batch_size, 100);
        let err = settings(&[("WAYMORE_DATA_URL", "ftp://x")]).unwrap_err();
        assert_eq!(err.variable, "WAYMORE_DATA_URL");
        let err = settings(&[("WAYMORE_BATCH_SIZE", "0")]).unwrap_err();
        assert_eq!(err.variable, "WAYMORE_BATCH_SIZE");
        assert_eq!(s.waymore.cart_url, "https://shop.example.com/store/cart");
    }

    #[test]
    fn event_retention_takes_a_unit() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.delivery.retention, Duration::from_secs(7 * 86400));
        let s = settings(&[("EVENT_RETENTION", "12h")]).unwrap();
        assert_eq!(s.delivery.retention, Duration::from_secs(12 * 3600));
        let err = settings(&[("EVENT_RETENTION", "7 weeks")]).unwrap_err();
        assert_eq!(err.variable, "EVENT_RETENTION");
    }

    #[test]
    fn concurrency_defaults_and_must_be_positive() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.delivery.concurrency, 128);
        assert_eq!(s.waymore.export_concurrency, 8);
        let err = settings(&[("DELIVERY_CONCURRENCY", "0")]).unwrap_err();
        assert_eq!(err.variable, "DELIVERY_CONCURRENCY");
    }

    #[test]
    fn one_credentials_are_pairs_and_never_echoed() {
        let s = settings(&[]).unwrap();
        assert!(s.one.credentials.is_empty());
        assert_eq!(s.one.retention, Duration::from_secs(30 * 86400));
        let err = settings(&[("ONE_WEBHOOK_CREDENTIALS", "admin:s3cret,oops")]).unwrap_err();
        assert_eq!(err.variable, "ONE_WEBHOOK_CREDENTIALS");
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn shopify_secrets_rotate_and_the_store_url_is_checked() {
        let s = settings(&[]).unwrap();
        assert!(s.shopify.secrets.is_empty());
        assert_eq!(s.shopify.apply_concurrency, 4);
        assert_eq!(
            s.shopify.store_url(Some("x.myshopify.com")).as_deref(),
            Some("https://x.myshopify.com")
        );
        let s = settings(&[
            ("SHOPIFY_WEBHOOK_SECRETS", "old,new"),
            ("SHOPIFY_STORE_URL", "https://shop.example.com/"),
        ])
        .unwrap();
        assert!(!s.shopify.secrets.is_empty());
        assert_eq!(
            s.shopify.store_url(Some("x.myshopify.com")).as_deref(),
            Some("https://shop.example.com")
        );
        let err = settings(&[("SHOPIFY_STORE_URL", "shop.example.com")]).unwrap_err();
        assert_eq!(err.variable, "SHOPIFY_STORE_URL");
    }

    #[test]
    fn the_secret_key_is_32_bytes_and_its_file_sits_beside_the_data() {
        let s = settings(&[]).unwrap();
        assert!(s.vault.key.is_none());
        assert_eq!(s.vault.key_file, PathBuf::from(".data/secret.key"));
        let s = settings(&[("EMBEDDED_PG_DIR", "/srv/shop/postgres")]).unwrap();
        assert_eq!(s.vault.key_file, PathBuf::from("/srv/shop/secret.key"));
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let s = settings(&[("SHOPBRIDGE_SECRET_KEY", key)]).unwrap();
        assert!(s.vault.key.is_some());
        let err = settings(&[("SHOPBRIDGE_SECRET_KEY_PREVIOUS", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(err.variable, "SHOPBRIDGE_SECRET_KEY_PREVIOUS");
        assert!(!err.to_string().contains("c2hvcnQ="));
    }

    #[test]
    fn tls_needs_both_certificate_and_key() {
        let err = settings(&[("TLS_CERT_PATH", "cert.pem")]).unwrap_err();
        assert_eq!(err.variable, "TLS_KEY_PATH");
        let s = settings(&[("TLS_CERT_PATH", "c.pem"), ("TLS_KEY_PATH", "k.pem")]).unwrap();
        assert!(s.http.tls.is_some());
    }
}
