//! HTTP plumbing shared by every endpoint: the error envelope, extractors, callers'
//! credentials, admission control, the edge's limits, TLS.

pub mod admission;
pub mod auth;
pub mod edge;
pub mod error;
pub mod extract;
pub mod tls;

/// What an endpoint queued to be done again (deliveries, webhooks).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub queued: u64,
}
