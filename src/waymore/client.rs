//! Waymore's three URLs (authenticate, mass data, events), reached through the shared
//! outbound client.

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::configuration::WaymoreSettings;
use crate::outbound::{Answer, Client, NoAnswer};

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

impl From<NoAnswer> for WaymoreError {
    fn from(no_answer: NoAnswer) -> Self {
        match no_answer {
            NoAnswer::Timeout => WaymoreError::Timeout,
            other => WaymoreError::Unreachable(other.to_string()),
        }
    }
}

impl From<Answer> for WaymoreError {
    fn from(answer: Answer) -> Self {
        WaymoreError::Status {
            status: answer.status,
            body: answer.excerpt(),
        }
    }
}

#[derive(Clone)]
pub struct WaymoreClient {
    http: Client,
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
    /// Waymore's URLs are the operator's settings: the client reaches them wherever they are.
    pub fn new(settings: WaymoreSettings) -> Self {
        WaymoreClient {
            http: Client::trusted(settings.timeout),
            settings,
        }
    }

    pub fn settings(&self) -> &WaymoreSettings {
        &self.settings
    }

    async fn post_json(
        &self,
        url: &reqwest::Url,
        body: &impl Serialize,
        event_id: Option<&str>,
    ) -> Result<Answer, NoAnswer> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(id) = event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert("x-event-id", id);
        }
        let body = serde_json::to_vec(body).expect("the request serializes");
        self.http.post(url, headers, body).await
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
        let answer = self
            .post_json(&self.settings.auth_url, &request, None)
            .await?;
        if answer.status >= 500 {
            return Err(answer.into());
        }
        // A refusal (wrong credentials, say) comes as 4xx with a JSON `message`.
        serde_json::from_str(&answer.body).map_err(|e| match answer.is_success() {
            true => WaymoreError::BadAnswer(e.to_string()),
            false => answer.into(),
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
        let answer = self.post_json(&self.settings.data_url, &body, None).await?;
        match answer.is_success() {
            true => Ok(()),
            false => Err(answer.into()),
        }
    }

    /// One real-time event; `event_id` lets the receiver drop duplicates of a retried event.
    /// Waymore's answer, whatever it is.
    pub async fn send_event(
        &self,
        event: &str,
        uuid: &str,
        data: &impl Serialize,
        event_id: &str,
    ) -> Result<Answer, NoAnswer> {
        self.post_json(
            &self.settings.events_url,
            &Event { event, uuid, data },
            Some(event_id),
        )
        .await
    }
}
