//! The shop's link to its Waymore account: authenticate once, keep the UUID (it does not
//! expire), never keep the password.

use chrono::{DateTime, Utc};
use std::time::Duration;

use sqlx::PgPool;

use super::client::{WaymoreClient, WaymoreError};
use super::export::{MassExport, Started};
use super::DESTINATION;
use crate::delivery::destinations::{self, DestinationError};
use crate::jobs::{self, Job};
use crate::secrets::vault::Vault;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    /// The UUID's ends ([`mask`]); the UUID itself is sealed with the destination's config.
    pub uuid_hint: String,
    pub username: String,
    pub connected_at: DateTime<Utc>,
}

/// `8e10…6314`: enough to recognise the UUID, not enough to use it.
pub fn mask(uuid: &str) -> String {
    let chars: Vec<char> = uuid.chars().collect();
    if chars.len() <= 8 {
        return "…".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Routee credentials, checked before anything is sent to Waymore: a value PostgreSQL or
/// Waymore cannot take must not cost a UUID that is then never stored.
#[derive(Debug)]
pub struct Credentials {
    username: String,
    password: String,
}

/// An e-mail address is at most 254 characters.
const MAX_USERNAME: usize = 254;
const MAX_PASSWORD: usize = 1024;

impl Credentials {
    /// The username is trimmed; the password is taken as typed. Errors name the field.
    pub fn parse(username: &str, password: &str) -> Result<Self, String> {
        for (field, value, max) in [
            ("username", username, MAX_USERNAME),
            ("password", password, MAX_PASSWORD),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{field}: must not be empty."));
            }
            if value.chars().count() > max {
                return Err(format!("{field}: must be at most {max} characters."));
            }
            if value.chars().any(char::is_control) {
                return Err(format!(
                    "{field}: must not contain control characters (NUL, line breaks, tabs …)."
                ));
            }
        }
        Ok(Credentials {
            username: username.trim().to_owned(),
            password: password.to_owned(),
        })
    }
}

/// A UUID Waymore answered with that can be stored and sent back in headers and bodies.
fn usable_uuid(uuid: &str) -> Option<&str> {
    let uuid = uuid.trim();
    (!uuid.is_empty() && uuid.len() <= 200 && uuid.chars().all(|c| c.is_ascii_graphic()))
        .then_some(uuid)
}

pub async fn current(pool: &PgPool) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as("SELECT uuid_hint, username, connected_at FROM waymore_connection")
        .fetch_optional(pool)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the shop is already connected to Waymore")]
    AlreadyConnected,
    /// Waymore answered without a UUID: its message, or a generic one.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Upstream(#[from] WaymoreError),
    #[error(
        "Waymore answered with a UUID that is not printable ASCII (or is over 200 characters)"
    )]
    UnusableUuid,
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Authenticates, stores the UUID, records the connection as the integration `integration`
/// (what `GET /api/integrations` lists) and starts the mass export (in the background: the
/// caller wakes the exporter).
pub async fn connect(
    pool: &PgPool,
    vault: &Vault,
    client: &WaymoreClient,
    export: &MassExport,
    credentials: &Credentials,
    integration: uuid::Uuid,
) -> Result<(Connection, Started), ConnectError> {
    if current(pool).await?.is_some() {
        return Err(ConnectError::AlreadyConnected);
    }
    let answer = client
        .authenticate(&credentials.username, &credentials.password)
        .await?;
    let uuid = match answer.uuid.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(uuid) => usable_uuid(uuid).ok_or(ConnectError::UnusableUuid)?,
        None => {
            return Err(ConnectError::Refused(answer.message.unwrap_or_else(|| {
                "Waymore did not accept the credentials".into()
            })))
        }
    };
    let mut tx = pool.begin().await?;
    let stored: Option<Connection> = sqlx::query_as(
        "INSERT INTO waymore_connection (uuid_hint, username, cart_url) VALUES ($1, $2, $3)
         ON CONFLICT (singleton) DO NOTHING
         RETURNING uuid_hint, username, connected_at",
    )
    .bind(mask(uuid))
    .bind(&credentials.username)
    .bind(&client.settings().cart_url)
    .fetch_optional(&mut *tx)
    .await?;
    let connection = stored.ok_or(ConnectError::AlreadyConnected)?;
    let mut account = serde_json::Map::new();
    account.insert("uuid".into(), uuid.into());
    destinations::seal_secrets(&mut tx, vault, DESTINATION, &account).await?;
    let destination = destinations::id_of(&mut *tx, DESTINATION).await?;
    sqlx::query(
        "INSERT INTO integrations (id, provider, details, destination_id)
         VALUES ($1, $2, jsonb_build_object('username', $3::text), $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(integration)
    .bind(super::PROVIDER)
    .bind(&credentials.username)
    .bind(destination)
    .execute(&mut *tx)
    .await?;
    let started = match jobs::start_in(&mut tx, export, client.settings().batch_size).await? {
        Ok(started) => started.into(),
        // Disconnecting cancels unfinished exports, so one left over is resumed.
        Err(jobs::Running(export_id)) => Started {
            export_id,
            resumed: true,
        },
    };
    tx.commit().await?;
    Ok((connection, started))
}

#[derive(Debug, thiserror::Error)]
pub enum DisconnectError {
    #[error("the shop is not connected to Waymore")]
    NotConnected,
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Upstream(#[from] WaymoreError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What the destination is held for while it disconnects.
const DISCONNECTING: &str = "disconnecting from Waymore";

/// Tells Waymore (`Uninstall`) once nothing else is on its way to it, then forgets the UUID,
/// cancels any unfinished export and the events not yet delivered (they stay visible; a
/// replay sends them to a later account only when asked).
///
/// The Waymore destination is held first: no new delivery or export part starts, and the
/// ones in flight are waited for. So nothing goes out under the UUID after its `Uninstall`.
/// If Waymore does not take the `Uninstall`, the hold is released and the shop stays
/// connected.
pub async fn disconnect(
    pool: &PgPool,
    vault: &Vault,
    client: &WaymoreClient,
) -> Result<(), DisconnectError> {
    current(pool).await?.ok_or(DisconnectError::NotConnected)?;
    let uuid = destinations::config(pool, vault, DESTINATION)
        .await?
        .and_then(|config| config.get("uuid")?.as_str().map(str::to_owned))
        .ok_or(DisconnectError::NotConnected)?;
    let destination = destinations::id_of(pool, DESTINATION)
        .await?
        .ok_or(DisconnectError::NotConnected)?;
    destinations::hold_for(pool, destination, DISCONNECTING).await?;
    let uninstalled = async {
        wait_for_in_flight(pool, client.settings().timeout + Duration::from_secs(15)).await?;
        let event_id = uuid::Uuid::new_v4().to_string();
        let answer = client
            .send_event("Uninstall", &uuid, &serde_json::json!({}), &event_id)
            .await
            .map_err(WaymoreError::from)?;
        match answer.is_success() {
            true => Ok(()),
            false => Err(DisconnectError::Upstream(answer.into())),
        }
    }
    .await;
    if let Err(error) = uninstalled {
        destinations::release_hold(pool, destination, DISCONNECTING).await?;
        return Err(error);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM integrations WHERE provider = $1")
        .bind(super::PROVIDER)
        .execute(&mut *tx)
        .await?;
    jobs::cancel_in(&mut tx, MassExport::KIND, "Waymore was disconnected").await?;
    destinations::cancel_undelivered(
        &mut tx,
        DESTINATION,
        "the shop disconnected from Waymore before delivery",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Waits until no Waymore delivery or export part is in flight in any process (their leases
/// are released as they finish; a dead process's expire). Holding the destination row took
/// its lock, so every claim made before is visible here.
async fn wait_for_in_flight(pool: &PgPool, at_most: Duration) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + at_most;
    loop {
        let delivering = destinations::sending(pool, DESTINATION).await?;
        let exporting = jobs::leased(pool, MassExport::KIND).await?;
        if !(delivering || exporting) || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn a_uuid_is_masked_to_its_ends() {
        assert_eq!(mask("8e109ec3-a69b-40fb-a648-dab158616314"), "8e10…6314");
        assert_eq!(mask("short"), "…");
    }
}
