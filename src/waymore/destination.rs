//! Waymore as a kind of destination: while the shop is connected, the `waymore`
//! destination takes the 14 events Waymore has a shape for and sends each, mapped at send
//! time ([`super::events`]), under the account's UUID. Connecting and disconnecting
//! enable and disable it (migration `20261123000001_event_log.sql`).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::WaymoreClient;
use super::events;
use crate::delivery::kind::{Delivery, DestinationKind, Outcome, Sending, Target};

pub const KIND: &str = "waymore";

pub struct WaymoreKind {
    client: WaymoreClient,
}

impl WaymoreKind {
    pub fn new(client: WaymoreClient) -> Self {
        WaymoreKind { client }
    }
}

/// How the destination is stored while connected.
#[derive(Deserialize)]
struct Config {
    uuid: String,
    #[serde(default)]
    cart_url: String,
}

impl DestinationKind for WaymoreKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String> {
        let config = Config::deserialize(config)
            .map_err(|e| format!("Waymore destination without an account: {e}"))?;
        Ok(Arc::new(Account {
            client: self.client.clone(),
            uuid: config.uuid,
            cart_url: config.cart_url,
        }))
    }

    fn timeout(&self) -> Duration {
        self.client.settings().timeout
    }

    /// The account's UUID is a secret.
    fn secret_fields(&self) -> &'static [&'static str] {
        &["uuid"]
    }

    /// Connecting and disconnecting make and unmake it.
    fn managed(&self) -> bool {
        true
    }
}

struct Account {
    client: WaymoreClient,
    uuid: String,
    cart_url: String,
}

/// Waymore answers 401 or 403 when the UUID is not (or no longer) an account's.
fn misconfigured(status: u16) -> bool {
    matches!(status, 401 | 403)
}

impl Target for Account {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            let rendered = RawValue::from_string(delivery.payload.clone())
                .map_err(|e| format!("payload is not JSON: {e}"))
                .and_then(|payload| events::render(&delivery.name, &payload, &self.cart_url));
            let (name, data) = match rendered {
                Ok(rendered) => rendered,
                Err(error) => return Outcome::unsendable(error),
            };
            let id = delivery.event_id.to_string();
            match self.client.send_event(name, &self.uuid, &data, &id).await {
                Ok(answer) => Outcome::of_answer(answer, misconfigured),
                Err(no_answer) => Outcome::of_no_answer(no_answer),
            }
        })
    }
}
