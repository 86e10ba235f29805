//! Web Push (RFC 8030): the shop's VAPID key pair ([`vapid`]) and the browsers' subscriptions
//! ([`subscriptions`]) that workflows send push notifications to ([`send`]).

pub mod send;
pub mod subscriptions;
pub mod vapid;
