//! The control plane: admin endpoints over the event log and its destinations and the jobs
//! ([`jobs`]) (`Authorization: Bearer <ADMIN_TOKEN>`), and seed 004's integrations and
//! workflows APIs. A partner's own admin endpoints live in its folder. The CLI offers the
//! same (`shopbridge events …`, `shopbridge jobs …`).

pub mod integrations;
pub mod jobs;
pub mod workflows;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::delivery::destinations::{self, DestinationError, DestinationName, DestinationStatus};
use crate::delivery::kind::{DestinationKind, Kinds};
use crate::delivery::worker::Deliverer;
use crate::events::{self, EventDetail, EventFilter, EventPage, ReplayError, ReplayRequest};
use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{check_limit, ApiJson, ApiQuery};
use crate::http::Queued;
use crate::outbound::address::Guard;
use crate::secrets::vault::Vault;
use crate::webhook::{self, NewWebhook, WebhookChange};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/events").route(web::get().to(list_events)))
        .service(web::resource("/admin/events/{id}").route(web::get().to(show_event)))
        .service(
            web::resource("/admin/destinations")
                .route(web::get().to(list_destinations))
                .route(web::post().to(add_destination)),
        )
        .service(
            web::resource("/admin/destinations/{name}")
                .route(web::patch().to(change_destination))
                .route(web::delete().to(remove_destination)),
        )
        .service(web::resource("/admin/destinations/{name}/retry").route(web::post().to(retry)))
        .service(web::resource("/admin/destinations/{name}/replay").route(web::post().to(replay)))
        .service(web::resource("/admin/destinations/{name}/release").route(web::post().to(release)))
        .configure(integrations::routes)
        .configure(jobs::routes)
        .configure(workflows::routes);
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destinations {
    pub destinations: Vec<DestinationStatus>,
}

impl From<DestinationError> for ApiError {
    fn from(error: DestinationError) -> Self {
        match error {
            DestinationError::Invalid(message) => ApiError::BadRequest(message),
            DestinationError::Exists(_) => ApiError::Conflict(format!("{error}.")),
            DestinationError::NotFound(_) => ApiError::NotFound(format!("{error}.")),
            DestinationError::Managed(_) => ApiError::Conflict(format!(
                "{error}: it goes when its integration is disconnected."
            )),
            DestinationError::Vault(e) => ApiError::internal(e),
            DestinationError::Database(e) => e.into(),
        }
    }
}

/// The kind `name`, as startup registered it.
pub fn registered<'k>(kinds: &'k Kinds, name: &str) -> Result<&'k dyn DestinationKind, ApiError> {
    kinds
        .get(name)
        .map(|kind| kind.as_ref())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the {name} kind is not registered")))
}

impl From<webhook::Invalid> for ApiError {
    fn from(invalid: webhook::Invalid) -> Self {
        ApiError::BadRequest(invalid.0)
    }
}

/// Events, newest first, with their deliveries; filters combine.
#[utoipa::path(
    get,
    path = "/admin/events",
    tag = "events",
    params(EventFilter),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list_events(
    _: Admin,
    pool: web::Data<PgPool>,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<HttpResponse, ApiError> {
    check_limit(filter.limit)?;
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from >= to {
            return Err(ApiError::BadRequest("from: must be before to.".into()));
        }
    }
    Ok(HttpResponse::Ok().json(events::list(&pool, &filter).await?))
}

/// One event: payload, deliveries and every attempt.
#[utoipa::path(
    get,
    path = "/admin/events/{id}",
    tag = "events",
    params(("id" = i64, Path, description = "Event id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = EventDetail),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn show_event(
    _: Admin,
    pool: web::Data<PgPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound("No event has that id.".into()))?;
    let event = events::show(&pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No event has id {id}.")))?;
    Ok(HttpResponse::Ok().json(event))
}

/// Every destination: what it takes, counts, oldest pending age, current error.
#[utoipa::path(
    get,
    path = "/admin/destinations",
    tag = "events",
    security(("admin_token" = [])),
    responses((status = 200, body = Destinations), (status = 401, body = ErrorEnvelope))
)]
pub async fn list_destinations(
    _: Admin,
    pool: web::Data<PgPool>,
    kinds: web::Data<Kinds>,
) -> Result<HttpResponse, ApiError> {
    let destinations = destinations::status(&pool, &kinds, None).await?;
    Ok(HttpResponse::Ok().json(Destinations { destinations }))
}

/// Add a webhook destination: it receives the events it takes from now on.
#[utoipa::path(
    post,
    path = "/admin/destinations",
    tag = "events",
    request_body = NewWebhook,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = Destinations),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "The name is taken", body = ErrorEnvelope),
    )
)]
pub async fn add_destination(
    _: Admin,
    pool: web::Data<PgPool>,
    kinds: web::Data<Kinds>,
    vault: web::Data<Vault>,
    guard: web::Data<Guard>,
    ApiJson(new): ApiJson<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let name = DestinationName::parse(&new.name)?;
    let url = webhook::check_url(&new.url, &guard).await?;
    let secrets = webhook::check_secrets(&Vec::from_iter(new.secret.filter(|s| !s.is_empty())))?;
    let config = webhook::Config {
        url: url.to_string(),
        secrets,
        secret: None,
    };
    let config = serde_json::to_value(config).map_err(ApiError::internal)?;
    destinations::add(
        &pool,
        &vault,
        &name,
        registered(&kinds, webhook::KIND)?,
        &new.events,
        config,
    )
    .await?;
    let destinations = destinations::status(&pool, &kinds, Some(name.as_str())).await?;
    Ok(HttpResponse::Created().json(Destinations { destinations }))
}

/// Change a webhook destination's URL, events or secrets; what is left out stays. A hold
/// is released: the next deliveries go out with the new configuration, in order.
#[utoipa::path(
    patch,
    path = "/admin/destinations/{name}",
    tag = "events",
    params(("name" = String, Path)),
    request_body = WebhookChange,
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Destinations),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No webhook destination has that name", body = ErrorEnvelope),
    )
)]
pub async fn change_destination(
    _: Admin,
    pool: web::Data<PgPool>,
    kinds: web::Data<Kinds>,
    vault: web::Data<Vault>,
    guard: web::Data<Guard>,
    name: web::Path<String>,
    ApiJson(change): ApiJson<WebhookChange>,
) -> Result<HttpResponse, ApiError> {
    let url = match &change.url {
        Some(url) => Some(webhook::check_url(url, &guard).await?.to_string()),
        None => None,
    };
    let secrets = change
        .secrets
        .as_deref()
        .map(webhook::check_secrets)
        .transpose()?;
    destinations::reconfigure(
        &pool,
        &vault,
        &name,
        registered(&kinds, webhook::KIND)?,
        change.events.as_deref(),
        |stored| {
            let mut config: webhook::Config = serde_json::from_value(stored)
                .map_err(|e| DestinationError::Invalid(format!("the stored config: {e}")))?;
            if let Some(url) = url {
                config.url = url;
            }
            if let Some(secrets) = secrets {
                config.secrets = secrets;
                config.secret = None;
            }
            config.secrets.extend(config.secret.take());
            serde_json::to_value(config).map_err(|e| DestinationError::Invalid(e.to_string()))
        },
    )
    .await?;
    let destinations = destinations::status(&pool, &kinds, Some(&name)).await?;
    Ok(HttpResponse::Ok().json(Destinations { destinations }))
}

/// Release a held destination (held because its answers said its configuration is wrong,
/// once that is fixed on its side): every delivery kept for it goes out, in order.
#[utoipa::path(
    post,
    path = "/admin/destinations/{name}/release",
    tag = "events",
    params(("name" = String, Path)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Destinations),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn release(
    _: Admin,
    pool: web::Data<PgPool>,
    kinds: web::Data<Kinds>,
    deliverer: web::Data<Deliverer>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !destinations::release(&pool, &name).await? {
        return Err(DestinationError::NotFound(name.into_inner()).into());
    }
    deliverer.wake();
    let destinations = destinations::status(&pool, &kinds, Some(&name)).await?;
    Ok(HttpResponse::Ok().json(Destinations { destinations }))
}

/// Remove a webhook destination and its deliveries: nothing more is sent to it.
#[utoipa::path(
    delete,
    path = "/admin/destinations/{name}",
    tag = "events",
    params(("name" = String, Path)),
    security(("admin_token" = [])),
    responses(
        (status = 204),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Its integration manages it (Waymore)", body = ErrorEnvelope),
    )
)]
pub async fn remove_destination(
    _: Admin,
    pool: web::Data<PgPool>,
    kinds: web::Data<Kinds>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    destinations::remove(&pool, &kinds, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Queue a destination's failed deliveries again.
#[utoipa::path(
    post,
    path = "/admin/destinations/{name}/retry",
    tag = "events",
    params(("name" = String, Path)),
    security(("admin_token" = [])),
    responses((status = 200, body = Queued), (status = 401, body = ErrorEnvelope))
)]
pub async fn retry(
    _: Admin,
    pool: web::Data<PgPool>,
    deliverer: web::Data<Deliverer>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let queued = events::retry_failed(&pool, &name).await?;
    deliverer.wake();
    Ok(HttpResponse::Ok().json(Queued { queued }))
}

/// Send a range of events to a destination again: new deliveries, same event ids.
#[utoipa::path(
    post,
    path = "/admin/destinations/{name}/replay",
    tag = "events",
    params(("name" = String, Path)),
    request_body = ReplayRequest,
    security(("admin_token" = [])),
    responses(
        (status = 202, body = Queued),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn replay(
    _: Admin,
    pool: web::Data<PgPool>,
    deliverer: web::Data<Deliverer>,
    name: web::Path<String>,
    ApiJson(request): ApiJson<ReplayRequest>,
) -> Result<HttpResponse, ApiError> {
    if request.from_event_id > request.to_event_id {
        return Err(ApiError::BadRequest(
            "fromEventId: must not be after toEventId.".into(),
        ));
    }
    let queued = events::replay(&pool, &name, &request)
        .await
        .map_err(|e| match e {
            ReplayError::NoDestination(_) => ApiError::NotFound(format!("{e}.")),
            ReplayError::TooMany => ApiError::BadRequest(format!("{e}.")),
            ReplayError::Database(e) => ApiError::internal(e),
        })?;
    deliverer.wake();
    Ok(HttpResponse::Accepted().json(Queued { queued }))
}
