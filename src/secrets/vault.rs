//! The secrets shopbridge keeps (integration credentials, webhook signing secrets, the Web
//! Push key), sealed at rest in the `secrets` table with XChaCha20-Poly1305: a fresh random
//! 24-byte nonce per value, and the row's identity (`owner`, `name`) as associated data, so
//! a sealed value copied into another row does not open.
//!
//! The key is `SHOPBRIDGE_SECRET_KEY` or, when that is unset, a key file made on first start
//! with mode 0600. Every sealed value starts with its key's id (a hash of the key), so a
//! process started with the wrong key stops at start with a clear error instead of reading
//! garbage; and a rotation (`SHOPBRIDGE_SECRET_KEY_PREVIOUS` = the old key) knows what is
//! left to re-seal.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};

const VERSION: u8 = 1;
const KEY_ID: usize = 8;
const NONCE: usize = 24;
const HEADER: usize = 1 + KEY_ID + NONCE;

/// A 256-bit key; `Debug` shows only its id.
#[derive(Clone)]
pub struct SecretKey {
    key: [u8; 32],
    id: [u8; KEY_ID],
}

impl SecretKey {
    /// Base64 (standard or URL-safe, padded or not) of 32 bytes; the error never shows it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "is not base64 (make one with `openssl rand -base64 32`)".to_owned())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 32 bytes, base64-encoded (`openssl rand -base64 32`)")?;
        Ok(Self::from_bytes(key))
    }

    pub fn generate() -> Self {
        let mut key = [0; 32];
        getrandom::fill(&mut key).expect("the operating system provides random bytes");
        Self::from_bytes(key)
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"shopbridge secret key id\0")
            .chain_update(key)
            .finalize();
        let mut id = [0; KEY_ID];
        id.copy_from_slice(&digest[..KEY_ID]);
        SecretKey { key, id }
    }

    /// What identifies the key in messages and in every value it sealed.
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.key).into())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the key file {}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {}: {problem}", path.display())]
    BadKeyFile { path: PathBuf, problem: String },
    #[error(
        "{count} secret(s) in the database are sealed under key {found}, but this process has \
         key {current}{previous}: start it with the key they were sealed under \
         (SHOPBRIDGE_SECRET_KEY, or the key file), or give that key as \
         SHOPBRIDGE_SECRET_KEY_PREVIOUS beside a new SHOPBRIDGE_SECRET_KEY to rotate to it"
    )]
    WrongKey {
        count: i64,
        found: String,
        current: String,
        previous: String,
    },
    #[error("the secret {name:?} of {owner} is sealed under key {found}, which this process does not have")]
    UnknownKey {
        owner: String,
        name: String,
        found: String,
    },
    #[error(
        "the secret {name:?} of {owner} does not open: it was altered, or copied from another row"
    )]
    Tampered { owner: String, name: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Seals and opens secrets; clones share the keys.
#[derive(Clone, Debug)]
pub struct Vault(Arc<Keys>);

#[derive(Debug)]
struct Keys {
    current: SecretKey,
    previous: Option<SecretKey>,
}

impl Vault {
    pub fn new(current: SecretKey, previous: Option<SecretKey>) -> Self {
        Vault(Arc::new(Keys { current, previous }))
    }

    /// `key`, or when it is `None` the key in `key_file` (made on first start).
    pub fn load(
        key: Option<&SecretKey>,
        key_file: &Path,
        previous: Option<&SecretKey>,
    ) -> Result<Self, VaultError> {
        let current = match key {
            Some(key) => key.clone(),
            None => self::key_file(key_file)?,
        };
        Ok(Vault::new(current, previous.cloned()))
    }

    pub fn key_id(&self) -> String {
        self.0.current.id()
    }

    /// `plaintext` sealed for the row (`owner`, `name`), under the current key.
    pub fn seal(&self, owner: &str, name: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = &self.0.current;
        let mut nonce = [0; NONCE];
        getrandom::fill(&mut nonce).expect("the operating system provides random bytes");
        let ciphertext = key
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &associated_data(owner, name),
                },
            )
            .expect("sealing takes any length a database value has");
        let mut sealed = Vec::with_capacity(HEADER + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&key.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// What was sealed for (`owner`, `name`), under whichever key of this process sealed it.
    pub fn open(&self, owner: &str, name: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let tampered = || VaultError::Tampered {
            owner: owner.into(),
            name: name.into(),
        };
        if sealed.len() < HEADER || sealed[0] != VERSION {
            return Err(tampered());
        }
        let id = &sealed[1..1 + KEY_ID];
        let key = [Some(&self.0.current), self.0.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.id == id)
            .ok_or_else(|| VaultError::UnknownKey {
                owner: owner.into(),
                name: name.into(),
                found: hex(id),
            })?;
        key.cipher()
            .decrypt(
                XNonce::from_slice(&sealed[1 + KEY_ID..HEADER]),
                Payload {
                    msg: &sealed[HEADER..],
                    aad: &associated_data(owner, name),
                },
            )
            .map_err(|_| tampered())
    }

    /// Seals `plaintext` into the row (`owner`, `name`), replacing what it held.
    pub async fn put<'c>(
        &self,
        executor: impl PgExecutor<'c>,
        owner: &str,
        name: &str,
        plaintext: &[u8],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO secrets (owner, name, sealed) VALUES ($1, $2, $3)
             ON CONFLICT (owner, name) DO UPDATE SET sealed = excluded.sealed",
        )
        .bind(owner)
        .bind(name)
        .bind(self.seal(owner, name, plaintext))
        .execute(executor)
        .await?;
        Ok(())
    }

    /// The row (`owner`, `name`) opened, if there is one.
    pub async fn get<'c>(
        &self,
        executor: impl PgExecutor<'c>,
        owner: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT sealed FROM secrets WHERE owner = $1 AND name = $2")
                .bind(owner)
                .bind(name)
                .fetch_optional(executor)
                .await?;
        sealed.map(|s| self.open(owner, name, &s)).transpose()
    }

    /// At start: every secret in the database must be sealed under a key this process has,
    /// or it stops with [`VaultError::WrongKey`]. The count of those under the previous key
    /// (for [`Vault::rotate`]).
    pub async fn check(&self, pool: &PgPool) -> Result<i64, VaultError> {
        let keys: Vec<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT sealed_key_id(sealed), count(*) FROM secrets GROUP BY 1 ORDER BY 2 DESC",
        )
        .fetch_all(pool)
        .await?;
        let previous = self.0.previous.as_ref();
        let mut to_rotate = 0;
        for (id, count) in keys {
            if id == self.0.current.id {
                continue;
            }
            if previous.is_some_and(|key| key.id == id.as_slice()) {
                to_rotate += count;
                continue;
            }
            return Err(VaultError::WrongKey {
                count,
                found: hex(&id),
                current: self.0.current.id(),
                previous: previous
                    .map(|key| format!(" (and previous key {})", key.id()))
                    .unwrap_or_default(),
            });
        }
        Ok(to_rotate)
    }

    /// Re-seals under the current key what the previous key sealed, a batch at a time
    /// (rows another process is re-sealing are skipped). The count re-sealed.
    pub async fn rotate(&self, pool: &PgPool) -> Result<u64, VaultError> {
        let Some(previous) = &self.0.previous else {
            return Ok(0);
        };
        let mut resealed = 0;
        loop {
            let mut tx = pool.begin().await?;
            let batch: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT owner, name, sealed FROM secrets WHERE sealed_key_id(sealed) = $1
                 LIMIT 100 FOR UPDATE SKIP LOCKED",
            )
            .bind(previous.id.as_slice())
            .fetch_all(&mut *tx)
            .await?;
            if batch.is_empty() {
                return Ok(resealed);
            }
            for (owner, name, sealed) in &batch {
                let plaintext = self.open(owner, name, sealed)?;
                sqlx::query("UPDATE secrets SET sealed = $3 WHERE owner = $1 AND name = $2")
                    .bind(owner)
                    .bind(name)
                    .bind(self.seal(owner, name, &plaintext))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            resealed += batch.len() as u64;
        }
    }
}

fn associated_data(owner: &str, name: &str) -> Vec<u8> {
    format!("shopbridge secret\0{owner}\0{name}").into_bytes()
}

/// Reads the key file, or makes it (mode 0600, never overwritten) when it does not exist.
fn key_file(path: &Path) -> Result<SecretKey, VaultError> {
    let io = |source| VaultError::KeyFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => SecretKey::parse(&text).map_err(|problem| VaultError::BadKeyFile {
            path: path.to_owned(),
            problem,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let key = SecretKey::generate();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            writeln!(file, "{}", STANDARD.encode(key.key)).map_err(io)?;
            file.sync_all().map_err(io)?;
            log::warn!(
                "made a new secret key in {} (key {}): keep it with the database's backups; \
                 without it the secrets in the database cannot be read",
                path.display(),
                key.id()
            );
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_in_its_own_row() {
        let vault = Vault::new(SecretKey::generate(), None);
        let sealed = vault.seal("integration/a", "credentials", b"s3cret");
        assert_eq!(
            vault.open("integration/a", "credentials", &sealed).unwrap(),
            b"s3cret"
        );
        assert!(matches!(
            vault.open("integration/b", "credentials", &sealed),
            Err(VaultError::Tampered { .. })
        ));
        assert!(vault.open("integration/a", "other", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(vault
            .open("integration/a", "credentials", &altered)
            .is_err());
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
    }

    #[test]
    fn every_seal_takes_a_fresh_nonce() {
        let vault = Vault::new(SecretKey::generate(), None);
        assert_ne!(vault.seal("o", "n", b"same"), vault.seal("o", "n", b"same"));
    }

    #[test]
    fn the_previous_key_still_opens_what_it_sealed_and_others_do_not() {
        let old = Vault::new(SecretKey::generate(), None);
        let sealed = old.seal("o", "n", b"value");
        let rotating = Vault::new(SecretKey::generate(), Some(old.0.current.clone()));
        assert_eq!(rotating.open("o", "n", &sealed).unwrap(), b"value");
        let stranger = Vault::new(SecretKey::generate(), None);
        assert!(matches!(
            stranger.open("o", "n", &sealed),
            Err(VaultError::UnknownKey { .. })
        ));
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_shown() {
        let key = SecretKey::parse(&STANDARD.encode([7u8; 32])).unwrap();
        assert_eq!(key.id().len(), 16);
        assert!(SecretKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 16])).is_err());
        assert!(SecretKey::parse("not base64!").is_err());
        assert!(!format!("{key:?}").contains(&STANDARD.encode([7u8; 32])));
    }

    #[test]
    fn the_key_file_is_made_once_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("secret.key");
        let made = key_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(key_file(&path).unwrap().id(), made.id());
    }
}
