//! The shop's VAPID key pair (RFC 8292): a P-256 key made once, its private half sealed,
//! its public half served to the shop's service worker as `applicationServerKey`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sqlx::PgPool;

use crate::secrets::vault::{Vault, VaultError};

const OWNER: &str = "vapid";
const PRIVATE_KEY: &str = "private_key";

/// The public key: the uncompressed point, base64url without padding (as
/// `PushManager.subscribe` takes it).
#[derive(Debug, Clone)]
pub struct VapidPublicKey(pub String);

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the stored VAPID private key does not match its public key")]
    Mismatch,
}

/// The key pair, made on first start (once, whichever process gets there first); the
/// private key is checked to open and match.
pub async fn ensure(pool: &PgPool, vault: &Vault) -> Result<VapidPublicKey, VapidError> {
    let secret = loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            break secret;
        }
    };
    let mut tx = pool.begin().await?;
    let made: Option<String> = sqlx::query_scalar(
        "INSERT INTO vapid_keys (public_key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING public_key",
    )
    .bind(public_key_of(&secret))
    .fetch_optional(&mut *tx)
    .await?;
    if made.is_some() {
        vault
            .put(&mut *tx, OWNER, PRIVATE_KEY, secret.to_bytes().as_slice())
            .await?;
    }
    tx.commit().await?;
    let public: String = sqlx::query_scalar("SELECT public_key FROM vapid_keys")
        .fetch_one(pool)
        .await?;
    let private = private_key(pool, vault).await?;
    if public_key_of(&private) != public {
        return Err(VapidError::Mismatch);
    }
    Ok(VapidPublicKey(public))
}

/// The private key, to sign with.
pub async fn private_key(pool: &PgPool, vault: &Vault) -> Result<p256::SecretKey, VapidError> {
    let bytes = vault
        .get(pool, OWNER, PRIVATE_KEY)
        .await?
        .ok_or(VapidError::Mismatch)?;
    p256::SecretKey::from_slice(&bytes).map_err(|_| VapidError::Mismatch)
}

fn public_key_of(secret: &p256::SecretKey) -> String {
    URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes())
}
