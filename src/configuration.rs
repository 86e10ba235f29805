//! Settings from environment variables (a `.env` file is loaded first by the binary).
//! Every variable, its default and its meaning is listed in `.env.example`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use std::time::Duration;

use crate::outbound::address::Allowlist;
use crate::retry::RetryPolicy;
use crate::secrets::vault::SecretKey;
use crate::secrets::{BasicCredentials, SecretSet, SigningSecrets};

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
}

/// Where workflow emails go out.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `SMTP_URL`: `smtp://[user:password@]host[:port]` (STARTTLS required, port 587 by
    /// default) or `smtps://…` (TLS from the first byte, port 465). Plain SMTP is never
    /// used. Unset: `send_email` actions are held until it is set.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender, `Shop <shop@example.com>`.
    pub from: Option<String>,
    /// `SMTP_CA_FILE`: PEM certificate(s) trusted besides the system's (a private relay).
    pub ca_file: Option<PathBuf>,
    /// `SMTP_POOL_SIZE`: connections kept open to the relay.
    pub pool_size: u32,
    /// `SMTP_TIMEOUT_SECS`: the longest one message takes.
    pub timeout: Duration,
    /// `EMAIL_TEMPLATES_DIR`: templates that add to or override the built-in ones
    /// (`<name>.subject.txt`, `<name>.txt`, `<name>.html`).
    pub templates_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// `WORKFLOW_RETRY_BUDGET`: tries of a failing action before its execution is paused.
    pub retry_budget: u32,
    /// `VAPID_SUBJECT`: the contact push services see in the VAPID JWT (`mailto:` or https).
    pub vapid_subject: String,
    /// `SHOP_NAME`: how emails sign (the shop's host name by default).
    pub shop_name: String,
    /// `SHOP_URL`, for templates' links.
    pub shop_url: String,
}

/// The key the secrets shopbridge keeps are sealed with.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// `SHOPBRIDGE_SECRET_KEY`: base64 of 32 bytes. When unset, the key file's.
    pub key: Option<SecretKey>,
    /// `SHOPBRIDGE_SECRET_KEY_FILE`: where the key is kept when `SHOPBRIDGE_SECRET_KEY` is
    /// unset, made on first start (mode 0600). By default `secret.key` beside the embedded
    /// cluster's data directory (`.data/secret.key`).
    pub key_file: PathBuf,
    /// `SHOPBRIDGE_SECRET_KEY_PREVIOUS`: the key being rotated out; what it sealed is
    /// re-sealed under the current key in the background.
    pub previous: Option<SecretKey>,
}

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

/// How long a job runner's claim lasts without renewal: a runner that died is replaced
/// after at most this long.
const JOB_LEASE: Duration = Duration::from_secs(15);

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
}

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

#[derive(Debug, Clone, Default)]
pub struct RfmcubeSettings {
    /// `RFMCUBE_API_KEYS`: keys Rfmcube may present in `api-key`; none configured refuses
    /// every request.
    pub api_keys: SecretSet,
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
}

/// `ADMIN_TOKEN`: what `Authorization: Bearer …` must carry on admin endpoints.
#[derive(Clone, Debug, Default)]
pub struct AdminTokens(pub SecretSet);

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Deliveries in flight at once, per destination and process.
    pub concurrency: usize,
    /// Backoff of one delivery's retries and of a failing destination's probes.
    pub retry: RetryPolicy,
    /// A failing destination is probed at least this often, whatever its deliveries' own
    /// backoff, so a healed partner is noticed within it.
    pub probe_every: Duration,
    /// How often the log is checked without a notification (safety net).
    pub poll: Duration,
    /// Finished events are deleted this long after they occurred and finished.
    pub retention: Duration,
    /// Timeout of one webhook request.
    pub timeout: Duration,
    /// How long a stopping process waits for its deliveries in flight.
    pub drain_timeout: Duration,
}

/// What URLs users give may reach.
#[derive(Debug, Clone, Default)]
pub struct OutboundSettings {
    /// `OUTBOUND_ALLOWLIST`: private hosts, addresses and ranges webhooks may be sent to
    /// (a sink on the same network, tests on loopback); every other private, loopback or
    /// link-local address is refused.
    pub allowlist: Allowlist,
    /// `OUTBOUND_CA_FILE`: PEM certificate(s) trusted besides the system's, for partners
    /// behind a private certificate authority.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct OneSettings {
    /// `ONE_WEBHOOK_CREDENTIALS`: what ONe (and the operator opening the page) must present;
    /// none configured refuses every request.
    pub credentials: BasicCredentials,
    /// `ONE_EVENT_RETENTION`: received events are deleted after this long.
    pub retention: Duration,
}

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
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub source: DatabaseSource,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub enum DatabaseSource {
    /// `DATABASE_URL` is set: an existing database.
    Url(Box<PgConnectOptions>),
    /// No `DATABASE_URL`: a private cluster started from the installed server binaries,
    /// in `dir` (`EMBEDDED_PG_DIR`) or, when that is unset, the default place.
    Embedded {
        dir: Option<PathBuf>,
        bin_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub bind_addr: SocketAddr,
    pub tls: Option<TlsSettings>,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Requests that may wait for one of the running ones to finish; more get 503.
    pub max_queued_requests: usize,
    /// How long a queued request waits before it gets 503.
    pub queue_timeout: Duration,
    /// How long a request's whole body may take to arrive; then 408.
    pub body_read_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let source = match var("DATABASE_URL") {
            Some(url) => DatabaseSource::Url(Box::new(parse_database_url(&url)?)),
            None => DatabaseSource::Embedded {
                dir: var("EMBEDDED_PG_DIR").map(PathBuf::from),
                bin_dir: var("PG_BIN_DIR").map(PathBuf::from),
            },
        };
        let shop_url = url(&var, "SHOP_URL", "http://localhost")?;
        let tls = match (var("TLS_CERT_PATH"), var("TLS_KEY_PATH")) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                cert_path: cert.into(),
                key_path: key.into(),
            }),
            (None, None) => None,
            (Some(_), None) => return Err(missing_pair("TLS_KEY_PATH", "TLS_CERT_PATH")),
            (None, Some(_)) => return Err(missing_pair("TLS_CERT_PATH", "TLS_KEY_PATH")),
        };
        Ok(Settings {
            database: DatabaseSettings {
                source,
                max_connections: parse(&var, "DATABASE_MAX_CONNECTIONS", 10)?,
            },
            http: HttpSettings {
                bind_addr: parse(&var, "BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
                tls,
                max_body_bytes: parse(&var, "MAX_BODY_BYTES", 1024 * 1024)?,
                max_queued_requests: parse(&var, "MAX_QUEUED_REQUESTS", 64)?,
                queue_timeout: Duration::from_millis(parse(
                    &var,
                    "REQUEST_QUEUE_TIMEOUT_MS",
                    2000,
                )?),
                body_read_timeout: Duration::from_secs(
                    parse(&var, "BODY_READ_TIMEOUT_SECS", 10u64)?.max(1),
                ),
            },
            rfmcube: RfmcubeSettings {
                api_keys: SecretSet::parse(&var("RFMCUBE_API_KEYS").unwrap_or_default()),
            },
            rfmcube_push: RfmcubePushSettings {
                api_key: var("RFMCUBE_PUSH_API_KEY").filter(|key| !key.trim().is_empty()),
                url: url(&var, "RFMCUBE_PUSH_URL", "https://api.rfmcube.com/v1")?,
                max_bytes: at_least_one(&var, "RFMCUBE_PUSH_MAX_BYTES", 8 * 1024 * 1024)?,
                batch_size: u32::try_from(at_least_one(&var, "RFMCUBE_PUSH_BATCH_SIZE", 1000)?)
                    .unwrap_or(u32::MAX),
                rate_limit: u32::try_from(at_least_one(&var, "RFMCUBE_PUSH_RATE_LIMIT", 60)?)
                    .unwrap_or(u32::MAX),
                rate_window: Duration::from_millis(
                    parse(&var, "RFMCUBE_PUSH_RATE_WINDOW_MS", 60_000u64)?.max(1),
                ),
                timeout: Duration::from_secs(parse(&var, "RFMCUBE_PUSH_TIMEOUT_SECS", 60)?.max(1)),
                poll: Duration::from_millis(parse(&var, "RFMCUBE_PUSH_POLL_MS", 5000u64)?.max(1)),
                concurrency: at_least_one(&var, "RFMCUBE_PUSH_CONCURRENCY", 4)?,
                max_attempts: parse(&var, "RFMCUBE_PUSH_MAX_ATTEMPTS", 8u32)?.max(1),
                retry_base: Duration::from_millis(parse(&var, "RFMCUBE_PUSH_RETRY_BASE_MS", 1000)?),
                on_delete: parse(&var, "RFMCUBE_PUSH_ON_DELETE", OnDelete::Delete)?,
            },
            waymore: WaymoreSettings {
                auth_url: url(
                    &var,
                    "WAYMORE_AUTH_URL",
                    "https://waymore.routee.net/api/authenticate",
                )?,
                data_url: url(
                    &var,
                    "WAYMORE_DATA_URL",
                    "https://idata.routee.net/api/data",
                )?,
                events_url: url(
                    &var,
                    "WAYMORE_EVENTS_URL",
                    "https://idata.routee.net/api/event",
                )?,
                signup_url: var("WAYMORE_SIGNUP_URL")
                    .unwrap_or_else(|| "https://www.routee.net/".into()),
                shop_domain: shop_url.host_str().unwrap_or("localhost").to_owned(),
                cart_url: var("SHOP_CART_URL")
                    .unwrap_or_else(|| format!("{}/cart", shop_url.as_str().trim_end_matches('/'))),
                export_concurrency: at_least_one(&var, "WAYMORE_EXPORT_CONCURRENCY", 8)?,
                batch_size: match parse(&var, "WAYMORE_BATCH_SIZE", 100u32)? {
                    0 => {
                        return Err(ConfigError {
                            variable: "WAYMORE_BATCH_SIZE",
                            problem: "must be at least 1".into(),
                        })
                    }
                    n => n,
                },
                timeout: Duration::from_secs(parse(&var, "WAYMORE_TIMEOUT_SECS", 30)?),
                max_attempts: parse(&var, "WAYMORE_MAX_ATTEMPTS", 8u32)?.max(1),
                retry_base: Duration::from_millis(parse(&var, "WAYMORE_RETRY_BASE_MS", 500)?),
            },
            delivery: DeliverySettings {
                concurrency: at_least_one(&var, "DELIVERY_CONCURRENCY", 128)?,
                retry: RetryPolicy {
                    max_attempts: u32::MAX,
                    base: Duration::from_millis(parse(&var, "DELIVERY_RETRY_BASE_MS", 500)?),
                    cap: Duration::from_secs(300),
                },
                probe_every: Duration::from_secs(parse(&var, "DELIVERY_PROBE_SECS", 30)?.max(1)),
                poll: Duration::from_secs(parse(&var, "DELIVERY_POLL_SECS", 5)?.max(1)),
                retention: parse::<HumanDuration>(
                    &var,
                    "EVENT_RETENTION",
                    HumanDuration(Duration::from_secs(7 * 86400)),
                )?
                .0,
                timeout: Duration::from_secs(parse(&var, "WEBHOOK_TIMEOUT_SECS", 30)?.max(1)),
                drain_timeout: Duration::from_secs(30),
            },
            one: OneSettings {
                credentials: BasicCredentials::parse(
                    &var("ONE_WEBHOOK_CREDENTIALS").unwrap_or_default(),
                )
                .map_err(|problem| ConfigError {
                    variable: "ONE_WEBHOOK_CREDENTIALS",
                    problem,
                })?,
                retention: parse::<HumanDuration>(
                    &var,
                    "ONE_EVENT_RETENTION",
                    HumanDuration(Duration::from_secs(30 * 86400)),
                )?
                .0,
            },
            shopify: ShopifySettings {
                secrets: SigningSecrets::parse(&var("SHOPIFY_WEBHOOK_SECRETS").unwrap_or_default()),
                store_url: match var("SHOPIFY_STORE_URL") {
                    Some(_) => Some(
                        url(&var, "SHOPIFY_STORE_URL", "")?
                            .as_str()
                            .trim_end_matches('/')
                            .to_owned(),
                    ),
                    None => None,
                },
                apply_concurrency: parse(&var, "SHOPIFY_APPLY_CONCURRENCY", 4)?,
                retention: parse::<HumanDuration>(
                    &var,
                    "SHOPIFY_WEBHOOK_RETENTION",
                    HumanDuration(Duration::from_secs(30 * 86400)),
                )?
                .0,
                retry: RetryPolicy {
                    max_attempts: 10,
                    base: Duration::from_secs(1),
                    cap: Duration::from_secs(600),
                },
                public_url: match var("PUBLIC_URL") {
                    Some(_) => Some(url(&var, "PUBLIC_URL", "")?),
                    None => None,
                },
                admin_timeout: Duration::from_secs(parse(&var, "SHOPIFY_ADMIN_TIMEOUT_SECS", 30)?),
                import_attempts: parse(&var, "SHOPIFY_IMPORT_MAX_ATTEMPTS", 10)?,
            },
            outbound: OutboundSettings {
                allowlist: Allowlist::parse(&var("OUTBOUND_ALLOWLIST").unwrap_or_default())
                    .map_err(|problem| ConfigError {
                        variable: "OUTBOUND_ALLOWLIST",
                        problem,
                    })?,
                ca_file: var("OUTBOUND_CA_FILE").map(PathBuf::from),
            },
            admin_tokens: AdminTokens(SecretSet::parse(&var("ADMIN_TOKEN").unwrap_or_default())),
            vault: VaultSettings {
                key: secret_key(&var, "SHOPBRIDGE_SECRET_KEY")?,
                key_file: var("SHOPBRIDGE_SECRET_KEY_FILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        var("EMBEDDED_PG_DIR")
                            .map(PathBuf::from)
                            .and_then(|dir| dir.parent().map(|p| p.join("secret.key")))
                            .unwrap_or_else(|| PathBuf::from(".data/secret.key"))
                    }),
                previous: secret_key(&var, "SHOPBRIDGE_SECRET_KEY_PREVIOUS")?,
            },
            email: EmailSettings {
                smtp_url: var("SMTP_URL"),
                from: var("MAIL_FROM"),
                ca_file: var("SMTP_CA_FILE").map(PathBuf::from),
                pool_size: parse(&var, "SMTP_POOL_SIZE", 16u32)?.max(1),
                timeout: Duration::from_secs(parse(&var, "SMTP_TIMEOUT_SECS", 30u64)?.max(1)),
                templates_dir: var("EMAIL_TEMPLATES_DIR").map(PathBuf::from),
            },
            workflows: WorkflowSettings {
                retry_budget: parse(&var, "WORKFLOW_RETRY_BUDGET", 5u32)?.max(1),
                vapid_subject: var("VAPID_SUBJECT").unwrap_or_else(|| {
                    format!("mailto:shop@{}", shop_url.host_str().unwrap_or("localhost"))
                }),
                shop_name: var("SHOP_NAME")
                    .unwrap_or_else(|| shop_url.host_str().unwrap_or("localhost").to_owned()),
                shop_url: shop_url.to_string(),
            },
        })
    }
}

fn parse<T>(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match var(variable) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|e| ConfigError {
            variable,
            problem: format!("has an invalid value {value:?}: {e}"),
        }),
    }
}

fn secret_key(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<SecretKey>, ConfigError> {
    var(variable)
        .map(|value| SecretKey::parse(&value).map_err(|problem| ConfigError { variable, problem }))
        .transpose()
}

fn at_least_one(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match parse(var, variable, default)? {
        0 => Err(ConfigError {
            variable,
            problem: "must be at least 1".into(),
        }),
        n => Ok(n),
    }
}

fn parse_database_url(url: &str) -> Result<PgConnectOptions, ConfigError> {
    let problem = |detail: String| ConfigError {
        variable: "DATABASE_URL",
        problem: format!(
            "is not a PostgreSQL URL (postgres://user:password@host:port/database): {detail}"
        ),
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(problem(
            "the scheme must be postgres:// or postgresql://".into(),
        ));
    }
    PgConnectOptions::from_str(url).map_err(|e| problem(e.to_string()))
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

fn url(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<reqwest::Url, ConfigError> {
    let value = var(variable).unwrap_or_else(|| default.to_owned());
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

fn missing_pair(missing: &'static str, present: &str) -> ConfigError {
    ConfigError {
        variable: missing,
        problem: format!("must be set together with {present} (HTTPS needs both)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
