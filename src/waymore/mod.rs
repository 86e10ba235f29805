//! The Routee-Waymore push module (contract §3): connect once for a UUID, then send the
//! shop's history in the background (mass data, a resumable job: [`export`]). Real-time
//! events are the shop event log's, delivered by the backbone to the `waymore`
//! destination ([`destination`]); [`events`] maps them.

pub mod client;
pub mod connection;
pub mod destination;
pub mod events;
pub mod export;
pub mod mass_data;
pub mod provider;

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::bundle::{Backbone, Bundle};
use crate::delivery::destinations;
use crate::delivery::kind::Kinds;
use crate::delivery::worker::Deliverer;
use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::ApiJson;
use crate::jobs::Runner;
use crate::secrets::vault::Vault;
use client::WaymoreClient;
use destination::WaymoreKind;
use connection::{ConnectError, Credentials, DisconnectError};
use export::{ExportStatus, MassExport, StartError, Started};
use provider::WaymoreProvider;

/// The destination name of Waymore in the event log.
pub const DESTINATION: &str = "waymore";

/// Waymore's code in the integrations API.
pub const PROVIDER: &str = "waymore";

/// What the admin endpoints share: the client and this process's workers.
pub struct Waymore {
    pub client: WaymoreClient,
    /// Seals the account's UUID, and opens it to disconnect.
    pub vault: Vault,
    pub exporter: Arc<Runner<MassExport>>,
}

/// Waymore's part of the application: the `waymore` destination kind, its provider, the
/// export's runner and the admin endpoints.
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let settings = &backbone.settings.waymore;
    let client = WaymoreClient::new(settings.clone());
    let exporter = Runner::new(
        backbone.pool.clone(),
        MassExport::new(backbone.pool.clone(), client.clone()),
        settings.export(),
        backbone.vault.clone(),
    );
    Ok(Bundle::default()
        .kind(Arc::new(WaymoreKind::new(client.clone())))
        .provider(WaymoreProvider {
            client: client.clone(),
            vault: backbone.vault.clone(),
            exporter: exporter.clone(),
        })
        .data(web::Data::new(Waymore {
            client,
            vault: backbone.vault.clone(),
            exporter: exporter.clone(),
        }))
        .routes(routes)
        .job(exporter))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/waymore/connect")
            .route(web::post().to(connect))
            .route(web::delete().to(disconnect)),
    )
    .service(web::resource("/waymore/status").route(web::get().to(status)))
    .service(web::resource("/waymore/export").route(web::post().to(export)))
    .service(web::resource("/waymore/events/retry").route(web::post().to(retry_events)));
}

/// The shop owner's Routee credentials; the password is sent to Waymore once and never kept.
#[derive(Deserialize, ToSchema)]
pub struct ConnectRequest {
    /// Up to 254 characters, no control characters.
    #[schema(
        example = "owner@shop.example.com",
        max_length = 254,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub username: String,
    /// Up to 1024 characters, no control characters.
    #[schema(
        example = "routee-password",
        max_length = 1024,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    pub connected: bool,
    /// Masked: the first and last four characters.
    #[schema(example = "8e10…6314")]
    pub uuid: String,
    /// The mass export of the shop's history, started in the background.
    pub export_id: i64,
    /// Where shop owners without a Routee account sign up.
    #[schema(example = "https://www.routee.net/")]
    pub signup_url: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaymoreStatus {
    pub connected: bool,
    #[schema(example = "8e10…6314")]
    pub uuid: Option<String>,
    pub username: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    #[schema(example = "https://www.routee.net/")]
    pub signup_url: String,
    /// The most recent mass export.
    pub export: Option<ExportStatus>,
    /// Real-time events: deliveries to the `waymore` destination.
    pub events: EventCounts,
}

/// The Waymore destination's deliveries at a glance.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Events that will never be sent: those not delivered before a disconnect.
    pub canceled: i64,
    /// Age of the oldest undelivered event.
    pub oldest_pending_seconds: Option<f64>,
    /// The current error (none once deliveries go through again).
    pub last_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retried {
    /// Failed events queued again.
    pub retried: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Disconnected {
    pub connected: bool,
    #[schema(example = "https://www.routee.net/")]
    pub signup_url: String,
}

fn signup_hint(waymore: &Waymore) -> String {
    format!(
        "No Routee account yet? Sign up at {}",
        waymore.client.settings().signup_url
    )
}

/// Authenticate the shop with Waymore once, store the UUID, start the mass export.
#[utoipa::path(
    post,
    path = "/waymore/connect",
    tag = "waymore",
    request_body = ConnectRequest,
    security(("admin_token" = [])),
    responses(
        (status = 202, description = "Connected; the export runs in the background", body = Connected),
        (status = 400, description = "Bad body, or Waymore refused the credentials (CONFIGURATION_ERROR, with Waymore's message)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "Already connected", body = ErrorEnvelope),
        (status = 502, description = "Waymore unreachable", body = ErrorEnvelope),
    )
)]
pub async fn connect(
    _: Admin,
    pool: web::Data<PgPool>,
    waymore: web::Data<Waymore>,
    ApiJson(request): ApiJson<ConnectRequest>,
) -> Result<HttpResponse, ApiError> {
    let credentials =
        Credentials::parse(&request.username, &request.password).map_err(ApiError::BadRequest)?;
    let hint = signup_hint(&waymore);
    let export = waymore.exporter.definition();
    let (connection, started) = connection::connect(
        &pool,
        &waymore.vault,
        &waymore.client,
        export,
        &credentials,
        uuid::Uuid::new_v4(),
    )
    .await
    .map_err(|e| match e {
        ConnectError::AlreadyConnected => ApiError::Conflict(
            "The shop is already connected to Waymore; disconnect first (DELETE /waymore/connect)."
                .into(),
        ),
        ConnectError::Refused(message) => ApiError::Configuration(format!(
            "Waymore refused the credentials: {message}. {hint}"
        )),
        ConnectError::Upstream(e) => ApiError::Upstream(format!("{e}. {hint}")),
        ConnectError::UnusableUuid => ApiError::Upstream(format!("{e}; nothing was stored.")),
        ConnectError::Destination(e) => ApiError::internal(e),
        ConnectError::Database(e) => e.into(),
    })?;
    waymore.exporter.wake();
    Ok(HttpResponse::Accepted().json(Connected {
        connected: true,
        uuid: connection.uuid_hint,
        export_id: started.export_id,
        signup_url: waymore.client.settings().signup_url.clone(),
    }))
}

/// Connection, masked UUID and the progress of the latest mass export.
#[utoipa::path(
    get,
    path = "/waymore/status",
    tag = "waymore",
    security(("admin_token" = [])),
    responses((status = 200, body = WaymoreStatus), (status = 401, body = ErrorEnvelope))
)]
pub async fn status(
    _: Admin,
    pool: web::Data<PgPool>,
    waymore: web::Data<Waymore>,
    kinds: web::Data<Kinds>,
) -> Result<HttpResponse, ApiError> {
    let connection = connection::current(&pool).await?;
    let export = export::latest(&pool).await?;
    let destination = destinations::status(&pool, &kinds, Some(DESTINATION))
        .await?
        .into_iter()
        .next();
    let events = match destination {
        Some(d) => EventCounts {
            pending: d.pending,
            delivered: d.delivered,
            failed: d.failed,
            canceled: d.canceled,
            oldest_pending_seconds: d.oldest_pending_seconds,
            last_error: d.last_error,
        },
        None => EventCounts::default(),
    };
    Ok(HttpResponse::Ok().json(WaymoreStatus {
        connected: connection.is_some(),
        uuid: connection.as_ref().map(|c| c.uuid_hint.clone()),
        username: connection.as_ref().map(|c| c.username.clone()),
        connected_at: connection.as_ref().map(|c| c.connected_at),
        signup_url: waymore.client.settings().signup_url.clone(),
        export,
        events,
    }))
}

/// Start a new mass export, or resume the failed one from where it stopped.
#[utoipa::path(
    post,
    path = "/waymore/export",
    tag = "waymore",
    security(("admin_token" = [])),
    responses(
        (status = 202, body = Started),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "An export is running, or the shop is not connected", body = ErrorEnvelope),
    )
)]
pub async fn export(
    _: Admin,
    pool: web::Data<PgPool>,
    waymore: web::Data<Waymore>,
) -> Result<HttpResponse, ApiError> {
    let batch_size = waymore.client.settings().batch_size;
    let started = export::start(&pool, waymore.exporter.definition(), batch_size)
        .await
        .map_err(|e| match e {
            StartError::AlreadyRunning(id) => {
                ApiError::Conflict(format!("Export #{id} is already running."))
            }
            StartError::NotConnected => ApiError::Conflict(format!(
                "Waymore is not connected: POST /waymore/connect first. {}",
                signup_hint(&waymore)
            )),
            StartError::Database(e) => ApiError::internal(e),
        })?;
    waymore.exporter.wake();
    Ok(HttpResponse::Accepted().json(started))
}

/// Queue every failed event again (after fixing what Waymore refused, say).
#[utoipa::path(
    post,
    path = "/waymore/events/retry",
    tag = "waymore",
    security(("admin_token" = [])),
    responses((status = 200, body = Retried), (status = 401, body = ErrorEnvelope))
)]
pub async fn retry_events(
    _: Admin,
    pool: web::Data<PgPool>,
    deliverer: web::Data<Deliverer>,
) -> Result<HttpResponse, ApiError> {
    let retried = crate::events::retry_failed(&pool, DESTINATION).await?;
    deliverer.wake();
    Ok(HttpResponse::Ok().json(Retried { retried }))
}

/// Send `Uninstall` to Waymore, then forget the UUID.
#[utoipa::path(
    delete,
    path = "/waymore/connect",
    tag = "waymore",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Disconnected),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "Not connected", body = ErrorEnvelope),
        (status = 502, description = "Waymore unreachable: still connected, try again", body = ErrorEnvelope),
    )
)]
pub async fn disconnect(
    _: Admin,
    pool: web::Data<PgPool>,
    waymore: web::Data<Waymore>,
) -> Result<HttpResponse, ApiError> {
    connection::disconnect(&pool, &waymore.vault, &waymore.client)
        .await
        .map_err(|e| match e {
            DisconnectError::NotConnected => ApiError::NotFound(format!(
                "The shop is not connected to Waymore. {}",
                signup_hint(&waymore)
            )),
            DisconnectError::Upstream(e) => ApiError::Upstream(format!(
            "Waymore did not take the Uninstall event ({e}); the shop stays connected, try again."
        )),
            DisconnectError::Destination(e) => ApiError::internal(e),
            DisconnectError::Database(e) => e.into(),
        })?;
    Ok(HttpResponse::Ok().json(Disconnected {
        connected: false,
        signup_url: waymore.client.settings().signup_url.clone(),
    }))
}
