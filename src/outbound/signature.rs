//! Signatures of the webhooks shopbridge sends: Standard Webhooks (standardwebhooks.com)
//! with `whsec_` secrets, and the older `X-Shopbridge-Signature` for secrets given before.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// A webhook signing secret, as given.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookSecret {
    /// `whsec_<base64 of 24 to 64 bytes>`: the key is the decoded bytes.
    Standard(Vec<u8>),
    /// Any other text (secrets given before Standard Webhooks): the key is its bytes, and
    /// requests also carry `X-Shopbridge-Signature`.
    Legacy(String),
}

const PREFIX: &str = "whsec_";

impl WebhookSecret {
    /// The error never shows the secret.
    pub fn parse(secret: &str) -> Result<Self, String> {
        let Some(encoded) = secret.strip_prefix(PREFIX) else {
            return Ok(WebhookSecret::Legacy(secret.to_owned()));
        };
        match STANDARD.decode(encoded) {
            Ok(key) if (24..=64).contains(&key.len()) => Ok(WebhookSecret::Standard(key)),
            Ok(_) => Err("a whsec_ secret holds 24 to 64 bytes, base64-encoded".into()),
            Err(_) => Err("a whsec_ secret is `whsec_` followed by base64".into()),
        }
    }

    fn key(&self) -> &[u8] {
        match self {
            WebhookSecret::Standard(key) => key,
            WebhookSecret::Legacy(text) => text.as_bytes(),
        }
    }

    /// A new Standard Webhooks secret of 32 random bytes, as Svix makes one for an endpoint.
    pub fn generate() -> Self {
        let mut key = vec![0; 32];
        getrandom::fill(&mut key).expect("the operating system provides random bytes");
        WebhookSecret::Standard(key)
    }

    /// As stored and given: `whsec_…` or the legacy text.
    pub fn as_text(&self) -> String {
        match self {
            WebhookSecret::Standard(key) => format!("{PREFIX}{}", STANDARD.encode(key)),
            WebhookSecret::Legacy(text) => text.clone(),
        }
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSecret::Standard(_) => f.write_str("WebhookSecret::Standard(…)"),
            WebhookSecret::Legacy(_) => f.write_str("WebhookSecret::Legacy(…)"),
        }
    }
}

/// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under each
/// secret, space-separated, so a receiver holding any of them verifies while one rotates.
pub fn standard_signatures(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let signed = [
        id.as_bytes(),
        b".",
        timestamp.to_string().as_bytes(),
        b".",
        body,
    ]
    .concat();
    secrets
        .iter()
        .map(|secret| format!("v1,{}", STANDARD.encode(hmac_sha256(secret.key(), &signed))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `X-Shopbridge-Signature`: `sha256=<hex HMAC-SHA256 of the body>`.
pub fn legacy_signature(secret: &str, body: &[u8]) -> String {
    let hex: String = hmac_sha256(secret.as_bytes(), body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_reference_example_signs_as_published() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signatures(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn whsec_secrets_are_base64_keys_and_others_are_kept_as_text() {
        assert!(matches!(
            WebhookSecret::parse("plain text"),
            Ok(WebhookSecret::Legacy(_))
        ));
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(WebhookSecret::parse("whsec_***").is_err());
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.as_text(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }

    #[test]
    fn every_secret_signs_while_one_rotates() {
        let secrets = [
            WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            WebhookSecret::parse("older").unwrap(),
        ];
        let header = standard_signatures(&secrets, "1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
