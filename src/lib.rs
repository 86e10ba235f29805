//! shopbridge: connects a shop's PostgreSQL database to the platforms around it.
//!
//! Integrations, one folder each, each handing startup one [`bundle::Bundle`] (the list is
//! [`INTEGRATIONS`]):
//! - [`rfmcube`]: the pull webservice Rfmcube crawls every night, and the push to its API.
//! - [`waymore`]: connect to Routee-Waymore, send it the shop's history (a job) and its
//!   real-time events (a destination kind).
//! - [`webhook`]: webhook destinations, signed the Standard Webhooks way.
//! - [`one`]: the ONe webhook inbox and its sample-event page.
//! - [`shopify`]: Shopify both ways: webhooks and imports in, tracking out.
//! - [`workflows`]: trigger → conditions → action, on the shop event log, with what its
//!   actions use: [`webpush`] (the shop's VAPID key, its customers' browser
//!   subscriptions, sending to them) and [`email`] (templates and the SMTP relay).
//!
//! The backbone they share, which names none of them:
//! - [`bundle`]: what an integration hands startup, built from what it is given.
//! - [`events`]: the shop event log every integration feeds and consumes.
//! - [`delivery`]: concurrent, in-order, replayable delivery to destinations of any kind.
//! - [`jobs`]: resumable bulk jobs.
//! - [`outbound`]: the one HTTP client partners are reached with, and its address guard.
//! - [`providers`]: integrations configured at run time, and every process's live copy.
//! - [`secrets`]: secrets presented and kept; [`secrets::vault`] seals them at rest.
//! - [`http`], [`db`], [`retry`]: plumbing.
//!
//! The control plane, [`control`] (the backbone's admin endpoints and seed 004's
//! integrations and workflows APIs), the [`cli`], and what puts it together: [`startup`],
//! [`configuration`], [`openapi`], [`probes`]. [`demo`]: deterministic demo data.

pub mod bundle;
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
pub mod openapi;
pub mod outbound;
pub mod probes;
pub mod providers;
pub mod retry;
pub mod secrets;
pub mod shop;
pub mod startup;
pub mod webpush;

/// Declares the integrations' modules and [`INTEGRATIONS`], so that adding one is one line.
macro_rules! integrations {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*

        /// Every integration's bundle, in the order the providers' catalog lists them.
        pub const INTEGRATIONS: &[bundle::Register] = &[$($name::bundle),*];
    };
}

integrations![shopify, waymore, rfmcube, one, webhook, workflows];
