//! shopbridge: connects a shop's PostgreSQL database to the marketing platforms around it.
//!
//! - [`rfmcube`]: the pull webservice Rfmcube crawls every night.
//! - [`waymore`]: connect to Routee-Waymore and send it the shop's history.
//! - [`one`]: the ONe webhook inbox and its sample-event page.
//! - [`shopify`]: Shopify webhook intake: orders, fulfillments and products into the shop.
//! - [`events`] and [`delivery`]: the shop event log every integration consumes, and its
//!   concurrent, in-order, replayable delivery to destinations.
//! - [`control`]: the control plane: admin endpoints over events and destinations.
//! - [`http`] and [`db`]: plumbing shared by every integration.
//! - [`demo`]: deterministic demo data.
//! - [`startup`]: the HTTP application, [`configuration`]: settings from the environment.

pub mod configuration;
pub mod control;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod events;
pub mod http;
pub mod one;
pub mod rfmcube;
pub mod shopify;
pub mod startup;
pub mod waymore;
