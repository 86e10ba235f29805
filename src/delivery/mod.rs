//! Delivery of the shop event log to its destinations (svix-style: the log is the queue,
//! workers claim with leases, every attempt is recorded).
//!
//! The route of an event:
//! 1. a writer (the shop app, psql, the Shopify applier) changes a shop table;
//! 2. a trigger turns the change into a domain event and calls `record_event()`;
//! 3. `record_event()` inserts the event and one delivery per destination that takes it;
//! 4. it NOTIFYs `shop_events` when a worker sleeps (a busy one looks again by itself);
//! 5. the [`worker`] claims due deliveries with a lease, in order per ordering key;
//! 6. the destination's [`kind`] sends each one and says what its answer means.
//!
//! - [`kind`]: what a kind of destination is, and the registry startup fills.
//! - [`destinations`]: who takes which events, their status, hold and release.
//! - [`worker`]: the loop: claims, sends, records outcomes, circuit breaker, drain on stop.
//! - [`queue`]: the worker's SQL.
//! - [`limiter`]: how many deliveries each destination takes at once.
//! - [`asleep`]: the sign a worker hangs out before it sleeps, so writers notify only then.

pub mod asleep;
pub mod destinations;
pub mod kind;
pub mod limiter;
pub mod queue;
pub mod worker;
