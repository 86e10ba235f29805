//! The one error envelope of the contract (§1), for handler errors and for the errors the
//! framework produces on its own (unknown route, wrong method, oversize body, bad query).

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    ConfigurationError,
    UpstreamError,
    Internal,
}

/// `{"success": false, "error": {"code", "message"}}`
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"success": false, "error": {"code": "BAD_REQUEST", "message": "pageSize: must be between 1 and 1000"}}))]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A human sentence naming the field or the cause.
    pub message: String,
}

/// Seconds a client refused for overload is asked to wait.
pub const RETRY_AFTER_SECS: u64 = 1;
/// Seconds a partner of a disabled integration is asked to wait.
pub const DISABLED_RETRY_AFTER_SECS: u64 = 60;

/// Every error a handler can answer with. Messages are shown to clients, so they never hold
/// SQL, secrets or internals; `Internal` keeps its cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// 401 asking for HTTP Basic credentials (`WWW-Authenticate`), so a browser prompts.
    #[error("{message}")]
    BasicAuthRequired {
        realm: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// 408: the body did not arrive within the body-read timeout.
    #[error("{0}")]
    BodyTimeout(String),
    /// 415: a body in a Content-Encoding this server cannot decode.
    #[error("{0}")]
    UnsupportedEncoding(String),
    /// 414: a request target longer than the server reads.
    #[error("{0}")]
    UriTooLong(String),
    /// 431: more header fields, or more header bytes, than the server reads.
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Configuration(String),
    #[error("{0}")]
    Upstream(String),
    #[error("{message}")]
    Unavailable { message: String },
    /// 503 with a longer `Retry-After`: the integration is disabled, so its partner keeps
    /// what it sends and tries again later.
    #[error("{0}")]
    Disabled(String),
    /// 503 with `Retry-After`: more requests than the server takes on at once.
    #[error("The server is busy; retry in a moment (see Retry-After).")]
    Overloaded,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }

    fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::UnsupportedEncoding(_)
            | ApiError::UriTooLong(_)
            | ApiError::HeadersTooLarge(_)
            | ApiError::BodyTimeout(_) => ErrorCode::BadRequest,
            ApiError::Unauthorized(_) | ApiError::BasicAuthRequired { .. } => {
                ErrorCode::Unauthorized
            }
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::Configuration(_) | ApiError::Disabled(_) => ErrorCode::ConfigurationError,
            ApiError::Upstream(_) => ErrorCode::UpstreamError,
            ApiError::Unavailable { .. } | ApiError::Overloaded | ApiError::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// A pool that stayed exhausted for its whole timeout is overload, and a database that
    /// went away (a lost connection, a shutdown) is unavailability: neither is a fault.
    fn from(error: sqlx::Error) -> Self {
        let gone = match &error {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
            _ => false,
        };
        match error {
            sqlx::Error::PoolTimedOut => ApiError::Overloaded,
            _ if gone => {
                log::warn!("the database went away during a request: {error}");
                ApiError::Unavailable {
                    message: "The database does not answer; retry in a moment (see Retry-After)."
                        .into(),
                }
            }
            error => ApiError::Internal(error.into()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized(_) | ApiError::BasicAuthRequired { .. } => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Configuration(_) => StatusCode::BAD_REQUEST,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } | ApiError::Overloaded | ApiError::Disabled(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(cause) => {
                log::error!("internal error: {cause:#}");
                "An internal error occurred; the details are in the server log.".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = envelope(self.status_code(), self.code(), message);
        let retry_after = match self {
            ApiError::Overloaded | ApiError::Unavailable { .. } => Some(RETRY_AFTER_SECS),
            ApiError::Disabled(_) => Some(DISABLED_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let ApiError::BasicAuthRequired { realm, .. } = self {
            let challenge = format!(r#"Basic realm="{realm}", charset="UTF-8""#);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

pub fn envelope(status: StatusCode, code: ErrorCode, message: String) -> HttpResponse {
    HttpResponse::build(status).json(ErrorEnvelope {
        success: false,
        error: ErrorBody { code, message },
    })
}

/// Middleware hook: any error response that is not already our JSON envelope (the framework's
/// plain-text 404/405/413/400 answers, or a bare status from a library) is rewritten into it.
pub fn envelope_framework_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let request = res.request();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            format!("No endpoint at {}; see /docs for the API.", request.path()),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!(
                "Method {} is not allowed on {}.",
                request.method(),
                request.path()
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "The request body is larger than this server accepts.".to_owned(),
        ),
        StatusCode::UNAUTHORIZED => (
            ErrorCode::Unauthorized,
            "Authentication required.".to_owned(),
        ),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "Access denied.".to_owned()),
        s if s.is_client_error() => (
            ErrorCode::BadRequest,
            res.response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("The request was refused ({s}).")),
        ),
        _ => {
            if let Some(error) = res.response().error() {
                log::error!("internal error: {error}");
            }
            (
                ErrorCode::Internal,
                "An internal error occurred; the details are in the server log.".to_owned(),
            )
        }
    };
    let (req, original) = res.into_parts();
    let mut replaced = envelope(status, code, message);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    replaced.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let res: ServiceResponse<BoxBody> = ServiceResponse::new(req, replaced);
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}
