//! Destinations: who takes which events, and how each one is doing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

/// A destination with its deliveries at a glance.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStatus {
    #[schema(example = "waymore")]
    pub name: String,
    /// `waymore` or `webhook`.
    pub kind: String,
    /// Event names it takes: exact names, `prefix.*` or `*`.
    pub events: Vec<String>,
    /// A webhook's URL (its secret is never shown).
    pub url: Option<String>,
    /// Events are recorded for it and sent (Waymore: while connected).
    pub enabled: bool,
    /// The last tries failed transiently: one probe at a time until one succeeds.
    pub failing: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Age of the oldest delivery not yet made.
    pub oldest_pending_seconds: Option<f64>,
    /// The current error: the destination's while it is failing, else the latest refusal
    /// among failed deliveries. None once everything went through.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Every destination's status, or one's.
pub async fn status(
    pool: &PgPool,
    name: Option<&str>,
) -> Result<Vec<DestinationStatus>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.name, d.kind, d.events, d.config->>'url' AS url, d.enabled,
                d.consecutive_failures > 0 AS failing, d.paused_until,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'pending') AS pending,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'delivered') AS delivered,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'failed') AS failed,
                (SELECT extract(epoch FROM now() - x.created_at)::float8 FROM deliveries x
                 WHERE x.destination_id = d.id AND x.state = 'pending' ORDER BY x.event_id LIMIT 1)
                    AS oldest_pending_seconds,
                coalesce(d.last_error, f.last_error) AS last_error,
                CASE WHEN d.last_error IS NOT NULL THEN d.last_error_at ELSE f.finished_at END AS last_error_at
         FROM destinations d
         LEFT JOIN LATERAL (
             SELECT x.last_error, x.finished_at FROM deliveries x
             WHERE x.destination_id = d.id AND x.state = 'failed' ORDER BY x.event_id DESC LIMIT 1
         ) f ON true
         WHERE $1::text IS NULL OR d.name = $1
         ORDER BY d.name",
    )
    .bind(name)
    .fetch_all(pool)
    .await
}

/// A webhook destination to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    /// Lowercase letters, digits, `-` and `_`; up to 63 characters.
    #[schema(example = "crm", pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")]
    pub name: String,
    /// An http(s) URL.
    #[schema(
        example = "https://crm.example.com/hooks/shop",
        pattern = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
        max_length = 2048
    )]
    pub url: String,
    /// Event names it takes: exact names, `prefix.*` or `*`; 1 to 100 of them.
    #[schema(example = json!(["order.*", "customer.created"]), min_items = 1, max_items = 100)]
    pub events: Vec<EventPattern>,
    /// When set, every request carries `X-Shopbridge-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    #[schema(max_length = 512, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub secret: Option<String>,
}

/// An event name (`order.created`), a prefix (`order.*`) or `*`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "order.*", pattern = "^(\\*|[a-z_]+(\\.[a-z_]+)*(\\.\\*)?)$")]
pub struct EventPattern(String);

impl TryFrom<String> for EventPattern {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, Self::Error> {
        if valid_event_pattern(&pattern) {
            Ok(EventPattern(pattern))
        } else {
            Err(format!(
                "{pattern:?} is not an event name (`order.created`), a prefix (`order.*`) or `*`"
            ))
        }
    }
}

impl EventPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("{0}")]
    Invalid(String),
    #[error("a destination named {0:?} exists already")]
    Exists(String),
    #[error("no webhook destination is named {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The shape the spec states for a webhook URL: `http(s)://host[:port][/path]`, the host
/// of ASCII letters, digits, `.` and `-`, the path of visible ASCII. The URL parser then
/// has the last word (IPv4 forms, port range, IDNA).
fn plain_http_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
        && path.chars().all(|c| c.is_ascii_graphic())
}

/// Known event names a destination may ask for (and `prefix.*`, `*`); events that arrive from
/// outside may be named anything under their integration's prefix.
fn valid_event_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix(".*").unwrap_or(pattern);
    pattern == "*"
        || (!name.is_empty()
            && name.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            }))
}

pub async fn add_webhook(pool: &PgPool, new: NewWebhook) -> Result<(), DestinationError> {
    let name = new.name.as_str();
    let valid_name = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !name.starts_with(['-', '_']);
    if !valid_name {
        return Err(DestinationError::Invalid(
            "name: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit.".into(),
        ));
    }
    if name == "waymore" {
        return Err(DestinationError::Exists(name.into()));
    }
    let url = Some(new.url.as_str())
        .filter(|u| u.len() <= 2048 && plain_http_url(u))
        .and_then(|u| reqwest::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            DestinationError::Invalid(
                "url: must be an http(s) URL of up to 2048 characters.".into(),
            )
        })?;
    if new.events.is_empty() || new.events.len() > 100 {
        return Err(DestinationError::Invalid(
            "events: name between 1 and 100 events or patterns (`order.*`, `*`).".into(),
        ));
    }
    let secret = new.secret.filter(|s| !s.is_empty());
    if secret
        .as_ref()
        .is_some_and(|s| s.chars().count() > 512 || s.chars().any(char::is_control))
    {
        return Err(DestinationError::Invalid(
            "secret: up to 512 characters, no control characters.".into(),
        ));
    }
    let config = serde_json::json!({"url": url.as_str(), "secret": secret});
    let inserted = sqlx::query(
        "INSERT INTO destinations (name, kind, events, config) VALUES ($1, 'webhook', $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(
        new.events
            .iter()
            .map(EventPattern::as_str)
            .collect::<Vec<_>>(),
    )
    .bind(config)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(DestinationError::Exists(name.into()));
    }
    Ok(())
}

/// Removes a webhook destination with its deliveries: nothing more goes to it.
pub async fn remove_webhook(pool: &PgPool, name: &str) -> Result<(), DestinationError> {
    let removed = sqlx::query("DELETE FROM destinations WHERE name = $1 AND kind = 'webhook'")
        .bind(name)
        .execute(pool)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(DestinationError::NotFound(name.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{plain_http_url, valid_event_pattern};

    #[test]
    fn event_patterns_are_names_prefixes_or_everything() {
        for good in [
            "*",
            "order.*",
            "order.created",
            "customer.cart_opened",
            "one.*",
        ] {
            assert!(valid_event_pattern(good), "{good}");
        }
        for bad in [
            "",
            ".*",
            "order.",
            "Order.created",
            "order..created",
            "order.*.x",
            "a b",
        ] {
            assert!(!valid_event_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn a_webhook_url_has_the_shape_the_spec_states() {
        for good in [
            "https://crm.example.com/hooks/shop?x=1",
            "http://127.0.0.1:8080",
            "https://a-b.c/",
        ] {
            assert!(plain_http_url(good), "{good}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "http://VJ0P5XXc*",
            "https://host:123456/",
            "https://host:/",
            "https://host/a b",
            "https://user@host/",
        ] {
            assert!(!plain_http_url(bad), "{bad}");
        }
    }
}
