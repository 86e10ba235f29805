//! Request extractors that answer bad input with the error envelope and name the field at
//! fault (`pageSize: invalid type: string "x", expected u32`), which the framework's own
//! `Json`/`Query` extractors do not.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body deserialized into `T`. Oversize bodies are refused by the app's payload limit
/// (413) before any parsing.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let body = RawBody::from_request(req, payload);
        Box::pin(async move {
            let RawBody(body) = body.await?;
            if !is_json && !body.trim_ascii().is_empty() {
                return Err(
                    ApiError::BadRequest("Content-Type must be application/json.".into()).into(),
                );
            }
            // Every field optional: an empty body means all defaults.
            let body: &[u8] = if body.trim_ascii().is_empty() {
                b"{}"
            } else {
                &body
            };
            // Bodies are objects; serde would also read a struct from an array.
            if body.trim_ascii_start().first() != Some(&b'{') {
                return Err(ApiError::BadRequest(
                    "Invalid request: the body must be a JSON object.".into(),
                )
                .into());
            }
            let mut deserializer = serde_json::Deserializer::from_slice(body);
            let value = serde_path_to_error::deserialize(&mut deserializer)
                .map_err(|e| ApiError::BadRequest(describe(e.path(), e.inner())))?;
            deserializer
                .end()
                .map_err(|e| ApiError::BadRequest(format!("Invalid request: {e}.")))?;
            Ok(ApiJson(value))
        })
    }
}

/// The request body as received (decompressed), within the app's size limit (413) and the
/// body-read timeout (408).
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            body.await.map(RawBody).map_err(|error| {
                match error.as_error::<PayloadError>() {
                    Some(PayloadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                        ApiError::BodyTimeout(format!(
                            "The request body was not received in time: {e}."
                        ))
                        .into()
                    }
                    // Said in words, not as the decoder's debug output.
                    Some(PayloadError::Incomplete(Some(cause))) => ApiError::BadRequest(format!(
                        "The request body could not be decoded ({cause}); check its \
                         Content-Encoding."
                    ))
                    .into(),
                    Some(PayloadError::Incomplete(None)) => ApiError::BadRequest(
                        "The request body ended before its declared length.".into(),
                    )
                    .into(),
                    _ => error,
                }
            })
        })
    }
}

/// Query-string parameters deserialized into `T`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = url::form_urlencoded::parse(req.query_string().as_bytes());
        if parsed
            .clone()
            .any(|(key, value)| key.contains('\0') || value.contains('\0'))
        {
            return std::future::ready(Err(ApiError::BadRequest(NUL_REFUSED.into()).into()));
        }
        let deserializer = serde_urlencoded::Deserializer::new(parsed);
        std::future::ready(
            serde_path_to_error::deserialize(deserializer)
                .map(ApiQuery)
                .map_err(|e| ApiError::BadRequest(describe(e.path(), e.inner())).into()),
        )
    }
}

/// Lists page by `limit`: 1 to 500 rows.
pub fn check_limit(limit: Option<u32>) -> Result<(), ApiError> {
    match limit {
        Some(limit) if !(1..=500).contains(&limit) => Err(ApiError::BadRequest(
            "limit: must be between 1 and 500.".into(),
        )),
        _ => Ok(()),
    }
}

/// PostgreSQL text and jsonb cannot hold U+0000, so no input may carry one.
pub const NUL_REFUSED: &str =
    "Invalid request: text must not contain the NUL character (\\u0000 or %00).";

/// A JSON text with each NUL escape (`\u0000`) written as U+FFFD (`\ufffd`), for what
/// cannot hold a NUL (PostgreSQL's text and jsonb). A raw NUL byte is not valid JSON and is
/// left for the parser to refuse.
pub fn nul_escapes_replaced(json: &str) -> std::borrow::Cow<'_, str> {
    if !holds_nul(json.as_bytes()) {
        return json.into();
    }
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes[i + 1..].starts_with(b"u0000") => {
                out.push_str(&json[copied..i]);
                out.push_str("\\ufffd");
                i += 6;
                copied = i;
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    out.push_str(&json[copied.min(json.len())..]);
    out.into()
}

/// Whether a JSON text holds a NUL character: a `\u0000` escape (an escaped backslash
/// followed by `u0000` is not one) or a raw NUL byte.
pub fn holds_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' if json[i + 1..].starts_with(b"u0000") => return true,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

fn describe(path: &serde_path_to_error::Path, error: &impl std::fmt::Display) -> String {
    let path = path.to_string();
    if path == "." {
        format!("Invalid request: {error}.")
    } else {
        format!("{path}: {error}.")
    }
}

/// For query fields an HTML form submits empty (`?kind=&customerId=`): blank means absent.
/// `T` reads from the trimmed string (strings and unit enum variants).
pub fn blank_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::de::IntoDeserializer;
    use serde::Deserialize;
    let raw: Option<String> = Option::deserialize(deserializer)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => {
            T::deserialize(IntoDeserializer::<D::Error>::into_deserializer(value)).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{holds_nul, nul_escapes_replaced};

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(holds_nul(br#"{"a": "x\u0000y"}"#));
        assert!(holds_nul(b"{\"a\": \"\0\"}"));
        assert!(!holds_nul(br#"{"a": "x\\u0000y"}"#));
        assert!(holds_nul(br#"{"a": "x\\\u0000y"}"#));
        assert!(!holds_nul(br#"{"a": "\u0001", "b": "\\"}"#));
    }

    #[test]
    fn nul_escapes_become_replacement_characters_and_escaped_backslashes_stay() {
        assert_eq!(
            nul_escapes_replaced(r#"{"odd\u0000key": "x\\u0000y\\\u0000"}"#),
            r#"{"odd\ufffdkey": "x\\u0000y\\\ufffd"}"#
        );
        assert_eq!(nul_escapes_replaced(r#"{"a": "b"}"#), r#"{"a": "b"}"#);
    }
}
