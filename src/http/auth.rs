//! Secrets presented by callers (Rfmcube's api-key, the admin bearer token, HTTP Basic
//! credentials), and the admin guard.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
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

/// The credentials of `Authorization: <scheme> <credentials>`; the scheme is matched without
/// regard to case (RFC 9110 §11.1).
fn authorization<'a>(req: &'a HttpRequest, scheme: &str) -> Option<&'a str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.trim().split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| credentials.trim())
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

    /// Whether `Authorization: Basic …` holds one of the pairs.
    pub fn accept(&self, req: &HttpRequest) -> bool {
        let presented = authorization(req, "Basic")
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok());
        presented.is_some_and(|pair| self.0.accepts(&pair))
    }
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
        assert!(credentials.accept(&request(&basic("one:s3cret"))));
        assert!(credentials.accept(&request(&basic("two:pa:ss"))));
        assert!(!credentials.accept(&request(&basic("one:S3CRET"))));
        assert!(!credentials.accept(&request(&basic("two:s3cret"))));
        assert!(!credentials.accept(&request("Basic not-base64!")));
        assert!(!credentials.accept(&request("Bearer one:s3cret")));
        let lowercase_scheme = basic("one:s3cret").replacen("Basic", "basic", 1);
        assert!(credentials.accept(&request(&lowercase_scheme)));
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
