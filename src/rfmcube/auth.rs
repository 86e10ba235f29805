//! Rfmcube authenticates with an `api-key` header holding a key the shop owner created.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;

pub const HEADER: &str = "api-key";

/// The accepted keys (several, so a key can be rotated without downtime), held only as
/// SHA-256 digests: comparing digests takes the same time whatever the key's length or
/// content, and the keys themselves never sit in memory dumps or `Debug` output.
#[derive(Clone, Default)]
pub struct ApiKeys(Vec<[u8; 32]>);

impl ApiKeys {
    /// From `RFMCUBE_API_KEYS`: comma-separated, blanks ignored.
    pub fn parse(list: &str) -> Self {
        ApiKeys(
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

    /// Compares against every key, without stopping at the first match.
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

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.0.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Proof that the request carried a valid `api-key`; handlers take it as an argument.
pub struct RfmcubeClient;

impl FromRequest for RfmcubeClient {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let keys = req.app_data::<web::Data<ApiKeys>>();
        let presented = req.headers().get(HEADER).and_then(|v| v.to_str().ok());
        let outcome = match (keys, presented) {
            (_, None) => Err(ApiError::Unauthorized(
                "The api-key header is missing; send the key configured for Rfmcube.".into(),
            )),
            (Some(keys), Some(key)) if keys.accepts(key) => Ok(RfmcubeClient),
            _ => Err(ApiError::Unauthorized("The api-key is not valid.".into())),
        };
        ready(outcome.map_err(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_configured_key_is_accepted_and_nothing_else() {
        let keys = ApiKeys::parse(" old-key , new-key,,");
        assert_eq!(keys.len(), 2);
        assert!(keys.accepts("old-key"));
        assert!(keys.accepts("new-key"));
        assert!(!keys.accepts("new-key "));
        assert!(!keys.accepts(""));
        assert!(!keys.accepts("NEW-KEY"));
    }

    #[test]
    fn no_keys_accept_nothing() {
        let keys = ApiKeys::parse("");
        assert!(keys.is_empty());
        assert!(!keys.accepts(""));
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let keys = ApiKeys::parse("s3cret-value");
        assert!(!format!("{keys:?}").contains("s3cret"));
    }
}
