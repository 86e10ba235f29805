//! shopbridge: connects a shop's PostgreSQL database to the platforms around it.
//!
//! Integrations, one folder each:
//! - [`rfmcube`]: the pull webservice Rfmcube crawls every night.
//! - [`waymore`]: connect to Routee-Waymore, send it the shop's history (a job) and its
//!   real-time events (a destination kind).
//! - [`webhook`]: webhook destinations, signed the Standard Webhooks way.
//! - [`one`]: the ONe webhook inbox and its sample-event page.
//! - [`shopify`]: Shopify webhook intake: orders, fulfillments and products into the shop.
//! - [`webpush`]: Web Push: the shop's VAPID key, its customers' browser subscriptions, and
//!   sending to them.
//! - [`email`]: email templates and the SMTP relay.
//! - [`workflows`]: trigger → conditions → action, on the shop event log.
//!
//! The backbone they share, which names none of them:
//! - [`events`]: the shop event log every integration feeds and consumes.
//! - [`delivery`]: concurrent, in-order, replayable delivery to destinations of any kind.
//! - [`jobs`]: resumable bulk jobs.
//! - [`outbound`]: the one HTTP client partners are reached with, and its address guard.
//! - [`providers`]: integrations configured at run time, and every process's live copy.
//! - [`secrets`]: secrets presented and kept; [`secrets::vault`] seals them at rest.
//! - [`http`], [`db`], [`retry`]: plumbing.
//!
//! The control plane, [`control`] (the admin endpoints and seed 004's integrations and
//! workflows APIs), the
//! [`cli`], and what puts it together: [`startup`],
//! [`configuration`], [`openapi`], [`probes`]. [`demo`]: deterministic demo data.

pub mod cli;
pub mod configuration;
pub mod control;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod email;
pub mod events;
pub mod http;
pub mod jobs;
pub mod one;
pub mod openapi;
pub mod outbound;
pub mod probes;
pub mod providers;
pub mod retry;
pub mod rfmcube;
pub mod secrets;
pub mod shopify;
pub mod startup;
pub mod waymore;
pub mod webhook;
pub mod webpush;
pub mod workflows;
