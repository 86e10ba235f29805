//! Rfmcube authenticates with an `api-key` header holding a key the shop owner created.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::configuration::RfmcubeSettings;
use crate::http::error::ApiError;
use crate::providers::live::Live;
use crate::secrets::SecretSet;

use super::provider;

pub const HEADER: &str = "api-key";

/// Proof that the request carried a valid `api-key`; handlers take it as an argument.
pub struct RfmcubeClient;

impl FromRequest for RfmcubeClient {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let keys = match (
            req.app_data::<web::Data<Live>>(),
            req.app_data::<web::Data<RfmcubeSettings>>(),
        ) {
            (Some(live), Some(settings)) => provider::api_keys(live, settings),
            _ => Some(SecretSet::default()),
        };
        // A value that is not visible ASCII can match no key: it is invalid, not missing.
        let presented = req
            .headers()
            .get(HEADER)
            .map(|v| v.to_str().unwrap_or_default());
        let outcome = match (keys, presented) {
            (None, _) => Err(ApiError::Disabled(
                "The Rfmcube integration is disabled; crawl again later (see Retry-After).".into(),
            )),
            (_, None) => Err(ApiError::Unauthorized(
                "The api-key header is missing; send the key configured for Rfmcube.".into(),
            )),
            (Some(keys), Some(key)) if keys.accepts(key) => Ok(RfmcubeClient),
            _ => Err(ApiError::Unauthorized("The api-key is not valid.".into())),
        };
        ready(outcome.map_err(Into::into))
    }
}
