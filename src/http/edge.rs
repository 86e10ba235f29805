//! Request rules applied before routing, for every endpoint.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use actix_web::ResponseError;
use futures_util::Stream;
use tokio::time::Sleep;

use super::error::ApiError;

/// HEAD is answered as GET (RFC 9110 §9.3.2): the routes know GET only, and the connection
/// still sends no body for a HEAD request.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// The request head this server reads. actix-http itself refuses a head over 128 KiB or
/// with more than 96 header fields, and the URI parser a request target over 64 KiB
/// (65,534 bytes), before any of this code runs and with an empty 400; below those limits,
/// a head over these is refused here, in the envelope.
const MAX_TARGET_BYTES: usize = 8 * 1024;
const MAX_HEADER_FIELDS: usize = 64;
const MAX_HEADER_BYTES: usize = 32 * 1024;

pub async fn bounded_head(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let fields = req.headers().len();
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let refusal = if target > MAX_TARGET_BYTES {
        Some(ApiError::UriTooLong(format!(
            "The request target is {target} bytes; at most {MAX_TARGET_BYTES} are read."
        )))
    } else if fields > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        Some(ApiError::HeadersTooLarge(format!(
            "The request has {fields} header fields of {header_bytes} bytes; at most \
             {MAX_HEADER_FIELDS} fields and {MAX_HEADER_BYTES} bytes are read."
        )))
    } else {
        None
    };
    match refusal {
        Some(error) => Ok(req.into_response(error.error_response())),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// Content codings this server can decode. Anything else would be read as identity, so it
/// is refused with 415 instead.
const DECODABLE: [&str; 4] = ["identity", "gzip", "x-gzip", "deflate"];

pub async fn known_content_encoding(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let unknown = req
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .find(|coding| !DECODABLE.iter().any(|d| d.eq_ignore_ascii_case(coding)))
        .map(str::to_owned);
    match unknown {
        Some(coding) => {
            let error = ApiError::UnsupportedEncoding(format!(
                "Content-Encoding {coding:?} is not supported; send identity, gzip or deflate."
            ));
            Ok(req.into_response(error.error_response()))
        }
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// How long a request's whole body may take to arrive (`BODY_READ_TIMEOUT_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// A client that sends its headers and then trickles, or never sends, its body does not
/// hold a connection and a worker forever: reading the body fails once the time is up, and
/// the extractors answer 408.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(timeout) = req.app_data::<web::Data<BodyReadTimeout>>().map(|t| t.0) {
        let body = req.take_payload();
        let timed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
            body,
            expires: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            expired: false,
        });
        req.set_payload(Payload::from(timed));
    }
    next.call(req).await
}

struct Deadline {
    body: Payload,
    expires: Pin<Box<Sleep>>,
    timeout: Duration,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(chunk) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(chunk);
        }
        if self.expires.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let message = format!("the body did not arrive within {:?}", self.timeout);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                message,
            )))));
        }
        Poll::Pending
    }
}
