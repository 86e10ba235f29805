//! The backbone's settings: the database, HTTP, delivery, what outbound URLs may reach,
//! the admin tokens and the vault's key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use super::{ConfigError, Env};
use crate::outbound::address::Allowlist;
use crate::retry::RetryPolicy;
use crate::secrets::vault::SecretKey;
use crate::secrets::SecretSet;

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

impl DatabaseSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let source = match env.var("DATABASE_URL") {
            Some(url) => DatabaseSource::Url(Box::new(parse_database_url(&url)?)),
            None => DatabaseSource::Embedded {
                dir: env.var("EMBEDDED_PG_DIR").map(PathBuf::from),
                bin_dir: env.var("PG_BIN_DIR").map(PathBuf::from),
            },
        };
        Ok(DatabaseSettings {
            source,
            max_connections: env.parse("DATABASE_MAX_CONNECTIONS", 10)?,
        })
    }
}

impl HttpSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let tls = match (env.var("TLS_CERT_PATH"), env.var("TLS_KEY_PATH")) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                cert_path: cert.into(),
                key_path: key.into(),
            }),
            (None, None) => None,
            (Some(_), None) => return Err(missing_pair("TLS_KEY_PATH", "TLS_CERT_PATH")),
            (None, Some(_)) => return Err(missing_pair("TLS_CERT_PATH", "TLS_KEY_PATH")),
        };
        Ok(HttpSettings {
            bind_addr: env.parse("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            tls,
            max_body_bytes: env.parse("MAX_BODY_BYTES", 1024 * 1024)?,
            max_queued_requests: env.parse("MAX_QUEUED_REQUESTS", 64)?,
            queue_timeout: Duration::from_millis(env.parse("REQUEST_QUEUE_TIMEOUT_MS", 2000)?),
            body_read_timeout: Duration::from_secs(
                env.parse("BODY_READ_TIMEOUT_SECS", 10u64)?.max(1),
            ),
        })
    }
}

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

impl DeliverySettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(DeliverySettings {
            concurrency: env.at_least_one("DELIVERY_CONCURRENCY", 128)?,
            retry: RetryPolicy {
                max_attempts: u32::MAX,
                base: Duration::from_millis(env.parse("DELIVERY_RETRY_BASE_MS", 500)?),
                cap: Duration::from_secs(300),
            },
            probe_every: Duration::from_secs(env.parse("DELIVERY_PROBE_SECS", 30)?.max(1)),
            poll: Duration::from_secs(env.parse("DELIVERY_POLL_SECS", 5)?.max(1)),
            retention: env.duration("EVENT_RETENTION", Duration::from_secs(7 * 86400))?,
            timeout: Duration::from_secs(env.parse("WEBHOOK_TIMEOUT_SECS", 30)?.max(1)),
            drain_timeout: Duration::from_secs(30),
        })
    }
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

impl OutboundSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(OutboundSettings {
            allowlist: Allowlist::parse(&env.var("OUTBOUND_ALLOWLIST").unwrap_or_default())
                .map_err(|problem| ConfigError {
                    variable: "OUTBOUND_ALLOWLIST",
                    problem,
                })?,
            ca_file: env.var("OUTBOUND_CA_FILE").map(PathBuf::from),
        })
    }
}

/// `ADMIN_TOKEN`: what `Authorization: Bearer …` must carry on admin endpoints.
#[derive(Clone, Debug, Default)]
pub struct AdminTokens(pub SecretSet);

impl AdminTokens {
    pub fn from_env(env: &Env) -> Self {
        AdminTokens(SecretSet::parse(
            &env.var("ADMIN_TOKEN").unwrap_or_default(),
        ))
    }
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

impl VaultSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(VaultSettings {
            key: secret_key(env, "SHOPBRIDGE_SECRET_KEY")?,
            key_file: env
                .var("SHOPBRIDGE_SECRET_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    env.var("EMBEDDED_PG_DIR")
                        .map(PathBuf::from)
                        .and_then(|dir| dir.parent().map(|p| p.join("secret.key")))
                        .unwrap_or_else(|| PathBuf::from(".data/secret.key"))
                }),
            previous: secret_key(env, "SHOPBRIDGE_SECRET_KEY_PREVIOUS")?,
        })
    }
}

fn secret_key(env: &Env, variable: &'static str) -> Result<Option<SecretKey>, ConfigError> {
    env.var(variable)
        .map(|value| SecretKey::parse(&value).map_err(|problem| ConfigError { variable, problem }))
        .transpose()
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

fn missing_pair(missing: &'static str, present: &str) -> ConfigError {
    ConfigError {
        variable: missing,
        problem: format!("must be set together with {present} (HTTPS needs both)"),
    }
}
