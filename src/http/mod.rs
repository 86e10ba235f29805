//! HTTP plumbing shared by every integration: errors, extractors, probes, the API spec, TLS.

pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod tls;
