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
