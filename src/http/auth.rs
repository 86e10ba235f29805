//! How callers present their secrets (HTTP Basic, bearer tokens), and the admin guard.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;

use super::error::ApiError;
use crate::configuration::AdminTokens;
use crate::secrets::BasicCredentials;

/// The credentials of `Authorization: <scheme> <credentials>`; the scheme is matched without
/// regard to case (RFC 9110 §11.1).
fn authorization<'a>(req: &'a HttpRequest, scheme: &str) -> Option<&'a str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.trim().split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| credentials.trim())
}

/// Whether `Authorization: Basic …` holds one of the pairs.
pub fn basic_accepted(credentials: &BasicCredentials, req: &HttpRequest) -> bool {
    let presented = authorization(req, "Basic")
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    presented.is_some_and(|pair| credentials.accepts(&pair))
}

/// Proof that the request carried a valid admin bearer token.
pub struct Admin;

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tokens = req.app_data::<web::Data<AdminTokens>>();
        let presented = authorization(req, "Bearer");
        let outcome = match (tokens, presented) {
            (_, None) => Err(ApiError::Unauthorized(
                "Send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`.".into(),
            )),
            (Some(tokens), Some(token)) if tokens.0.accepts(token) => Ok(Admin),
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
    fn basic_credentials_accept_the_pair_only() {
        let credentials = BasicCredentials::parse("one:s3cret,two:pa:ss").unwrap();
        let request = |value: &str| {
            actix_web::test::TestRequest::default()
                .insert_header((header::AUTHORIZATION, value))
                .to_http_request()
        };
        let basic = |pair: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        };
        let accepted = |value: &str| basic_accepted(&credentials, &request(value));
        assert!(accepted(&basic("one:s3cret")));
        assert!(accepted(&basic("two:pa:ss")));
        assert!(!accepted(&basic("one:S3CRET")));
        assert!(!accepted(&basic("two:s3cret")));
        assert!(!accepted("Basic not-base64!"));
        assert!(!accepted("Bearer one:s3cret"));
        let lowercase_scheme = basic("one:s3cret").replacen("Basic", "basic", 1);
        assert!(accepted(&lowercase_scheme));
    }
}
