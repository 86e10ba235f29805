//! Rfmcube's push API on the wire (seed 002): `POST /import`, `GET /processes/{id}`,
//! `POST /merge_customer`, `/merge_order`, `/delete_customer`, each with the connector's
//! `api-key`, each request taking a slot of the connector's limit first (shared by every
//! process), and each answer read into what the caller does next.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::configuration::RfmcubePushSettings;
use crate::outbound::rate::SharedLimit;
use crate::outbound::{Answer, Client, NoAnswer};

/// One connector: its base URL, its key and its share of the limit.
#[derive(Clone)]
pub struct Connector {
    http: Client,
    base: reqwest::Url,
    api_key: HeaderValue,
    limit: SharedLimit,
}

/// Why a call did not go through, as what to do next.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// 401, 403 or 406: the key, or the connector's platform ("Use the Rfmcube API"), is
    /// wrong; nothing goes until an operator fixes it.
    #[error("{0}")]
    Misconfigured(String),
    /// 416: the request is too large for Rfmcube.
    #[error("{0}")]
    TooLarge(String),
    /// 429, 408, 5xx, a timeout, no connection: the same call may go through later.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Another 4xx: this call will never go through as it is.
    #[error("{0}")]
    Refused(String),
    #[error("the shared request limit: {0}")]
    Database(#[from] sqlx::Error),
}

impl CallError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, CallError::Refused(_) | CallError::TooLarge(_))
    }
}

/// An import process, as `GET /processes/{id}` shows it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub status: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Where an import process is.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Completed,
    Failed,
    Running,
}

impl Process {
    pub fn progress(&self) -> Progress {
        match self.status.to_ascii_lowercase().as_str() {
            "completed" => Progress::Completed,
            "failed" | "error" | "errored" | "canceled" | "cancelled" | "aborted" => {
                Progress::Failed
            }
            _ => Progress::Running,
        }
    }
}

/// `processId` as a number or a string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    process_id: ProcessId,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ProcessId {
    Number(i64),
    Text(String),
}

impl Connector {
    /// `api_key` is the connector's; its limit is shared under a name derived from it.
    pub fn new(
        http: Client,
        pool: PgPool,
        settings: &RfmcubePushSettings,
        base: reqwest::Url,
        api_key: &str,
    ) -> Result<Self, String> {
        let mut api_key = HeaderValue::from_str(api_key)
            .map_err(|_| "the api-key is not a valid header value".to_owned())?;
        api_key.set_sensitive(true);
        let name = limit_name(api_key.as_bytes());
        Ok(Connector {
            http,
            base: with_trailing_slash(base),
            api_key,
            limit: SharedLimit::new(pool, name, settings.rate_limit, settings.rate_window),
        })
    }

    pub fn limit(&self) -> &SharedLimit {
        &self.limit
    }

    /// `POST /import`: the process it started.
    pub async fn import(&self, body: Vec<u8>) -> Result<String, CallError> {
        let answer = self.call("import", Some(body)).await?;
        let accepted: Accepted =
            serde_json::from_str(&answer.body).map_err(|e| CallError::Transient {
                message: format!(
                    "/import answered {} without a processId: {e}",
                    answer.status
                ),
                retry_after: None,
            })?;
        Ok(match accepted.process_id {
            ProcessId::Number(id) => id.to_string(),
            ProcessId::Text(id) => id,
        })
    }

    /// `GET /processes/{id}`.
    pub async fn process(&self, id: &str) -> Result<Process, CallError> {
        let path = format!(
            "processes/{}",
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        let answer = self.call(&path, None).await?;
        serde_json::from_str(&answer.body).map_err(|e| CallError::Transient {
            message: format!("/processes/{id} answered {} unreadably: {e}", answer.status),
            retry_after: None,
        })
    }

    /// `POST /merge_customer`, `/merge_order` or `/delete_customer`.
    pub async fn post(&self, path: &str, body: &impl Serialize) -> Result<(), CallError> {
        let body = serde_json::to_vec(body).expect("a request body serialises");
        self.call(path, Some(body)).await.map(drop)
    }

    /// Takes a slot of the limit, then sends; a 2xx answer, or what went wrong.
    async fn call(&self, path: &str, body: Option<Vec<u8>>) -> Result<Answer, CallError> {
        let url = self.base.join(path).expect("a relative path joins");
        let mut headers = HeaderMap::new();
        headers.insert("api-key", self.api_key.clone());
        self.limit.acquire().await?;
        let answered = match body {
            Some(body) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                self.http.post(&url, headers, body).await
            }
            None => self.http.get(&url, headers).await,
        };
        let answer = answered.map_err(|no_answer| match no_answer {
            NoAnswer::Refused(refused) => CallError::Misconfigured(format!(
                "the push URL {} leads to an address shopbridge may not reach: {refused}",
                self.base
            )),
            other => CallError::Transient {
                message: format!("/{path}: {other}"),
                retry_after: None,
            },
        })?;
        if answer.is_success() {
            return Ok(answer);
        }
        let said = format!("/{path} answered {}: {}", answer.status, answer.excerpt());
        Err(match answer.status {
            401 | 403 => CallError::Misconfigured(format!(
                "Rfmcube refused the api-key ({said}): check the connector's key"
            )),
            406 => CallError::Misconfigured(format!(
                "the connector's platform is not \"Use the Rfmcube API\" ({said})"
            )),
            416 => CallError::TooLarge(said),
            429 => {
                // Every process waits as long as Rfmcube asked, or one spacing at least.
                let wait = answer.retry_after.unwrap_or(self.limit.spacing());
                self.limit.hold_off(wait).await?;
                CallError::Transient {
                    message: said,
                    retry_after: answer.retry_after,
                }
            }
            408 | 425 | 500..=599 => CallError::Transient {
                message: said,
                retry_after: answer.retry_after,
            },
            // A redirect is never followed: the push URL is wrong.
            300..=399 => CallError::Misconfigured(said),
            _ => CallError::Refused(said),
        })
    }
}

/// The limit's name: the connector's, from its key, never the key itself.
fn limit_name(api_key: &[u8]) -> String {
    let digest = Sha256::digest(api_key);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("rfmcube-push/{hex}")
}

/// `https://api.rfmcube.com/v1` joins `import` as `…/v1/import`, not `…/import`.
fn with_trailing_slash(mut base: reqwest::Url) -> reqwest::Url {
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

/// `merge_customer` / `merge_order` bodies.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Merge<'a> {
    pub trigger_integrations: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<&'a RawValue>,
}

/// The `delete_customer` body: both keys, Rfmcube looks by id first, then by email.
#[derive(Serialize)]
pub struct Delete<'a> {
    pub id: String,
    pub email: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_under_the_base_s_version() {
        let base = with_trailing_slash("https://api.rfmcube.com/v1".parse().unwrap());
        assert_eq!(
            base.join("import").unwrap().as_str(),
            "https://api.rfmcube.com/v1/import"
        );
    }

    #[test]
    fn the_limit_is_named_after_the_key_without_showing_it() {
        let name = limit_name(b"secret-key-of-the-connector");
        assert!(name.starts_with("rfmcube-push/"));
        assert!(!name.contains("secret"));
        assert_eq!(name, limit_name(b"secret-key-of-the-connector"));
        assert_ne!(name, limit_name(b"another-key-of-the-connector"));
    }

    #[test]
    fn an_unknown_process_status_is_still_running() {
        let process = |status: &str| Process {
            status: status.into(),
            kind: None,
            data: serde_json::Value::Null,
        };
        assert_eq!(process("completed").progress(), Progress::Completed);
        assert_eq!(process("FAILED").progress(), Progress::Failed);
        assert_eq!(process("processing").progress(), Progress::Running);
    }
}
