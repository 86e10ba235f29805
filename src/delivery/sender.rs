//! How one delivery goes out, per kind of destination. Outcomes are classified once here:
//! success, a permanent refusal (the event's fault: 4xx but 408/429, or a payload the
//! destination cannot take), or a transient failure (the destination's: retried).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::http::signature::hmac_sha256;
use crate::waymore::client::{WaymoreClient, WaymoreError};
use crate::waymore::events as waymore_events;

/// One claimed delivery with its event, as the sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub delivery_id: i64,
    pub event_id: i64,
    pub attempts: i32,
    pub name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the destination did not answer in time")]
    Timeout,
    #[error("the destination is unreachable: {0}")]
    Unreachable(String),
    #[error("the destination answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the event cannot be sent to this destination: {0}")]
    Unsendable(String),
}

impl SendError {
    /// A refusal that repeating the same request will not change.
    pub fn is_permanent(&self) -> bool {
        match self {
            SendError::Status { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            SendError::Unsendable(_) => true,
            SendError::Timeout | SendError::Unreachable(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            SendError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<WaymoreError> for SendError {
    fn from(error: WaymoreError) -> Self {
        match error {
            WaymoreError::Timeout => SendError::Timeout,
            WaymoreError::Unreachable(e) => SendError::Unreachable(e),
            WaymoreError::Status { status, body } => SendError::Status { status, body },
            WaymoreError::BadAnswer(e) => SendError::Unreachable(e),
        }
    }
}

/// Where a destination's deliveries go, parsed from its kind and config.
#[derive(Debug, Clone)]
pub enum Target {
    Waymore {
        uuid: String,
        cart_url: String,
    },
    Webhook {
        url: reqwest::Url,
        secret: Option<String>,
    },
}

#[derive(Deserialize)]
struct WaymoreConfig {
    uuid: String,
    #[serde(default)]
    cart_url: String,
}

#[derive(Deserialize)]
struct WebhookConfig {
    url: String,
    secret: Option<String>,
}

impl Target {
    pub fn parse(kind: &str, config: serde_json::Value) -> Result<Target, String> {
        match kind {
            "waymore" => serde_json::from_value::<WaymoreConfig>(config)
                .map(|c| Target::Waymore {
                    uuid: c.uuid,
                    cart_url: c.cart_url,
                })
                .map_err(|e| format!("Waymore destination without an account: {e}")),
            "webhook" => {
                let c = serde_json::from_value::<WebhookConfig>(config)
                    .map_err(|e| format!("webhook destination: {e}"))?;
                let url = reqwest::Url::parse(&c.url)
                    .map_err(|e| format!("webhook destination URL: {e}"))?;
                Ok(Target::Webhook {
                    url,
                    secret: c.secret.filter(|s| !s.is_empty()),
                })
            }
            other => Err(format!("unknown destination kind {other:?}")),
        }
    }
}

/// What a webhook receives: the event as recorded.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    id: i64,
    name: &'a str,
    entity: WebhookEntity<'a>,
    occurred_at: String,
    payload: &'a RawValue,
}

#[derive(Serialize)]
struct WebhookEntity<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
}

/// The HTTP clients deliveries go out with (pooled keep-alive connections).
#[derive(Clone)]
pub struct Senders {
    pub waymore: WaymoreClient,
    webhook: reqwest::Client,
    webhook_timeout: Duration,
}

impl Senders {
    pub fn new(waymore: WaymoreClient, webhook_timeout: Duration) -> Self {
        let webhook = reqwest::Client::builder()
            .timeout(webhook_timeout)
            .connect_timeout(webhook_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("shopbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Senders {
            waymore,
            webhook,
            webhook_timeout,
        }
    }

    /// The longest one request to a destination of `kind` can take: leases outlast it.
    pub fn timeout_for(&self, kind: &str) -> Duration {
        match kind {
            "waymore" => self.waymore.settings().timeout,
            _ => self.webhook_timeout,
        }
    }

    /// Sends one event; the success status.
    pub async fn send(&self, target: &Target, event: &Claimed) -> Result<u16, SendError> {
        let payload = RawValue::from_string(event.payload.clone())
            .map_err(|e| SendError::Unsendable(format!("payload is not JSON: {e}")))?;
        match target {
            Target::Waymore { uuid, cart_url } => {
                let (name, data) = waymore_events::render(&event.name, &payload, cart_url)
                    .map_err(SendError::Unsendable)?;
                let id = event.event_id.to_string();
                Ok(self.waymore.send_event(name, uuid, &data, &id).await?)
            }
            Target::Webhook { url, secret } => {
                let body = serde_json::to_vec(&WebhookBody {
                    id: event.event_id,
                    name: &event.name,
                    entity: WebhookEntity {
                        kind: &event.entity_type,
                        id: &event.entity_id,
                    },
                    occurred_at: event
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    payload: &payload,
                })
                .map_err(|e| SendError::Unsendable(e.to_string()))?;
                let mut request = self
                    .webhook
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("X-Event-Id", event.event_id.to_string());
                if let Some(secret) = secret {
                    request = request.header("X-Shopbridge-Signature", signature(secret, &body));
                }
                let response = request.body(body).send().await.map_err(|e| {
                    if e.is_timeout() {
                        SendError::Timeout
                    } else {
                        SendError::Unreachable(e.without_url().to_string())
                    }
                })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(status.as_u16());
                }
                let body = response.text().await.unwrap_or_default();
                Err(SendError::Status {
                    status: status.as_u16(),
                    body: crate::http::clip(body),
                })
            }
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of the body with the destination's secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let hex: String = hmac_sha256(secret.as_bytes(), body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}
