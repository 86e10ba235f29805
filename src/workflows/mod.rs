//! Workflows (seed 004): a trigger (an event of the shop event log), conditions on its
//! payload, and an action: an email, a Web Push message, a signed webhook or a status update.
//!
//! Each workflow is a destination of the `workflow` kind that takes its trigger's event, so
//! it has what the event log guarantees every destination: durable, in order per entity,
//! retried with backoff, held and replayed, sent once across processes.
//!
//! - [`triggers`]: the catalog of triggers per entity type.
//! - [`conditions`]: what a workflow tests in the payload.
//! - [`definition`]: the action and the whole definition, parsed from the wire.
//! - [`engine`]: running one workflow on one event; the destination kind.
//! - [`executions`]: what became of every run.
//! - [`store`]: the workflows' SQL.

pub mod conditions;
pub mod definition;
pub mod engine;
pub mod executions;
pub mod store;
pub mod triggers;

use std::sync::Arc;

use actix_web::web;

use crate::bundle::{Backbone, Bundle};
use crate::webhook::WebhookKind;
use engine::{Engine, WorkflowKind};

/// What runs workflows: the SMTP relay and templates, the push and webhook clients.
pub fn engine(backbone: &Backbone) -> anyhow::Result<Arc<Engine>> {
    let settings = &backbone.settings;
    Ok(Arc::new(Engine::new(
        backbone.pool.clone(),
        backbone.vault.clone(),
        settings.workflows.clone(),
        &settings.email,
        backbone.client_trusting(settings.delivery.timeout),
        WebhookKind::new(settings.delivery.timeout, backbone.guard.clone()),
    )?))
}

/// Workflows' part of the application: the `workflow` destination kind, the engine the
/// workflows API tests with, and the pruning of old executions.
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let engine = engine(backbone)?;
    let (pool, retention) = (backbone.pool.clone(), backbone.settings.delivery.retention);
    Ok(Bundle::default()
        .kind(Arc::new(WorkflowKind(engine.clone())))
        .data(web::Data::from(engine.clone()))
        .task(move |stop| executions::prune_until_stopped(pool, retention, stop))
        .warn_if(
            engine.mailer.is_none(),
            "SMTP_URL is not set: workflows that send email are held until it is",
        ))
}
