//! HTTP client for Waymore's three URLs: authenticate, mass data, events.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::configuration::WaymoreSettings;

/// What the auth URL receives. `Debug` leaves the password out.
#[derive(Serialize)]
pub struct AuthRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub source: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: &'static str,
    pub plugin_version: &'static str,
    pub domain: &'a str,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Waymore answers with a `uuid` on success, a `message` otherwise.
#[derive(Debug, Deserialize)]
pub struct AuthResponse {
    pub uuid: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WaymoreError {
    #[error("Waymore did not answer in time")]
    Timeout,
    #[error("Waymore is unreachable: {0}")]
    Unreachable(String),
    #[error("Waymore answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Waymore's answer is not the JSON expected: {0}")]
    BadAnswer(String),
}

impl WaymoreError {
    /// A refusal that repeating the same request will not change: 4xx but 408 and 429.
    pub fn is_permanent(&self) -> bool {
        matches!(self, WaymoreError::Status { status, .. }
            if (400..500).contains(status) && *status != 408 && *status != 429)
    }
}

impl From<reqwest::Error> for WaymoreError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            WaymoreError::Timeout
        } else {
            WaymoreError::Unreachable(error.without_url().to_string())
        }
    }
}

#[derive(Clone)]
pub struct WaymoreClient {
    http: reqwest::Client,
    settings: WaymoreSettings,
}

#[derive(Serialize)]
struct MassData<'a> {
    uuid: &'a str,
    data: [MassEntityData<'a>; 1],
}

#[derive(Serialize)]
struct MassEntityData<'a> {
    name: &'a str,
    description: &'a str,
    object: &'a RawValue,
}

#[derive(Serialize)]
struct Event<'a, T> {
    event: &'a str,
    uuid: &'a str,
    data: &'a T,
}

impl WaymoreClient {
    pub fn new(settings: WaymoreSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("shopbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        WaymoreClient { http, settings }
    }

    pub fn settings(&self) -> &WaymoreSettings {
        &self.settings
    }

    /// Registers the shop; a response without `uuid` is returned as is, for the caller to
    /// show Waymore's message.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AuthResponse, WaymoreError> {
        let request = AuthRequest {
            username,
            password,
            source: "shopbridge",
            kind: "E-Commerce",
            version: env!("CARGO_PKG_VERSION"),
            plugin_version: env!("CARGO_PKG_VERSION"),
            domain: &self.settings.shop_domain,
        };
        let response = self
            .http
            .post(self.settings.auth_url.clone())
            .json(&request)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if status.is_server_error() {
            return Err(WaymoreError::Status {
                status: status.as_u16(),
                body: crate::http::clip(body),
            });
        }
        // A refusal (wrong credentials, say) comes as 4xx with a JSON `message`.
        serde_json::from_str(&body).map_err(|e| match status.is_success() {
            true => WaymoreError::BadAnswer(e.to_string()),
            false => WaymoreError::Status {
                status: status.as_u16(),
                body: crate::http::clip(body),
            },
        })
    }

    /// One part of the mass export: `objects` is a JSON array of one entity's objects.
    pub async fn send_mass_data(
        &self,
        uuid: &str,
        name: &str,
        description: &str,
        objects: &RawValue,
    ) -> Result<(), WaymoreError> {
        let body = MassData {
            uuid,
            data: [MassEntityData {
                name,
                description,
                object: objects,
            }],
        };
        let request = self.http.post(self.settings.data_url.clone()).json(&body);
        expect_success(request).await.map(drop)
    }

    /// One real-time event; `event_id` lets the receiver drop duplicates of a retried event.
    /// The success status Waymore answered with.
    pub async fn send_event(
        &self,
        event: &str,
        uuid: &str,
        data: &impl Serialize,
        event_id: &str,
    ) -> Result<u16, WaymoreError> {
        let request = self
            .http
            .post(self.settings.events_url.clone())
            .header("X-Event-Id", event_id)
            .json(&Event { event, uuid, data });
        expect_success(request).await
    }
}

async fn expect_success(request: reqwest::RequestBuilder) -> Result<u16, WaymoreError> {
    let response = request.send().await?;
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let body = response.text().await.unwrap_or_default();
    Err(WaymoreError::Status {
        status: status.as_u16(),
        body: crate::http::clip(body),
    })
}
