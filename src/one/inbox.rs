//! The inbox table (`migrations/*_one_inbox.sql`): storing what ONe sends, reading it back
//! for the page and the JSON endpoint, and pruning it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::recognise::{Kind, Recognised};

/// Where a received event went.
#[derive(Debug, sqlx::FromRow)]
pub struct Stored {
    /// The inbox id.
    pub id: i64,
    /// The shop event it became, if a destination wanted one; it still has to be announced
    /// ([`crate::db::notify::Announcer`]).
    pub event_id: Option<i64>,
}

/// Stores a received body with what was recognised in it, and records the shop event in the
/// same transaction (`one_receive`). `body` is kept exactly as received; `payload` is its
/// JSON text with NUL escapes replaced (jsonb holds no NUL), parsed by PostgreSQL, so numbers
/// keep every digit.
pub async fn store(
    pool: &PgPool,
    body: &str,
    payload: &str,
    event: &Recognised,
) -> Result<Stored, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, event_id FROM one_receive($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
    )
    .bind(event.kind.map(Kind::code))
    .bind(&event.sent_kind)
    .bind(event.test)
    .bind(&event.customer_id)
    .bind(&event.cart_id)
    .bind(&event.offer_id)
    .bind(&event.problem)
    .bind(payload)
    .bind(body)
    .fetch_one(pool)
    .await
}

/// What the page and `/one/events.json` can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindFilter {
    /// Every kind: what the page's filter form sends as "All kinds".
    #[serde(rename = "")]
    All,
    CartOpened,
    ClientLogged,
    OfferOpened,
    Test,
    Unrecognised,
}

impl KindFilter {
    /// The kinds one can filter on.
    pub const CHOICES: [KindFilter; 5] = [
        KindFilter::CartOpened,
        KindFilter::ClientLogged,
        KindFilter::OfferOpened,
        KindFilter::Test,
        KindFilter::Unrecognised,
    ];

    pub fn code(self) -> &'static str {
        match self {
            KindFilter::All => "",
            KindFilter::CartOpened => Kind::CartOpened.code(),
            KindFilter::ClientLogged => Kind::ClientLogged.code(),
            KindFilter::OfferOpened => Kind::OfferOpened.code(),
            KindFilter::Test => "test",
            KindFilter::Unrecognised => "unrecognised",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KindFilter::All => "All kinds",
            KindFilter::CartOpened => Kind::CartOpened.label(),
            KindFilter::ClientLogged => Kind::ClientLogged.label(),
            KindFilter::OfferOpened => Kind::OfferOpened.label(),
            KindFilter::Test => "Test",
            KindFilter::Unrecognised => "Unrecognised",
        }
    }
}

/// Received events, newest first, keyset-paged by `before`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxFilter {
    /// `test` and `unrecognised` select those; a kind also matches its test events; empty
    /// means every kind.
    pub kind: Option<KindFilter>,
    /// ONe's customer id, exactly; no NUL characters (nothing stored can hold one).
    #[serde(default, deserialize_with = "crate::http::extract::blank_as_none")]
    #[param(pattern = "^[^\\u0000]*$")]
    pub customer_id: Option<String>,
    /// Events with a smaller id than this: the previous page's `nextBefore`.
    pub before: Option<i64>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl InboxFilter {
    /// The kind filtered on, if any.
    pub fn kind(&self) -> Option<KindFilter> {
        self.kind.filter(|k| *k != KindFilter::All)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(50).clamp(1, 500))
    }
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedEvent {
    pub id: i64,
    #[schema(example = "2026-11-23T10:15:00Z")]
    pub received_at: String,
    /// `cart_opened`, `client_logged`, `offer_opened`; null when not recognised.
    pub kind: Option<String>,
    /// The event name as ONe sent it.
    pub sent_kind: Option<String>,
    pub test: bool,
    pub customer_id: Option<String>,
    pub cart_id: Option<String>,
    pub offer_id: Option<String>,
    /// What could not be found in the payload; null when nothing is missing.
    pub problem: Option<String>,
    /// The shop event it became (`customer.cart_opened` …), if any.
    pub event_id: Option<i64>,
    /// The payload exactly as received (as JSON text, never through a float; a NUL
    /// character included).
    #[schema(value_type = Object)]
    #[serde(serialize_with = "raw_json")]
    pub payload: String,
    /// The payload indented, for the page.
    #[serde(skip)]
    pub payload_pretty: String,
}

fn raw_json<S: serde::Serializer>(json: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::Error;
    let raw: Box<RawValue> = RawValue::from_string(json.to_owned()).map_err(S::Error::custom)?;
    raw.serialize(serializer)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    /// Events stored in all (the retention period keeps this bounded).
    pub kept: i64,
    /// Received events are deleted after this many seconds.
    pub retention_secs: u64,
    pub events: Vec<ReceivedEvent>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

pub async fn page(
    pool: &PgPool,
    filter: &InboxFilter,
    retention: Duration,
) -> Result<InboxPage, sqlx::Error> {
    let limit = filter.limit();
    let kind = filter.kind().map(KindFilter::code);
    let events: Vec<ReceivedEvent> = sqlx::query_as(
        "SELECT id, event_time(received_at) AS received_at, kind, sent_kind, test,
                customer_id, cart_id, offer_id, problem, event_id,
                coalesce(body, payload::text) AS payload, jsonb_pretty(payload) AS payload_pretty
         FROM one_events
         WHERE ($1::bigint IS NULL OR id < $1)
           AND CASE $2::text
                   WHEN 'test' THEN test
                   WHEN 'unrecognised' THEN kind IS NULL AND NOT test
                   ELSE $2 IS NULL OR kind = $2
               END
           AND ($3::text IS NULL OR customer_id = $3)
         ORDER BY id DESC
         LIMIT $4",
    )
    .bind(filter.before)
    .bind(kind)
    .bind(&filter.customer_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let kept = sqlx::query_scalar("SELECT count(*) FROM one_events")
        .fetch_one(pool)
        .await?;
    let next_before = match events.last() {
        Some(last) if events.len() as i64 == limit => Some(last.id),
        _ => None,
    };
    Ok(InboxPage {
        kept,
        retention_secs: retention.as_secs(),
        events,
        next_before,
    })
}

/// Deletes what was received longer than `retention` ago, in batches so no statement holds
/// many row locks for long. Returns how many were deleted.
pub async fn prune(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM one_events WHERE id IN (
             SELECT id FROM one_events
             WHERE received_at < now() - make_interval(secs => $1)
             LIMIT $2)",
        retention,
    )
    .await
}
