//! Request rules applied before routing, for every endpoint.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::ResponseError;

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
