//! Integration tests: one binary, so one PostgreSQL cluster serves the whole run.

mod browser;
mod bundle;
mod demo_seed;
mod embedded_postgres;
mod errors;
mod events;
mod health;
mod helpers;
mod integrations;
mod jobs;
mod mapping;
mod one;
mod openapi;
mod outage;
mod own_schema;
mod proxy;
mod rate;
mod rfmcube;
mod schema_file;
mod schema_triggers;
mod shopify;
mod tls;
mod waymore;
mod webhooks;
mod workflows;
