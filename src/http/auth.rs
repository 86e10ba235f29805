//! Secrets presented by callers (Rfmcube's api-key, the admin bearer token), and the admin
//! guard.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Accepted secrets (several, so one can be rotated without downtime), held only as SHA-256
/// digests: comparing digests takes the same time whatever the presented value's length
/// or content, and the secrets never show in `Debug` output.
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

/// `ADMIN_TOKEN`: what `Authorization: Bearer …` must carry on admin endpoints.
#[derive(Clone, Debug, Default)]
pub struct AdminTokens(pub SecretSet);

/// Proof that the request carried a valid admin bearer token.
pub struct Admin;

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tokens = req.app_data::<web::Data<AdminTokens>>();
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let outcome = match (tokens, presented) {
            (_, None) => Err(ApiError::Unauthorized(
                "Send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`.".into(),
            )),
            (Some(tokens), Some(token)) if tokens.0.accepts(token.trim()) => Ok(Admin),
            _ => Err(ApiError::Unauthorized(
                "The admin token is not valid.".into(),
            )),
        };
        ready(outcome.map_err(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_empty_set_accepts_nothing() {
        let keys = SecretSet::parse("");
        assert!(keys.is_empty());
        assert!(!keys.accepts(""));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        assert!(!format!("{:?}", SecretSet::parse("s3cret-value")).contains("s3cret"));
    }
}
