//! Keyset cursors: opaque to clients, signed so a garbled, edited or foreign token is
//! refused (400) instead of silently yielding a wrong page.
//!
//! A token is `base64url(payload) "." base64url(HMAC-SHA256(payload))[..16]`. The HMAC key
//! is generated once and kept in the database, so every `serve` process accepts the
//! cursors of the others, across restarts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;

use super::window::{DateField, Entity, Window};

const MAC_LEN: usize = 16;
const VERSION: u8 = 1;

/// Where a crawl stands: its window, the last row it returned, the page that comes next.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub entity: Entity,
    pub window: Window,
    /// Rows at or after this instant are left to the next crawl: capped at the database's
    /// clock when the crawl began, so rows updated during the crawl are not returned twice.
    pub upper: DateTime<Utc>,
    /// The last row's paging column and key (as text: shops key their rows by integers,
    /// text or uuids).
    pub after: (DateTime<Utc>, String),
    pub page: u32,
}

/// A row key in a cursor: cursors issued before keys were text carry an integer.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Key {
    Integer(i64),
    Text(String),
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u8,
    e: Entity,
    f: DateField,
    from: i64,
    to: i64,
    up: i64,
    ts: i64,
    id: Key,
    p: u32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CursorError {
    #[error("cursor: not a cursor issued by this service (garbled or altered)")]
    Invalid,
}

/// The service's cursor key, read from the database on first use: the service starts (and
/// `/readyz` can report pending migrations) before the table exists.
pub struct CursorKeys {
    pool: PgPool,
    key: tokio::sync::OnceCell<CursorKey>,
}

impl CursorKeys {
    pub fn new(pool: PgPool) -> Self {
        CursorKeys {
            pool,
            key: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn get(&self) -> Result<&CursorKey, sqlx::Error> {
        self.key
            .get_or_try_init(|| CursorKey::load_or_create(&self.pool))
            .await
    }
}

#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        CursorKey(bytes)
    }

    /// The service's key: created on first start, shared by every process on the database.
    pub async fn load_or_create(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut candidate = [0u8; 32];
        getrandom::fill(&mut candidate).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let stored: Vec<u8> = sqlx::query_scalar(
            "WITH created AS (
                 INSERT INTO service_secrets (name, value) VALUES ('rfmcube_cursor_hmac', $1)
                 ON CONFLICT (name) DO NOTHING
                 RETURNING value)
             SELECT value FROM created
             UNION ALL
             SELECT value FROM service_secrets WHERE name = 'rfmcube_cursor_hmac'
             LIMIT 1",
        )
        .bind(&candidate[..])
        .fetch_one(pool)
        .await?;
        let bytes: [u8; 32] = stored
            .try_into()
            .map_err(|_| sqlx::Error::Protocol("stored cursor key has the wrong length".into()))?;
        Ok(CursorKey(bytes))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    pub fn encode(&self, cursor: &Cursor) -> String {
        let payload = serde_json::to_vec(&Payload {
            v: VERSION,
            e: cursor.entity,
            f: cursor.window.field,
            from: cursor.window.from.timestamp_micros(),
            to: cursor.window.to.timestamp_micros(),
            up: cursor.upper.timestamp_micros(),
            ts: cursor.after.0.timestamp_micros(),
            id: Key::Text(cursor.after.1.clone()),
            p: cursor.page,
        })
        .expect("cursor payload serializes");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN])
        )
    }

    pub fn decode(&self, token: &str) -> Result<Cursor, CursorError> {
        let (payload, tag) = token.split_once('.').ok_or(CursorError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| CursorError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| CursorError::Invalid)?;
        // A shorter tag would be easier to guess: only the full issued length is accepted.
        if tag.len() != MAC_LEN {
            return Err(CursorError::Invalid);
        }
        self.mac(&payload)
            .verify_truncated_left(&tag)
            .map_err(|_| CursorError::Invalid)?;
        let p: Payload = serde_json::from_slice(&payload).map_err(|_| CursorError::Invalid)?;
        let instant = |micros| DateTime::from_timestamp_micros(micros).ok_or(CursorError::Invalid);
        if p.v != VERSION {
            return Err(CursorError::Invalid);
        }
        Ok(Cursor {
            entity: p.e,
            window: Window {
                from: instant(p.from)?,
                to: instant(p.to)?,
                field: p.f,
            },
            upper: instant(p.up)?,
            after: (
                instant(p.ts)?,
                match p.id {
                    Key::Integer(id) => id.to_string(),
                    Key::Text(id) => id,
                },
            ),
            page: p.p,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        Cursor {
            entity: Entity::Orders,
            window: Window {
                from: at("2025-03-01T00:00:00Z"),
                to: at("2025-03-02T00:00:00Z"),
                field: DateField::UpdatedAt,
            },
            upper: at("2025-03-02T00:00:00Z"),
            after: (at("2025-03-01T10:00:00.123456Z"), "42".into()),
            page: 3,
        }
    }

    #[test]
    fn a_cursor_round_trips_with_microsecond_precision() {
        let key = CursorKey::new([7; 32]);
        assert_eq!(key.decode(&key.encode(&cursor())).unwrap(), cursor());
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        let key = CursorKey::new([7; 32]);
        let token = key.encode(&cursor());
        let (payload, tag) = token.split_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let text = String::from_utf8(raw.clone())
            .unwrap()
            .replace("\"id\":\"42\"", "\"id\":\"41\"");
        raw = text.into_bytes();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(raw));
        assert_eq!(key.decode(&forged), Err(CursorError::Invalid));
    }

    #[test]
    fn a_cursor_signed_with_another_key_is_refused() {
        let token = CursorKey::new([1; 32]).encode(&cursor());
        assert_eq!(
            CursorKey::new([2; 32]).decode(&token),
            Err(CursorError::Invalid)
        );
    }

    #[test]
    fn garbage_is_refused() {
        let key = CursorKey::new([7; 32]);
        for token in [
            "",
            ".",
            "abc",
            "abc.def",
            "!!!.???",
            "eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(key.decode(token), Err(CursorError::Invalid), "{token}");
        }
    }
}
