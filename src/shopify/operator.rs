//! Operators' view of the Shopify intake: counts and the last error, the stored webhooks,
//! and reprocessing (`shopbridge shopify …` offers the same).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{check_limit, ApiJson, ApiQuery};
use crate::http::Queued;
use crate::jobs::{JobStarted, StartError};
use crate::providers::live::{Live, Standing};
use crate::shopify::admin::connect::Import;
use crate::shopify::admin::{self, Connection};
use crate::shopify::inbox::{self, IntakeStatus, WebhookDetail, WebhookFilter, WebhookPage};
use crate::shopify::provider;
use crate::shopify::worker::Applier;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/shopify").route(web::get().to(status)))
        .service(web::resource("/admin/shopify/webhooks").route(web::get().to(list_webhooks)))
        .service(web::resource("/admin/shopify/import/{what}").route(web::post().to(import)))
        .service(
            web::resource("/admin/shopify/webhooks/reprocess").route(web::post().to(reprocess)),
        )
        .service(web::resource("/admin/shopify/webhooks/{id}").route(web::get().to(show_webhook)));
}

/// The intake and the store's side together.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyStatus {
    #[serde(flatten)]
    pub intake: IntakeStatus,
    /// The store, when connected through the Admin API, with its imports.
    pub store: Connection,
    /// Topics whose webhooks are stored but not applied, and the switch that is off.
    pub not_applied: Vec<String>,
}

/// Webhooks received, applied, pending, failed, ignored, and the last error; the store
/// connected through the Admin API, its subscriptions and imports; what the switches leave
/// unapplied.
#[utoipa::path(
    get,
    path = "/admin/shopify",
    tag = "shopify",
    security(("admin_token" = [])),
    responses((status = 200, body = ShopifyStatus), (status = 401, body = ErrorEnvelope))
)]
pub async fn status(
    _: Admin,
    pool: web::Data<PgPool>,
    live: web::Data<Live>,
) -> Result<HttpResponse, ApiError> {
    let mut not_applied = Vec::new();
    if let Standing::Active(configured) = live.lookup(provider::CODE) {
        let on = |name: &str| configured.settings.get(name).and_then(|v| v.as_bool()) == Some(true);
        if !on(provider::IMPORT_ORDERS) {
            not_applied.push("orders/*: autoImportOrders is off".to_owned());
            if !on(provider::PUSH_TRACKING) {
                not_applied
                    .push("fulfillments/*: autoImportOrders and pushTracking are off".to_owned());
            }
        }
        if !on(provider::SYNC_PRODUCTS) {
            not_applied.push("products/*: syncProducts is off".to_owned());
        }
    }
    Ok(HttpResponse::Ok().json(ShopifyStatus {
        intake: inbox::status(&pool).await?,
        store: admin::connection(&pool).await?,
        not_applied,
    }))
}

/// Import the order history (`orders`) or the catalog (`products`) again from the connected
/// store, or resume the failed import; `GET /admin/shopify` and `/admin/jobs` follow it.
#[utoipa::path(
    post,
    path = "/admin/shopify/import/{what}",
    tag = "shopify",
    params(("what" = String, Path, description = "`orders` or `products`")),
    security(("admin_token" = [])),
    responses(
        (status = 202, body = JobStarted),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "Neither orders nor products", body = ErrorEnvelope),
        (status = 409, description = "No store is connected, or the import runs", body = ErrorEnvelope),
    )
)]
pub async fn import(
    _: Admin,
    what: web::Path<String>,
    store: web::Data<admin::Admin>,
) -> Result<HttpResponse, ApiError> {
    let what = Import::parse(&what).ok_or_else(|| {
        ApiError::NotFound("Imports are /admin/shopify/import/orders and …/products.".into())
    })?;
    match store.start_import(what).await {
        Ok(started) => Ok(HttpResponse::Accepted().json(JobStarted::from(started))),
        Err(StartError::Database(e)) => Err(ApiError::internal(e)),
        Err(StartError::NoDestination(_)) => Err(ApiError::Conflict(
            "No Shopify store is connected: configure the Shopify integration with its \
             apiKey (the Admin API access token) first."
                .into(),
        )),
        Err(e) => Err(ApiError::Conflict(format!("{e}."))),
    }
}

/// Stored webhooks, newest first, with what applying did; filters combine.
#[utoipa::path(
    get,
    path = "/admin/shopify/webhooks",
    tag = "shopify",
    params(WebhookFilter),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = WebhookPage),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list_webhooks(
    _: Admin,
    pool: web::Data<PgPool>,
    ApiQuery(filter): ApiQuery<WebhookFilter>,
) -> Result<HttpResponse, ApiError> {
    check_limit(filter.limit)?;
    Ok(HttpResponse::Ok().json(inbox::list(&pool, &filter).await?))
}

/// One stored webhook with its body as received.
#[utoipa::path(
    get,
    path = "/admin/shopify/webhooks/{id}",
    tag = "shopify",
    params(("id" = i64, Path, description = "Inbox id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = WebhookDetail),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn show_webhook(
    _: Admin,
    pool: web::Data<PgPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("No stored webhook has id {id}."));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let webhook = inbox::show(&pool, id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(webhook))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReprocessRequest {
    /// Inbox ids to apply again, whatever their state; omitted: every failed webhook.
    #[schema(max_items = 1000)]
    pub ids: Option<Vec<i64>>,
}

/// Apply webhooks again: the failed ones, or those named (an older version still never
/// overwrites a newer one).
#[utoipa::path(
    post,
    path = "/admin/shopify/webhooks/reprocess",
    tag = "shopify",
    request_body = ReprocessRequest,
    security(("admin_token" = [])),
    responses(
        (status = 202, body = Queued),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn reprocess(
    _: Admin,
    pool: web::Data<PgPool>,
    applier: web::Data<Applier>,
    ApiJson(request): ApiJson<ReprocessRequest>,
) -> Result<HttpResponse, ApiError> {
    if request.ids.as_ref().is_some_and(|ids| ids.len() > 1000) {
        return Err(ApiError::BadRequest("ids: at most 1000 at a time.".into()));
    }
    let queued = inbox::reprocess(&pool, request.ids.as_deref()).await?;
    applier.wake();
    Ok(HttpResponse::Accepted().json(Queued { queued }))
}
