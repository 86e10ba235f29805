//! ONe webhook inbox (seed 001): ONe posts "Cart opened", "Client logged" and "OfferOpened"
//! events with HTTP Basic authentication; each is stored whole, read by the rules in
//! [`recognise`], entered into the shop event log, and shown on the sample-event page.
//!
//! - `POST /one/webhooks`: the URL configured in ONe.
//! - `GET /one/events`: the sample-event page (refreshes itself).
//! - `GET /one/events.json`: the same events, keyset-paged.

pub mod inbox;
mod page;
pub mod provider;
pub mod recognise;

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::bundle::{Backbone, Bundle};
use crate::configuration::OneSettings;
use crate::db::notify::Announcer;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{check_limit, nul_escapes_replaced, ApiQuery, RawBody};
use crate::providers::live::Live;
use inbox::{InboxFilter, InboxPage};
use provider::OneProvider;

const REALM: &str = "shopbridge ONe";

/// ONe's part of the application: its provider, the inbox and its sample-event page, and
/// the pruning of events past the retention period.
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let settings = backbone.settings.one.clone();
    let unconfigured = backbone.unconfigured(provider::CODE);
    let (pool, retention) = (backbone.pool.clone(), settings.retention);
    let environment = !settings.credentials.is_empty();
    Ok(Bundle::default()
        .provider(OneProvider { environment })
        .data(web::Data::new(settings))
        .routes(routes)
        .task(move |stop| prune_until_stopped(pool, retention, stop))
        .warn_if(
            !environment && unconfigured,
            "ONE_WEBHOOK_CREDENTIALS is empty and ONe is not configured (/api/integrations): \
             /one endpoints refuse every request",
        ))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/one/webhooks").route(web::post().to(receive)))
        .service(web::resource("/one/events").route(web::get().to(sample_event_page)))
        .service(web::resource("/one/events.json").route(web::get().to(list_events)));
}

/// Proof that the request carried ONe's Basic credentials.
pub struct OneCaller;

impl FromRequest for OneCaller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let accepted = match (
            req.app_data::<web::Data<Live>>(),
            req.app_data::<web::Data<OneSettings>>(),
        ) {
            (Some(live), Some(settings)) => provider::accepted(live, settings, req),
            _ => Some(false),
        };
        ready(match accepted {
            Some(true) => Ok(OneCaller),
            Some(false) => Err(ApiError::BasicAuthRequired {
                realm: REALM,
                message: "Send the ONe integration's credentials (or those of \
                          ONE_WEBHOOK_CREDENTIALS) with HTTP Basic authentication."
                    .into(),
            }
            .into()),
            None => Err(ApiError::Disabled(
                "The ONe integration is disabled; send the event again later (see \
                 Retry-After)."
                    .into(),
            )
            .into()),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    /// The inbox id, as shown on the sample-event page.
    pub id: i64,
    /// `cart_opened`, `client_logged`, `offer_opened`; null when not recognised.
    pub kind: Option<&'static str>,
    pub test: bool,
    /// What could not be found in the payload; the event is stored anyway.
    pub problem: Option<String>,
}

/// Receives one ONe event: any JSON object, stored whole before the answer, exactly as
/// received (a NUL character included).
#[utoipa::path(
    post,
    path = "/one/webhooks",
    tag = "one",
    request_body(content = Object, description = "The event as ONe sends it: any JSON object."),
    security(("one_basic" = [])),
    responses(
        (status = 200, description = "Stored (recognised or flagged)", body = Received),
        (status = 400, description = "Not a JSON object", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong credentials", body = ErrorEnvelope),
        (status = 413, description = "Body too large", body = ErrorEnvelope),
        (status = 503, description = "The ONe integration is disabled: send it again later (Retry-After)", body = ErrorEnvelope),
    )
)]
pub async fn receive(
    _: OneCaller,
    pool: web::Data<PgPool>,
    announcer: web::Data<Announcer>,
    RawBody(body): RawBody,
) -> Result<HttpResponse, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON: not UTF-8 ({e}).")))?;
    let parsed = nul_escapes_replaced(text);
    let payload = match serde_json::from_str::<Value>(&parsed) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return Err(ApiError::BadRequest(
                "Invalid request: the body must be a JSON object.".into(),
            ))
        }
        Err(e) => return Err(ApiError::BadRequest(format!("Invalid JSON: {e}."))),
    };
    let event = recognise::recognise(&payload);
    let stored = inbox::store(&pool, text, &parsed, &event).await?;
    if stored.event_id.is_some() {
        announcer.announce();
    }
    Ok(HttpResponse::Ok().json(Received {
        id: stored.id,
        kind: event.kind.map(recognise::Kind::code),
        test: event.test,
        problem: event.problem,
    }))
}

/// Received events, newest first, with the payload as received.
#[utoipa::path(
    get,
    path = "/one/events.json",
    tag = "one",
    params(InboxFilter),
    security(("one_basic" = [])),
    responses(
        (status = 200, body = InboxPage),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list_events(
    _: OneCaller,
    pool: web::Data<PgPool>,
    settings: web::Data<OneSettings>,
    ApiQuery(filter): ApiQuery<InboxFilter>,
) -> Result<HttpResponse, ApiError> {
    check_limit(filter.limit)?;
    Ok(HttpResponse::Ok().json(inbox::page(&pool, &filter, settings.retention).await?))
}

/// The sample-event page (HTML).
#[utoipa::path(
    get,
    path = "/one/events",
    tag = "one",
    params(InboxFilter),
    security(("one_basic" = [])),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn sample_event_page(
    _: OneCaller,
    pool: web::Data<PgPool>,
    settings: web::Data<OneSettings>,
    ApiQuery(filter): ApiQuery<InboxFilter>,
) -> Result<HttpResponse, ApiError> {
    check_limit(filter.limit)?;
    let events = inbox::page(&pool, &filter, settings.retention).await?;
    page::render(&filter, &events)
}

/// Deletes received events past the retention period, now and then every hour, until
/// `stopped`.
async fn prune_until_stopped(
    pool: PgPool,
    retention: Duration,
    stopped: watch::Receiver<bool>,
) {
    crate::db::prune_hourly("ONe inbox events", stopped, || {
        inbox::prune(&pool, retention)
    })
    .await
}
