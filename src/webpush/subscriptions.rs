//! Browsers' push subscriptions (`PushSubscription.toJSON()` as the shop's page sends it),
//! parsed at the edge: an https endpoint on a public address, a valid P-256 key, a 16-byte
//! auth secret (sealed at rest).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::PgPool;

use crate::outbound::address::Guard;
use crate::secrets::vault::Vault;

const MAX_ENDPOINT: usize = 2048;
const MAX_EMAIL: usize = 254;

/// A subscription as checked.
#[derive(Debug)]
pub struct Subscription {
    pub endpoint: reqwest::Url,
    /// The browser's key, base64url of the uncompressed point.
    pub p256dh: String,
    pub auth: [u8; 16],
    pub customer_id: Option<i64>,
    pub customer_email: Option<String>,
}

/// A field is not right; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// base64url, with or without padding (browsers send it without).
pub fn base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

impl Subscription {
    pub async fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        customer_id: Option<i64>,
        customer_email: Option<&str>,
        guard: &Guard,
    ) -> Result<Self, Invalid> {
        let endpoint = Some(endpoint.trim())
            .filter(|e| e.len() <= MAX_ENDPOINT)
            .and_then(|e| reqwest::Url::parse(e).ok())
            .filter(|u| u.scheme() == "https" && u.host().is_some())
            .filter(|u| u.username().is_empty() && u.password().is_none())
            .ok_or_else(|| {
                Invalid(format!(
                    "endpoint: must be an https:// URL of up to {MAX_ENDPOINT} characters (the \
                     subscription's endpoint)."
                ))
            })?;
        guard
            .check(&endpoint)
            .await
            .map_err(|refused| Invalid(format!("endpoint: {refused}.")))?;
        let point = base64url(p256dh)
            .filter(|bytes| bytes.len() == 65 && bytes[0] == 4)
            .filter(|bytes| p256::PublicKey::from_sec1_bytes(bytes).is_ok())
            .ok_or_else(|| {
                Invalid(
                    "keys.p256dh: must be base64url of an uncompressed P-256 public key (65 \
                     bytes, a point on the curve)."
                        .into(),
                )
            })?;
        let auth: [u8; 16] = base64url(auth)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| Invalid("keys.auth: must be base64url of 16 bytes.".into()))?;
        if customer_id.is_some_and(|id| id <= 0) {
            return Err(Invalid(
                "customerId: must be a positive customer id.".into(),
            ));
        }
        let customer_email = customer_email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|email| {
                let valid = email.len() <= MAX_EMAIL
                    && email
                        .split_once('@')
                        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
                    && !email.chars().any(|c| c.is_control() || c.is_whitespace());
                match valid {
                    true => Ok(email.to_owned()),
                    false => Err(Invalid("customerEmail: must be an e-mail address.".into())),
                }
            })
            .transpose()?;
        Ok(Subscription {
            endpoint,
            p256dh: URL_SAFE_NO_PAD.encode(point),
            auth,
            customer_id,
            customer_email,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("customerId: no customer has the id {0}.")]
    UnknownCustomer(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores a subscription, or updates the one with the same endpoint; true when it is new.
pub async fn save(
    pool: &PgPool,
    vault: &Vault,
    subscription: &Subscription,
) -> Result<bool, SaveError> {
    let mut tx = pool.begin().await?;
    let saved: (i64, bool) = sqlx::query_as(
        "INSERT INTO push_subscriptions (endpoint, p256dh, customer_id, customer_email)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh,
             customer_id = excluded.customer_id, customer_email = excluded.customer_email
         RETURNING id, xmax = 0",
    )
    .bind(subscription.endpoint.as_str())
    .bind(&subscription.p256dh)
    .bind(subscription.customer_id)
    .bind(&subscription.customer_email)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            SaveError::UnknownCustomer(subscription.customer_id.unwrap_or_default())
        }
        _ => SaveError::Database(e),
    })?;
    vault
        .put(
            &mut *tx,
            &format!("push_subscription/{}", saved.0),
            "auth",
            &subscription.auth,
        )
        .await?;
    tx.commit().await?;
    Ok(saved.1)
}
