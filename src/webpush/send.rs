//! Sending a push message: the payload encrypted for the subscription (RFC 8291,
//! `aes128gcm`), the request signed with the shop's VAPID key (RFC 8292: a JWT whose `aud`
//! is the push service's origin, expiring within 12 hours), POSTed through the guarded client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use sqlx::PgPool;
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::{p256, Auth, WebPushBuilder};

use super::vapid::{self, VapidError};
use crate::outbound::{Answer, Client, NoAnswer};
use crate::secrets::vault::Vault;

/// Push services take at most 4096 bytes of payload (RFC 8291 §4 with one record).
pub const MAX_PAYLOAD: usize = 4096 - 103;
/// How long a push service keeps a message for a browser that is offline, and how long the
/// VAPID JWT is valid.
const TTL: Duration = Duration::from_secs(12 * 3600);
/// A VAPID JWT is signed anew this long before it expires.
const RESIGN: Duration = Duration::from_secs(3600);
/// The record size declared in the `aes128gcm` header. RFC 8291 §4: the sender MUST set it
/// greater than the one record it sends; Chrome's encoder declares 4096, the largest push.
const RECORD_SIZE: u32 = 4096;

/// A subscription to push to, its auth secret opened.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: [u8; 16],
}

/// What became of one push.
#[derive(Debug)]
pub enum Pushed {
    Accepted(u16),
    /// 404 or 410: the browser unsubscribed; the subscription is deleted.
    Gone(u16),
    /// Later: the push service is down, or asked to wait (429 `Retry-After`).
    Later {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The push service refused this message (too large, malformed).
    Refused(String),
    /// The push service refused our VAPID signature: no push goes until it is fixed.
    Misconfigured(String),
}

/// Who gets a push: a customer's subscriptions, or every one.
pub enum Audience<'a> {
    Customer {
        id: Option<i64>,
        email: Option<&'a str>,
    },
    All,
}

pub struct Pusher {
    client: Client,
    key: ES256KeyPair,
    subject: String,
    /// The VAPID header per push service origin, and when to sign a new one: signing costs
    /// as much as encrypting, and a push service takes the same JWT until it expires.
    signed: Mutex<HashMap<String, (HeaderValue, Instant)>>,
}

impl Pusher {
    pub async fn load(
        pool: &PgPool,
        vault: &Vault,
        client: Client,
        subject: String,
    ) -> Result<Self, VapidError> {
        let secret = vapid::private_key(pool, vault).await?;
        let key = ES256KeyPair::from_bytes(&secret.to_bytes()).map_err(|_| VapidError::Mismatch)?;
        Ok(Pusher {
            client,
            key,
            subject,
            signed: Mutex::default(),
        })
    }

    /// The request for one subscription: the payload encrypted, the VAPID JWT signed.
    pub fn request(
        &self,
        to: &Recipient,
        payload: &[u8],
    ) -> Result<(reqwest::Url, HeaderMap, Vec<u8>), String> {
        let endpoint: http::Uri = to
            .endpoint
            .parse()
            .map_err(|e| format!("the endpoint is not a URI: {e}"))?;
        let key = super::subscriptions::base64url(&to.p256dh)
            .and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
            .ok_or("the subscription's p256dh key is not valid")?;
        let request = WebPushBuilder::new(endpoint, key, Auth::clone_from_slice(&to.auth))
            .with_valid_duration(TTL)
            .build(payload.to_vec())
            .map_err(|e| format!("the push message cannot be made: {e}"))?;
        let url = reqwest::Url::parse(&to.endpoint).map_err(|e| e.to_string())?;
        let authorization = self.vapid(&url)?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        for (name, value) in request.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.insert(name, value);
            }
        }
        headers.insert("urgency", HeaderValue::from_static("normal"));
        Ok((url, headers, declare_record_size(request.into_body())))
    }

    /// `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292), signed once per origin
    /// and `RESIGN` before it expires. The JWT's `aud` is the push resource's origin with its
    /// port: web-push-native's own signing leaves a non-default port out, which a push
    /// service on one refuses.
    fn vapid(&self, url: &reqwest::Url) -> Result<HeaderValue, String> {
        let origin = url.origin().ascii_serialization();
        let mut signed = self.signed.lock().expect("not poisoned");
        if let Some((header, until)) = signed.get(&origin) {
            if Instant::now() < *until {
                return Ok(header.clone());
            }
        }
        let claims = Claims::create(TTL.into())
            .with_audience(&origin)
            .with_subject(&self.subject);
        let token = self
            .key
            .sign(claims)
            .map_err(|e| format!("the VAPID JWT cannot be signed: {e}"))?;
        let public =
            URL_SAFE_NO_PAD.encode(self.key.public_key().public_key().to_bytes_uncompressed());
        let header = HeaderValue::from_str(&format!("vapid t={token}, k={public}"))
            .map_err(|e| e.to_string())?;
        signed.insert(origin, (header.clone(), Instant::now() + TTL - RESIGN));
        Ok(header)
    }

    pub async fn push(&self, pool: &PgPool, to: &Recipient, payload: &[u8]) -> Pushed {
        let (url, headers, body) = match self.request(to, payload) {
            Ok(request) => request,
            Err(problem) => return Pushed::Refused(problem),
        };
        match self.client.post(&url, headers, body).await {
            Ok(answer) => self.read(pool, to, answer).await,
            Err(NoAnswer::Refused(refused)) => Pushed::Refused(refused.to_string()),
            Err(no_answer) => Pushed::Later {
                error: no_answer.to_string(),
                retry_after: None,
            },
        }
    }

    async fn read(&self, pool: &PgPool, to: &Recipient, answer: Answer) -> Pushed {
        let status = answer.status;
        let said = || format!("the push service answered {status}: {}", answer.excerpt());
        match status {
            200..=299 => Pushed::Accepted(status),
            404 | 410 => match forget(pool, to.id).await {
                Ok(()) => Pushed::Gone(status),
                Err(e) => Pushed::Later {
                    error: format!("{}; deleting the subscription failed: {e}", said()),
                    retry_after: None,
                },
            },
            401 | 403 => Pushed::Misconfigured(said()),
            408 | 425 | 429 | 500..=599 => Pushed::Later {
                error: said(),
                retry_after: answer.retry_after,
            },
            _ => Pushed::Refused(said()),
        }
    }
}

/// The subscriptions `audience` has, their auth secrets opened; one query.
pub async fn recipients(
    pool: &PgPool,
    vault: &Vault,
    audience: Audience<'_>,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let (all, id, email) = match audience {
        Audience::All => (true, None, None),
        Audience::Customer { id, email } => (false, id, email),
    };
    let rows: Vec<(i64, String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT s.id, s.endpoint, s.p256dh, k.sealed
         FROM push_subscriptions s
         JOIN secrets k ON k.owner = 'push_subscription/' || s.id AND k.name = 'auth'
         WHERE $1 OR s.customer_id = $2 OR lower(s.customer_email) = lower($3)
         ORDER BY s.id",
    )
    .bind(all)
    .bind(id)
    .bind(email)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, endpoint, p256dh, sealed)| {
            let auth = vault
                .open(&format!("push_subscription/{id}"), "auth", &sealed)
                .ok()?;
            Some(Recipient {
                id,
                endpoint,
                p256dh,
                auth: auth.try_into().ok()?,
            })
        })
        .collect())
}

async fn forget(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// web-push-native declares `rs` equal to the record it makes, which a strict decoder
/// (Mozilla's ecec) reads as "another record follows". The header (salt, rs, key id) is not
/// authenticated and the one record is marked last, so `rs` is set after encryption.
fn declare_record_size(mut body: Vec<u8>) -> Vec<u8> {
    body[16..20].copy_from_slice(&RECORD_SIZE.to_be_bytes());
    body
}
