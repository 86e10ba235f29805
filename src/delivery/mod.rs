//! Delivery of the shop event log to its destinations (svix-style: the log is the queue,
//! workers claim with leases, every attempt is recorded).
//!
//! - [`destinations`]: who takes which events, their circuit breaker and status.
//! - [`worker`]: claims due deliveries with short leases, sends many at once, keeps each
//!   ordering key in commit order, records every outcome as it happens.
//! - [`sender`]: how one delivery goes out, per kind of destination (Waymore, webhook).
//! - [`retry`]: backoff with jitter, shared with the mass export.
//! - [`listen`]: LISTEN with reconnection, to wake workers as soon as something commits.

pub mod destinations;
pub mod listen;
pub mod retry;
pub mod sender;
pub mod worker;

use std::time::Duration;

pub use retry::RetryPolicy;

/// The NOTIFY channel `record_event()` announces new events on.
pub const CHANNEL: &str = "shop_events";

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Deliveries in flight at once, per destination and process.
    pub concurrency: usize,
    /// Backoff of one delivery's retries and of a failing destination's probes.
    pub retry: RetryPolicy,
    /// How often the log is checked without a notification (safety net).
    pub poll: Duration,
    /// Finished events are deleted this long after they occurred and finished.
    pub retention: Duration,
    /// Timeout of one webhook request.
    pub timeout: Duration,
    /// How long a stopping process waits for its deliveries in flight.
    pub drain_timeout: Duration,
}
