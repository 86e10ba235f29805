//! Shopify both ways (issue #26): with a custom app's Admin API access token, shopbridge
//! talks to the shop's GraphQL Admin API besides receiving its webhooks.
//!
//! - [`client`]: the API on the wire, within the shop's query budget.

pub mod client;
