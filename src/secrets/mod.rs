//! Secrets shopbridge is configured with: what callers must present (Rfmcube's api-key, the
//! admin token, HTTP Basic pairs) and the keys partners sign their webhooks with. Several of
//! each may be configured at once, so one can be rotated without downtime; none ever shows
//! in `Debug` output.
//!
//! [`vault`]: the secrets shopbridge keeps, sealed at rest.

pub mod vault;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Accepted secrets, held only as SHA-256 digests: comparing digests takes the same time
/// whatever the presented value's length or content.
#[derive(Clone, Default)]
pub struct SecretSet(Vec<[u8; 32]>);

impl SecretSet {
    /// Comma-separated; blanks ignored.
    pub fn parse(list: &str) -> Self {
        SecretSet(
            list.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(digest)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// These secrets, each taken whole.
    pub fn of<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        SecretSet(secrets.into_iter().map(digest).collect())
    }

    /// Compares against every secret, without stopping at the first match.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |found, key| {
                found | key.ct_eq(&presented)
            })
            .into()
    }
}

impl std::fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretSet({} configured)", self.0.len())
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// `user:password` pairs accepted by HTTP Basic authentication, comma-separated (several for
/// rotation). A username cannot hold `:` (RFC 7617) and no entry can hold `,`.
#[derive(Clone, Debug, Default)]
pub struct BasicCredentials(SecretSet);

impl BasicCredentials {
    /// Refuses entries without a username or a password; the message never shows a password.
    pub fn parse(list: &str) -> Result<Self, String> {
        for (n, entry) in list.split(',').map(str::trim).enumerate() {
            match entry.split_once(':') {
                _ if entry.is_empty() => {}
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {}
                _ => {
                    return Err(format!(
                        "entry {} is not `username:password` with both parts non-empty",
                        n + 1
                    ))
                }
            }
        }
        Ok(BasicCredentials(SecretSet::parse(list)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One pair, as configured through the integrations API.
    pub fn pair(user: &str, password: &str) -> Self {
        BasicCredentials(SecretSet(vec![digest(&format!("{user}:{password}"))]))
    }

    /// Whether `user:password` is one of the pairs.
    pub fn accepts(&self, pair: &str) -> bool {
        self.0.accepts(pair)
    }
}

/// Keys a partner may sign its webhooks with (HMAC-SHA256 of the body).
#[derive(Clone, Default)]
pub struct SigningSecrets(Vec<Vec<u8>>);

impl SigningSecrets {
    /// Comma-separated; blanks ignored.
    pub fn parse(list: &str) -> Self {
        SigningSecrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        )
    }

    /// One secret, taken whole (commas included).
    pub fn one(secret: &str) -> Self {
        SigningSecrets(vec![secret.as_bytes().to_vec()])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `signature` is the HMAC-SHA256 of `body` under one of the secrets. Every
    /// secret is tried, each comparison in constant time.
    pub fn verify(&self, signature: &[u8], body: &[u8]) -> bool {
        self.0.iter().fold(false, |found, secret| {
            let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(body);
            mac.verify_slice(signature).is_ok() | found
        })
    }
}

impl std::fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningSecrets({} configured)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_sha256(key: &[u8], body: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn any_listed_secret_is_accepted_and_nothing_else() {
        let keys = SecretSet::parse(" old-key , new-key,,");
        assert_eq!(keys.len(), 2);
        assert!(keys.accepts("old-key"));
        assert!(keys.accepts("new-key"));
        assert!(!keys.accepts("new-key "));
        assert!(!keys.accepts(""));
        assert!(!keys.accepts("NEW-KEY"));
    }

    #[test]
    fn basic_credentials_need_a_user_and_a_password() {
        assert!(BasicCredentials::parse("one:s3cret, other:pa:ss").is_ok());
        assert!(BasicCredentials::parse("").unwrap().is_empty());
        let err = BasicCredentials::parse("one:s3cret,nopassword:").unwrap_err();
        assert!(err.contains("entry 2") && !err.contains("s3cret"), "{err}");
        assert!(BasicCredentials::parse(":pw").is_err());
        assert!(BasicCredentials::parse("plain").is_err());
    }

    #[test]
    fn an_empty_set_accepts_nothing() {
        let keys = SecretSet::parse("");
        assert!(keys.is_empty());
        assert!(!keys.accepts(""));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        assert!(!format!("{:?}", SecretSet::parse("s3cret-value")).contains("s3cret"));
    }

    #[test]
    fn any_configured_signing_secret_verifies_and_nothing_else_does() {
        let secrets = SigningSecrets::parse("old-secret, new-secret");
        let body = br#"{"id":1}"#;
        assert!(secrets.verify(&hmac_sha256(b"old-secret", body), body));
        assert!(secrets.verify(&hmac_sha256(b"new-secret", body), body));
        assert!(!secrets.verify(&hmac_sha256(b"other", body), body));
        assert!(!secrets.verify(&hmac_sha256(b"new-secret", body), br#"{"id":2}"#));
        assert!(!secrets.verify(&[], body));
        assert!(!format!("{secrets:?}").contains("secret,"));
        assert!(!SigningSecrets::parse(" , ").verify(&hmac_sha256(b"", body), body));
    }
}
