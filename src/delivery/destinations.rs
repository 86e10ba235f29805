//! Destinations: who takes which events, how each one is doing, and what operators change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use super::kind::{DestinationKind, Kinds};
use crate::events::{EventPattern, CHANNEL};
use crate::secrets::vault::{Vault, VaultError};

/// A destination with its deliveries at a glance.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStatus {
    #[schema(example = "waymore")]
    pub name: String,
    /// Its kind: `waymore`, `webhook`, …
    pub kind: String,
    /// Event names it takes: exact names, `prefix.*` or `*`.
    pub events: Vec<String>,
    /// Where it sends, when its kind says (a webhook's URL; never a secret).
    #[sqlx(skip)]
    pub url: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    config: serde_json::Value,
    /// Events are recorded for it and sent (Waymore: while connected).
    pub enabled: bool,
    /// Nothing is sent until an operator releases it (or, for Waymore, while it
    /// disconnects); every delivery waits.
    pub held: bool,
    /// Why it is held: what the destination answered that says its configuration is wrong.
    pub hold_reason: Option<String>,
    /// The last tries failed transiently: one probe at a time until one succeeds.
    pub failing: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Deliveries that will never be made (Waymore: events not delivered before a
    /// disconnect).
    pub canceled: i64,
    /// Age of the oldest delivery not yet made.
    pub oldest_pending_seconds: Option<f64>,
    /// The current error: why it is held, else the destination's while it is failing,
    /// else the latest refusal among failed deliveries. None once everything went through.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Every destination's status, or one's.
pub async fn status(
    pool: &PgPool,
    kinds: &Kinds,
    name: Option<&str>,
) -> Result<Vec<DestinationStatus>, sqlx::Error> {
    let mut destinations: Vec<DestinationStatus> = sqlx::query_as(
        "SELECT d.name, d.kind, d.events, d.config, d.enabled, d.held, d.hold_reason,
                d.consecutive_failures > 0 AS failing, d.paused_until,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'pending') AS pending,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'delivered') AS delivered,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'failed') AS failed,
                (SELECT count(*) FROM deliveries x WHERE x.destination_id = d.id AND x.state = 'canceled') AS canceled,
                (SELECT extract(epoch FROM now() - x.created_at)::float8 FROM deliveries x
                 WHERE x.destination_id = d.id AND x.state = 'pending' ORDER BY x.event_id LIMIT 1)
                    AS oldest_pending_seconds,
                coalesce(d.hold_reason, d.last_error, f.last_error) AS last_error,
                CASE WHEN d.hold_reason IS NOT NULL OR d.last_error IS NOT NULL THEN d.last_error_at
                     ELSE f.finished_at END AS last_error_at
         FROM destinations d
         LEFT JOIN LATERAL (
             SELECT x.last_error, x.finished_at FROM deliveries x
             WHERE x.destination_id = d.id AND x.state = 'failed' ORDER BY x.event_id DESC LIMIT 1
         ) f ON true
         WHERE $1::text IS NULL OR d.name = $1
         ORDER BY d.name",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    for destination in &mut destinations {
        destination.url = kinds
            .get(&destination.kind)
            .and_then(|kind| kind.address(&destination.config));
    }
    Ok(destinations)
}

/// A destination's name: lowercase letters, digits, `-` and `_`, starting with a letter or
/// digit, up to 63 characters.
#[derive(Debug, Clone)]
pub struct DestinationName(String);

impl DestinationName {
    pub fn parse(name: &str) -> Result<Self, DestinationError> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !name.starts_with(['-', '_']);
        match valid {
            true => Ok(DestinationName(name.to_owned())),
            false => Err(DestinationError::Invalid(
                "name: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit.".into(),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 100 event patterns.
pub fn check_events(events: &[EventPattern]) -> Result<Vec<&str>, DestinationError> {
    if events.is_empty() || events.len() > 100 {
        return Err(DestinationError::Invalid(
            "events: name between 1 and 100 events or patterns (`order.*`, `*`).".into(),
        ));
    }
    Ok(events.iter().map(EventPattern::as_str).collect())
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("{0}")]
    Invalid(String),
    #[error("a destination named {0:?} exists already")]
    Exists(String),
    #[error("no destination is named {0:?}")]
    NotFound(String),
    #[error("the destination {0:?} is managed by its integration")]
    Managed(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The secrets of a destination's config (its kind's [`DestinationKind::secret_fields`])
/// are sealed in `secrets`, the rest kept readable in `destinations.config`.
const SEALED: &str = "config";

fn owner(destination: i64) -> String {
    format!("destination/{destination}")
}

/// The config as its kind reads it: the readable part with the sealed part opened into it.
pub fn opened(
    vault: &Vault,
    destination: i64,
    config: &Value,
    sealed: Option<&[u8]>,
) -> Result<Value, VaultError> {
    let mut config = config.clone();
    if let (Some(sealed), Value::Object(fields)) = (sealed, &mut config) {
        let secrets: Map<String, Value> =
            serde_json::from_slice(&vault.open(&owner(destination), SEALED, sealed)?)
                .unwrap_or_default();
        fields.extend(secrets);
    }
    Ok(config)
}

/// Stores `config`: its secret fields sealed, the rest readable.
async fn store(
    tx: &mut PgConnection,
    vault: &Vault,
    kind: &dyn DestinationKind,
    destination: i64,
    mut config: Value,
) -> Result<(), sqlx::Error> {
    let mut secrets = Map::new();
    if let Value::Object(fields) = &mut config {
        for field in kind.secret_fields() {
            if let Some(value) = fields.remove(*field) {
                secrets.insert((*field).to_owned(), value);
            }
        }
    }
    sqlx::query("UPDATE destinations SET config = $2 WHERE id = $1")
        .bind(destination)
        .bind(config)
        .execute(&mut *tx)
        .await?;
    match secrets.is_empty() {
        true => {
            sqlx::query("DELETE FROM secrets WHERE owner = $1 AND name = $2")
                .bind(owner(destination))
                .bind(SEALED)
                .execute(&mut *tx)
                .await?;
        }
        false => {
            let plaintext = serde_json::to_vec(&secrets).expect("JSON values serialise");
            vault
                .put(&mut *tx, &owner(destination), SEALED, &plaintext)
                .await?;
        }
    }
    Ok(())
}

/// Seals `secrets` as the secret part of the config of the destination `name` (an
/// integration's, set up by a trigger), in the caller's transaction.
pub async fn seal_secrets(
    tx: &mut PgConnection,
    vault: &Vault,
    name: &str,
    secrets: &Map<String, Value>,
) -> Result<(), DestinationError> {
    let id = id_of(&mut *tx, name)
        .await?
        .ok_or_else(|| DestinationError::NotFound(name.into()))?;
    let plaintext = serde_json::to_vec(secrets).expect("JSON values serialise");
    vault.put(&mut *tx, &owner(id), SEALED, &plaintext).await?;
    Ok(())
}

/// The id of the destination `name`.
pub async fn id_of<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM destinations WHERE name = $1")
        .bind(name)
        .fetch_optional(executor)
        .await
}

/// Holds a destination for `reason` (its integration is disabled or disconnecting): no
/// delivery or job part starts. A hold for another reason, a wrong configuration say, keeps
/// its own. The update locks the row, so claims made before it are visible after.
pub async fn hold_for<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    destination: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE destinations SET held = true, hold_reason = coalesce(hold_reason, $2)
         WHERE id = $1",
    )
    .bind(destination)
    .bind(reason)
    .execute(executor)
    .await?;
    Ok(())
}

/// Lets go of a hold for `reason`, and of no other; the workers of every process are woken
/// at the commit when it was let go.
pub async fn release_hold<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    destination: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH released AS (
             UPDATE destinations SET held = false, hold_reason = NULL
             WHERE id = $1 AND hold_reason = $2 RETURNING id
         )
         SELECT pg_notify($3, '') FROM released",
    )
    .bind(destination)
    .bind(reason)
    .bind(CHANNEL)
    .execute(executor)
    .await?;
    Ok(())
}

/// The config of the destination `name`, its sealed part opened.
pub async fn config(
    pool: &PgPool,
    vault: &Vault,
    name: &str,
) -> Result<Option<Value>, DestinationError> {
    let stored: Option<(i64, Value, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT d.id, d.config, s.sealed FROM destinations d
         LEFT JOIN secrets s ON s.owner = 'destination/' || d.id AND s.name = $2
         WHERE d.name = $1",
    )
    .bind(name)
    .bind(SEALED)
    .fetch_optional(pool)
    .await?;
    stored
        .map(|(id, config, sealed)| Ok(opened(vault, id, &config, sealed.as_deref())?))
        .transpose()
}

/// The sealed part of a destination's config, if any.
async fn sealed(tx: &mut PgConnection, destination: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT sealed FROM secrets WHERE owner = $1 AND name = $2")
        .bind(owner(destination))
        .bind(SEALED)
        .fetch_optional(tx)
        .await
}

/// At start: seals the secrets of destinations stored before they were sealed (webhook
/// secrets were kept readable in `destinations.config`). The count sealed.
pub async fn seal_readable_secrets(
    pool: &PgPool,
    vault: &Vault,
    kinds: &Kinds,
) -> Result<u64, DestinationError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, String, Value)> =
        sqlx::query_as("SELECT id, kind, config FROM destinations ORDER BY id FOR UPDATE")
            .fetch_all(&mut *tx)
            .await?;
    let mut count = 0;
    for (id, kind, config) in rows {
        let Some(kind) = kinds.get(&kind) else {
            continue;
        };
        let readable = kind
            .secret_fields()
            .iter()
            .any(|field| config.get(*field).is_some());
        if !readable {
            continue;
        }
        let sealed = sealed(&mut tx, id).await?;
        let mut whole = opened(vault, id, &Value::Object(Map::new()), sealed.as_deref())?;
        if let (Value::Object(whole), Value::Object(config)) = (&mut whole, config) {
            whole.extend(config);
        }
        store(&mut tx, vault, kind.as_ref(), id, whole).await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}

/// Adds a destination of `kind` with the config its kind parsed; its id.
pub async fn add(
    pool: &PgPool,
    vault: &Vault,
    name: &DestinationName,
    kind: &dyn DestinationKind,
    events: &[EventPattern],
    config: Value,
) -> Result<i64, DestinationError> {
    let mut tx = pool.begin().await?;
    let id = add_in(&mut tx, vault, name, kind, events, config).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`add`] within the caller's transaction, enabled or not.
pub async fn add_in(
    tx: &mut PgConnection,
    vault: &Vault,
    name: &DestinationName,
    kind: &dyn DestinationKind,
    events: &[EventPattern],
    config: Value,
) -> Result<i64, DestinationError> {
    let events = check_events(events)?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO destinations (name, kind, events) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name.as_str())
    .bind(kind.name())
    .bind(events)
    .fetch_optional(&mut *tx)
    .await?;
    let id = inserted.ok_or_else(|| DestinationError::Exists(name.as_str().into()))?;
    store(tx, vault, kind, id, config).await?;
    Ok(id)
}

/// Changes a destination of `kind`: its events when given, its config as `change` makes it
/// from the stored one. Its hold is released and its circuit closed: the next deliveries go
/// out with the new configuration at once.
pub async fn reconfigure(
    pool: &PgPool,
    vault: &Vault,
    name: &str,
    kind: &dyn DestinationKind,
    events: Option<&[EventPattern]>,
    change: impl FnOnce(Value) -> Result<Value, DestinationError>,
) -> Result<(), DestinationError> {
    let mut tx = pool.begin().await?;
    reconfigure_in(&mut tx, vault, name, kind, events, change).await?;
    tx.commit().await?;
    Ok(())
}

/// [`reconfigure`] within the caller's transaction.
pub async fn reconfigure_in(
    tx: &mut PgConnection,
    vault: &Vault,
    name: &str,
    kind: &dyn DestinationKind,
    events: Option<&[EventPattern]>,
    change: impl FnOnce(Value) -> Result<Value, DestinationError>,
) -> Result<(), DestinationError> {
    let events = events.map(check_events).transpose()?;
    let stored: Option<(i64, Value)> = sqlx::query_as(
        "SELECT id, config FROM destinations WHERE name = $1 AND kind = $2 FOR UPDATE",
    )
    .bind(name)
    .bind(kind.name())
    .fetch_optional(&mut *tx)
    .await?;
    let (id, config) = stored.ok_or_else(|| DestinationError::NotFound(name.into()))?;
    let sealed = sealed(&mut *tx, id).await?;
    let config = change(opened(vault, id, &config, sealed.as_deref())?)?;
    store(&mut *tx, vault, kind, id, config).await?;
    sqlx::query(
        "UPDATE destinations
         SET events = coalesce($2, events), held = false, hold_reason = NULL,
             consecutive_failures = 0, paused_until = NULL, last_error = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(events)
    .execute(&mut *tx)
    .await?;
    announce(tx).await?;
    Ok(())
}

/// Wakes the workers of every process at the commit: a destination's deliveries may go.
pub async fn announce(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(tx)
        .await?;
    Ok(())
}

/// Releases a held destination: its deliveries go out again, in order, and its circuit
/// starts closed. False when no destination has that name.
pub async fn release(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let released = sqlx::query(
        "UPDATE destinations
         SET held = false, hold_reason = NULL,
             consecutive_failures = 0, paused_until = NULL, last_error = NULL
         WHERE name = $1",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    announce(&mut tx).await?;
    tx.commit().await?;
    Ok(released.rows_affected() == 1)
}

/// Deletes the destination `name` with its deliveries, whatever its kind: what the
/// integration that owns it does when it is turned off. Whether there was one.
pub async fn forget<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM destinations WHERE name = $1")
        .bind(name)
        .execute(executor)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// The name of the destination `id`.
pub async fn name_of<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM destinations WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// A destination as the integration that owns it reads it: its stored config (the sealed
/// part left sealed), whether it is on, why it is held, and the last error.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Standing {
    pub id: i64,
    pub config: Value,
    pub enabled: bool,
    pub held: bool,
    pub hold_reason: Option<String>,
    pub last_error: Option<String>,
}

const STANDING: &str =
    "SELECT d.id, d.config, d.enabled, d.held, d.hold_reason, d.last_error FROM destinations d";

/// The destination `name`, as [`Standing`] says.
pub async fn standing(pool: &PgPool, name: &str) -> Result<Option<Standing>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{STANDING} WHERE d.name = $1")))
        .bind(name)
        .fetch_optional(pool)
        .await
}

/// The destinations `ids`, as [`Standing`] says, in no particular order.
pub async fn standings(pool: &PgPool, ids: &[i64]) -> Result<Vec<Standing>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{STANDING} WHERE d.id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// How many deliveries of the destination `id` wait.
pub async fn pending(pool: &PgPool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM deliveries WHERE destination_id = $1 AND state = 'pending'",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// Turns the destination `id` on or off, waking the workers at the commit.
pub async fn set_enabled(tx: &mut PgConnection, id: i64, enabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE destinations SET enabled = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(enabled)
        .execute(&mut *tx)
        .await?;
    announce(tx).await
}

/// Turns the destination `id` off if it is on, on if it is off, waking the workers at the
/// commit; whether it is on now.
pub async fn toggle(tx: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let enabled = sqlx::query_scalar(
        "UPDATE destinations SET enabled = NOT enabled, updated_at = now() WHERE id = $1
         RETURNING enabled",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    announce(tx).await?;
    Ok(enabled)
}

/// Cancels every delivery of the destination `name` not yet made (pending or failed), with
/// `why`: they will never be made. How many.
pub async fn cancel_undelivered(
    tx: &mut PgConnection,
    name: &str,
    why: &str,
) -> Result<u64, sqlx::Error> {
    let canceled = sqlx::query(
        "UPDATE deliveries d SET state = 'canceled', finished_at = now(), last_error = $2
         FROM destinations ds
         WHERE ds.id = d.destination_id AND ds.name = $1 AND d.state IN ('pending', 'failed')",
    )
    .bind(name)
    .bind(why)
    .execute(tx)
    .await?;
    Ok(canceled.rows_affected())
}

/// A delivery of the destination `name` is being sent now, by a process whose lease on it
/// has not expired.
pub async fn sending(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id
                        WHERE ds.name = $1 AND d.state = 'pending'
                          AND d.lease_token IS NOT NULL AND d.leased_until > now())",
    )
    .bind(name)
    .fetch_one(pool)
    .await
}

/// Sends the events `event_ids` to the destination `id` again with a fresh count of
/// attempts, those not yet delivered, and releases the destination's hold, whatever its
/// reason: an operator who resumes has fixed what held it. How many were queued.
pub async fn resend(tx: &mut PgConnection, id: i64, event_ids: &[i64]) -> Result<u64, sqlx::Error> {
    let queued = sqlx::query(
        "UPDATE deliveries
         SET state = 'pending', attempts = 0, next_attempt_at = now(), finished_at = NULL
         WHERE destination_id = $1 AND event_id = ANY($2) AND state IN ('pending', 'failed')",
    )
    .bind(id)
    .bind(event_ids)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE destinations
         SET held = false, hold_reason = NULL, consecutive_failures = 0,
             paused_until = NULL, last_error = NULL
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    announce(tx).await?;
    Ok(queued.rows_affected())
}

/// Removes a destination with its deliveries: nothing more goes to it. Destinations an
/// integration manages are not removed here.
pub async fn remove(pool: &PgPool, kinds: &Kinds, name: &str) -> Result<(), DestinationError> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM destinations WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    let kind = kind.ok_or_else(|| DestinationError::NotFound(name.into()))?;
    if kinds.get(&kind).is_none_or(|kind| kind.managed()) {
        return Err(DestinationError::Managed(name.into()));
    }
    forget(pool, name).await?;
    Ok(())
}
