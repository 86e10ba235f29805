//! Shopify's GraphQL Admin API on the wire, at one pinned version: `POST
//! {storeUrl}/admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`. Every query
//! takes its requested cost from the shop's budget first (shared by every process) and gives
//! back what it did not use; a THROTTLED answer waits for the restore rate and goes again.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::outbound::rate::{Balance, SharedBucket};
use crate::outbound::{Client, NoAnswer};

/// The Admin API version every query is written against.
pub const API_VERSION: &str = "2026-10";

/// What a shop on the Standard plan gets, until its first answer says otherwise.
pub const STANDARD_PLAN: Balance = Balance {
    maximum: 2000.0,
    available: 2000.0,
    restore_rate: 100.0,
};

/// How many THROTTLED answers in a row one query waits out before it gives up.
const THROTTLED_TRIES: u32 = 5;

/// One shop: where its Admin API is, its token, its budget.
#[derive(Clone)]
pub struct AdminApi {
    http: Client,
    endpoint: reqwest::Url,
    token: HeaderValue,
    budget: SharedBucket,
}

/// Why a query did not go through, as what to do next.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 401/403: the token is wrong, revoked, or lacks a scope the query needs.
    #[error("{0}")]
    Unauthorized(String),
    /// The budget ran out too often in a row, a 429 or 5xx, a timeout, no connection.
    #[error("{0}")]
    Transient(String),
    /// The query itself was refused (GraphQL errors other than THROTTLED, another 4xx).
    #[error("{0}")]
    Refused(String),
    /// No store answers at the store URL: no such host, or nothing listens there.
    #[error("no store answers at the store URL: {0}")]
    Unreachable(String),
    /// The store URL leads to an address the outbound guard refuses.
    #[error("the store URL leads to an address shopbridge may not reach: {0}")]
    Forbidden(String),
    #[error("the shop's query budget: {0}")]
    Database(#[from] sqlx::Error),
}

/// An answer's envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct GraphqlError {
    message: String,
    #[serde(default)]
    extensions: Option<ErrorExtensions>,
}

#[derive(Debug, Deserialize)]
struct ErrorExtensions {
    code: Option<String>,
}

#[derive(Deserialize)]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: Option<f64>,
    actual_query_cost: Option<f64>,
    throttle_status: ThrottleStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleStatus {
    maximum_available: f64,
    currently_available: f64,
    restore_rate: f64,
}

impl Cost {
    fn balance(&self) -> Balance {
        Balance {
            maximum: self.throttle_status.maximum_available,
            available: self.throttle_status.currently_available,
            restore_rate: self.throttle_status.restore_rate,
        }
    }
}

/// What one answer says: the data, or why not, and the budget as Shopify counts it.
enum Read<T> {
    Data(T),
    Throttled,
    Errors(String),
}

fn read<T: DeserializeOwned>(body: &str) -> Result<(Read<T>, Option<Cost>), String> {
    let envelope: Envelope<T> =
        serde_json::from_str(body).map_err(|e| format!("an answer that is not GraphQL: {e}"))?;
    let cost = envelope.extensions.and_then(|e| e.cost);
    let throttled = envelope.errors.iter().any(|e| {
        e.extensions.as_ref().and_then(|x| x.code.as_deref()) == Some("THROTTLED")
            || e.message.eq_ignore_ascii_case("throttled")
    });
    let read = match (envelope.data, envelope.errors.is_empty()) {
        _ if throttled => Read::Throttled,
        (Some(data), true) => Read::Data(data),
        (_, false) => Read::Errors(
            envelope
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (None, true) => return Err("an answer with neither data nor errors".into()),
    };
    Ok((read, cost))
}

impl AdminApi {
    /// `store_url` is the shop's `https://` address; `budget` its shared query budget.
    pub fn new(
        http: Client,
        store_url: &reqwest::Url,
        token: &str,
        budget: SharedBucket,
    ) -> Result<Self, String> {
        let mut token = HeaderValue::from_str(token)
            .map_err(|_| "the access token is not a valid header value".to_owned())?;
        token.set_sensitive(true);
        let endpoint = store_url
            .join(&format!("/admin/api/{API_VERSION}/graphql.json"))
            .map_err(|e| format!("the store URL: {e}"))?;
        Ok(AdminApi {
            http,
            endpoint,
            token,
            budget,
        })
    }

    /// Runs `query` with `variables`, `cost` the points it asks for (its requested cost as
    /// Shopify computes it, or an upper bound).
    pub async fn query<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        cost: f64,
    ) -> Result<T, AdminError> {
        let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
            .expect("a query serialises");
        let mut throttled = 0;
        loop {
            self.budget.take(cost).await?;
            let mut headers = HeaderMap::new();
            headers.insert("x-shopify-access-token", self.token.clone());
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let answer = self
                .http
                .post(&self.endpoint, headers, body.clone())
                .await
                .map_err(|no_answer| match no_answer {
                    NoAnswer::Refused(refused) => AdminError::Forbidden(refused.to_string()),
                    NoAnswer::Unreachable(why) => AdminError::Unreachable(why),
                    NoAnswer::Timeout => AdminError::Transient(NoAnswer::Timeout.to_string()),
                })?;
            let said = || format!("Shopify answered {}: {}", answer.status, answer.excerpt());
            match answer.status {
                401 | 403 => return Err(AdminError::Unauthorized(said())),
                200 | 429 => {}
                408 | 500..=599 => return Err(AdminError::Transient(said())),
                _ => return Err(AdminError::Refused(said())),
            }
            let (read, cost_seen) = read::<T>(&answer.body).map_err(AdminError::Transient)?;
            if let Some(seen) = &cost_seen {
                let used = seen.actual_query_cost.unwrap_or(0.0);
                let asked = seen.requested_query_cost.unwrap_or(cost).max(cost);
                self.budget.settle(asked - used, seen.balance()).await?;
            }
            match read {
                Read::Data(data) => return Ok(data),
                Read::Errors(errors) => return Err(AdminError::Refused(errors)),
                Read::Throttled if throttled + 1 < THROTTLED_TRIES => {
                    throttled += 1;
                    log::warn!("Shopify answered THROTTLED; waiting for the restore rate");
                }
                Read::Throttled => {
                    return Err(AdminError::Transient(format!(
                        "Shopify answered THROTTLED {THROTTLED_TRIES} times in a row"
                    )))
                }
            }
            if answer.status == 429 {
                tokio::time::sleep(answer.retry_after.unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Shop {
        shop: Value,
    }

    #[test]
    fn a_throttled_answer_is_told_apart_with_its_budget() {
        let body = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
            "extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,
            "throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":666,"restoreRate":50.0}}}}"#;
        let (read, cost) = read::<Shop>(body).unwrap();
        assert!(matches!(read, Read::Throttled));
        let balance = cost.unwrap().balance();
        assert_eq!(
            (balance.maximum, balance.available, balance.restore_rate),
            (1000.0, 666.0, 50.0)
        );
    }

    #[test]
    fn data_and_errors_are_read_apart() {
        let ok = r#"{"data":{"shop":{"name":"S"}},"extensions":{"cost":{"requestedQueryCost":1,
            "actualQueryCost":1,"throttleStatus":{"maximumAvailable":2000,"currentlyAvailable":1999,
            "restoreRate":100}}}}"#;
        match read::<Shop>(ok).unwrap().0 {
            Read::Data(data) => assert_eq!(data.shop["name"], "S"),
            _ => panic!("not read as data"),
        }
        let refused = r#"{"errors":[{"message":"Field 'x' doesn't exist"}]}"#;
        match read::<Shop>(refused).unwrap().0 {
            Read::Errors(message) => assert!(message.contains("doesn't exist")),
            _ => panic!("not read as errors"),
        }
        assert!(read::<Shop>("<html>").is_err());
    }
}
