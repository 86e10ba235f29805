//! The webhook destination kind: every event it takes is POSTed as JSON to a URL an operator
//! gave, signed the Standard Webhooks way (standardwebhooks.com).
//!
//! A request carries `webhook-id` (the event id, the same on every retry and replay),
//! `webhook-timestamp` and, when the destination has secrets, `webhook-signature` with one
//! `v1,<signature>` per secret, so a secret rotates without a gap. Secrets given before
//! Standard Webhooks (any text without `whsec_`) also sign `X-Shopbridge-Signature` as
//! before. `X-Event-Id` repeats the event id.

pub mod provider;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::bundle::{Backbone, Bundle};
use crate::delivery::kind::{Delivery, DestinationKind, Outcome, Sending, Target};
use crate::events::EventPattern;
use crate::outbound::address::Guard;
use crate::outbound::signature::{legacy_signature, standard_signatures, WebhookSecret};
use crate::outbound::Client;
use provider::WebhookProvider;

/// Webhooks' part of the application: the `webhook` destination kind, and the provider that
/// makes one destination per webhook configured.
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let kind: Arc<dyn DestinationKind> = Arc::new(WebhookKind::new(
        backbone.settings.delivery.timeout,
        backbone.guard.clone(),
    ));
    Ok(Bundle::default()
        .kind(kind.clone())
        .provider(WebhookProvider {
            guard: backbone.guard.clone(),
            vault: backbone.vault.clone(),
            kind,
        }))
}

pub const KIND: &str = "webhook";

/// Longest URL taken.
const MAX_URL: usize = 2048;
/// Secrets signing at once: the current one and those being rotated out.
const MAX_SECRETS: usize = 5;

/// A webhook destination to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    /// Lowercase letters, digits, `-` and `_`; up to 63 characters.
    #[schema(example = "crm", pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")]
    pub name: String,
    /// An http(s) URL on a public address (private ones only as `OUTBOUND_ALLOWLIST` names).
    #[schema(
        example = "https://crm.example.com/hooks/shop",
        pattern = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
        max_length = 2048
    )]
    pub url: String,
    /// Event names it takes: exact names, `prefix.*` or `*`; 1 to 100 of them.
    #[schema(example = json!(["order.*", "customer.created"]), min_items = 1, max_items = 100)]
    pub events: Vec<EventPattern>,
    /// Signs every request: `whsec_<base64>` (Standard Webhooks), or any other text, which
    /// also signs `X-Shopbridge-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    #[schema(max_length = 512, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub secret: Option<String>,
}

/// What to change in a webhook destination; what is left out stays. Changing it releases a
/// hold, as `POST …/release` does.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookChange {
    #[schema(
        example = "https://crm.example.com/hooks/shop",
        pattern = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
        max_length = 2048
    )]
    pub url: Option<String>,
    #[schema(example = json!(["order.*"]), min_items = 1, max_items = 100)]
    pub events: Option<Vec<EventPattern>>,
    /// Every secret that signs from now on (1 to 5; `[]` for none): while rotating, the new
    /// one and the old one, then the new one alone.
    #[schema(example = json!(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]), max_items = 5)]
    pub secrets: Option<Vec<String>>,
}

/// A webhook destination's config (its secrets sealed at rest). Destinations created before
/// secrets rotated hold one `secret`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Config {
    pub url: String,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
}

/// A field of a webhook destination is not valid; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Checks a URL given for a webhook: `http(s)://host[:port][/path]`, no credentials, and a
/// host that does not resolve to an address the guard refuses.
pub async fn check_url(url: &str, guard: &Guard) -> Result<reqwest::Url, Invalid> {
    let parsed = Some(url)
        .filter(|u| u.len() <= MAX_URL && plain_http_url(u))
        .and_then(|u| reqwest::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| Invalid("url: must be an http(s) URL of up to 2048 characters.".into()))?;
    guard
        .check(&parsed)
        .await
        .map_err(|refused| Invalid(format!("url: {refused}.")))?;
    Ok(parsed)
}

/// Checks secrets given for a webhook; they are stored as given.
pub fn check_secrets(secrets: &[String]) -> Result<Vec<String>, Invalid> {
    if secrets.len() > MAX_SECRETS {
        return Err(Invalid(format!(
            "secrets: at most {MAX_SECRETS} at a time."
        )));
    }
    secrets
        .iter()
        .map(|secret| {
            if secret.is_empty()
                || secret.chars().count() > 512
                || secret.chars().any(char::is_control)
            {
                return Err(Invalid(
                    "secret: 1 to 512 characters, no control characters.".into(),
                ));
            }
            WebhookSecret::parse(secret)
                .map(|_| secret.clone())
                .map_err(|problem| Invalid(format!("secret: {problem}.")))
        })
        .collect()
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

/// Webhook destinations, sending through a client that reaches only the addresses the
/// allow-list opens.
pub struct WebhookKind {
    client: Client,
}

impl WebhookKind {
    pub fn new(timeout: Duration, guard: Guard) -> Self {
        WebhookKind {
            client: Client::guarded(timeout, guard),
        }
    }
}

impl DestinationKind for WebhookKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String> {
        let config =
            Config::deserialize(config).map_err(|e| format!("webhook destination: {e}"))?;
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| format!("webhook destination URL: {e}"))?;
        let secrets = config
            .secrets
            .iter()
            .chain(config.secret.iter())
            .filter(|s| !s.is_empty())
            .map(|s| WebhookSecret::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("webhook destination secret: {e}"))?;
        Ok(Arc::new(Webhook {
            client: self.client.clone(),
            url,
            secrets,
        }))
    }

    fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["secrets", "secret"]
    }

    fn address(&self, config: &serde_json::Value) -> Option<String> {
        config
            .get("url")
            .and_then(|url| url.as_str())
            .map(str::to_owned)
    }
}

struct Webhook {
    client: Client,
    url: reqwest::Url,
    secrets: Vec<WebhookSecret>,
}

/// What a webhook receives: the event as recorded.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    id: i64,
    name: &'a str,
    entity: Entity<'a>,
    occurred_at: String,
    payload: &'a RawValue,
}

#[derive(Serialize)]
struct Entity<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
}

/// The JSON a webhook receives for `delivery`: the event as recorded.
pub fn body(delivery: &Delivery) -> Result<Vec<u8>, String> {
    let payload = RawValue::from_string(delivery.payload.clone())
        .map_err(|e| format!("payload is not JSON: {e}"))?;
    serde_json::to_vec(&Body {
        id: delivery.event_id,
        name: &delivery.name,
        entity: Entity {
            kind: &delivery.entity_type,
            id: &delivery.entity_id,
        },
        occurred_at: delivery
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        payload: &payload,
    })
    .map_err(|e| e.to_string())
}

impl Webhook {
    fn request(&self, delivery: &Delivery) -> Result<(HeaderMap, Vec<u8>), Outcome> {
        let body = body(delivery).map_err(Outcome::unsendable)?;
        let id = delivery.event_id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            let value = HeaderValue::from_str(&value).expect("ASCII header value");
            headers.insert(HeaderName::from_static(name), value);
        };
        set("webhook-id", id.clone());
        set("webhook-timestamp", timestamp.to_string());
        set("x-event-id", id.clone());
        if !self.secrets.is_empty() {
            set(
                "webhook-signature",
                standard_signatures(&self.secrets, &id, timestamp, &body),
            );
        }
        if let Some(legacy) = self.secrets.iter().find_map(|secret| match secret {
            WebhookSecret::Legacy(text) => Some(text),
            WebhookSecret::Standard(_) => None,
        }) {
            set("x-shopbridge-signature", legacy_signature(legacy, &body));
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok((headers, body))
    }
}

/// A receiver that says the request is not authorised, or that nothing is at the URL, has
/// a secret or a URL to fix: the destination is held until then.
fn misconfigured(status: u16) -> bool {
    matches!(status, 401 | 403 | 404 | 410)
}

impl Target for Webhook {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            let (headers, body) = match self.request(delivery) {
                Ok(request) => request,
                Err(outcome) => return outcome,
            };
            match self.client.post(&self.url, headers, body).await {
                Ok(answer) => Outcome::of_answer(answer, misconfigured),
                Err(no_answer) => Outcome::of_no_answer(no_answer),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::plain_http_url;

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
