//! shopbridge: connects a shop's PostgreSQL database to the marketing platforms around it.
//!
//! - [`rfmcube`]: the pull webservice Rfmcube crawls every night.
//! - [`waymore`]: connect to Routee-Waymore and send it the shop's history.
//! - [`http`] and [`db`]: plumbing shared by every integration.
//! - [`demo`]: deterministic demo data.
//! - [`startup`]: the HTTP application, [`configuration`]: settings from the environment.

pub mod configuration;
pub mod db;
pub mod demo;
pub mod http;
pub mod rfmcube;
pub mod startup;
pub mod waymore;
