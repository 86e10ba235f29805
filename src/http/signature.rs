//! HMAC-SHA256 signatures of request bodies: made for the webhooks shopbridge sends, checked
//! on the webhooks it receives.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Secrets a partner may sign with (several at once, so one can be rotated without
/// downtime). They never show in `Debug` output.
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

    #[test]
    fn any_configured_secret_verifies_and_nothing_else_does() {
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
