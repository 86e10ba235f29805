//! The Rfmcube pull webservice (contract §2): Rfmcube crawls customers and orders every
//! night in narrow date windows, page after page, while the shop keeps writing.

pub mod auth;
pub mod cursor;
pub mod customers;
pub mod orders;
mod page;
pub mod provider;
pub mod push;
pub mod request;
pub mod window;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::bundle::{Backbone, Bundle};
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{ApiJson, ApiQuery};
use auth::RfmcubeClient;
use crate::shop::Keys;
use cursor::CursorKeys;
use provider::RfmcubeProvider;
use push::Push;
use request::CrawlRequest;
use window::Entity;

pub use customers::Customer;
pub use orders::{Delivery, Order, OrderItem};

/// Rfmcube's part of the application, configured as one provider: the pull webservice
/// Rfmcube crawls, and the push to its API (the `rfmcube` destination kind, the initial
/// synchronisation and the consistency check, their admin endpoints).
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let settings = &backbone.settings;
    let unconfigured = backbone.unconfigured(provider::CODE);
    let push = Push::new(backbone);
    let (pool, push_settings) = (backbone.pool.clone(), settings.rfmcube_push.clone());
    Ok(Bundle::default()
        .kind(push.kind.clone())
        .provider(RfmcubeProvider {
            push: push.clone(),
            push_url: settings.rfmcube_push.url.clone(),
            environment: !settings.rfmcube.api_keys.is_empty()
                || settings.rfmcube_push.api_key.is_some(),
        })
        .data(web::Data::new(CursorKeys::new(backbone.pool.clone())))
        .data(web::Data::new(Keys::new(backbone.pool.clone())))
        .data(web::Data::new(settings.rfmcube.clone()))
        .data(web::Data::new(push.clone()))
        .routes(|cfg| {
            routes(cfg);
            push::operator::routes(cfg);
        })
        .job(push.importer.clone())
        .job(push.checker.clone())
        .warn_if(
            settings.rfmcube.api_keys.is_empty() && unconfigured,
            "RFMCUBE_API_KEYS is empty and Rfmcube is not configured (/api/integrations): \
             /rfmcube endpoints refuse every request",
        )
        .start(async move {
            Ok(push
                .from_environment(&pool, &push_settings, !unconfigured)
                .await?)
        }))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/rfmcube/customers")
            .route(web::get().to(get_customers))
            .route(web::post().to(post_customers)),
    )
    .service(
        web::resource("/rfmcube/orders")
            .route(web::get().to(get_orders))
            .route(web::post().to(post_orders)),
    );
}

/// One page of customers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomersPage {
    #[schema(value_type = Vec<Customer>)]
    pub customers: Box<RawValue>,
    #[serde(flatten)]
    pub paging: Paging,
}

/// One page of orders.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersPage {
    #[schema(value_type = Vec<Order>)]
    pub orders: Box<RawValue>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    #[schema(example = 1)]
    pub page: u32,
    #[schema(example = 100)]
    pub page_size: u32,
    /// Rows in the whole window.
    #[schema(example = 1234)]
    pub total: i64,
    #[schema(example = 13)]
    pub total_pages: i64,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Response header: the instant the page's rows stop at (see [`crawl_upper`]).
pub const UPPER_HEADER: &str = "X-Crawl-Upper";

async fn page(
    pool: &PgPool,
    shop: &Keys,
    keys: &CursorKeys,
    entity: Entity,
    request: CrawlRequest,
) -> Result<(Box<RawValue>, Paging, String), ApiError> {
    let key = keys.get().await?;
    let request = request.parse(entity, key)?;
    let page = page::fetch(pool, shop, &request).await?;
    let paging = Paging {
        page: page.page,
        page_size: page.page_size,
        total: page.total,
        total_pages: page.total_pages,
        next_cursor: page.next.as_ref().map(|c| key.encode(c)),
    };
    Ok((page.rows, paging, crawl_upper(page.upper)))
}

/// Whether the crawl horizon can see every session's transaction: superusers and members
/// of `pg_read_all_stats` see other roles' `xact_start`; others see NULL there.
pub async fn sees_every_session(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')
         FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
}

/// The window's end, or the crawl horizon when that is earlier: the start of the oldest
/// transaction still in progress, whose rows (stamped with its start) may still appear.
/// Rows from here on come in the next crawl.
fn crawl_upper(upper: DateTime<Utc>) -> String {
    upper.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn customers(
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    request: CrawlRequest,
) -> Result<HttpResponse, ApiError> {
    let (customers, paging, upper) = page(&pool, &shop, &keys, Entity::Customers, request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((UPPER_HEADER, upper))
        .json(CustomersPage { customers, paging }))
}

async fn orders(
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    request: CrawlRequest,
) -> Result<HttpResponse, ApiError> {
    let (orders, paging, upper) = page(&pool, &shop, &keys, Entity::Orders, request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((UPPER_HEADER, upper))
        .json(OrdersPage { orders, paging }))
}

/// Customers whose `dateField` falls in [`from`, `to`), ordered by (`dateField`, id).
#[utoipa::path(
    post,
    path = "/rfmcube/customers",
    tag = "rfmcube",
    request_body(content = CrawlRequest, example = json!({"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z", "dateField": "updatedAt", "pageSize": 100})),
    security(("api_key" = [])),
    responses(
        (status = 200, body = CustomersPage, headers(("X-Crawl-Upper" = String, description = "Where the rows stop: `to`, or the crawl horizon (start of the oldest transaction in progress) when earlier"))),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong api-key", body = ErrorEnvelope),
    )
)]
pub async fn post_customers(
    _: RfmcubeClient,
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    ApiJson(request): ApiJson<CrawlRequest>,
) -> Result<HttpResponse, ApiError> {
    customers(pool, shop, keys, request).await
}

/// The same as `POST /rfmcube/customers`, with the fields as query parameters.
#[utoipa::path(
    get,
    path = "/rfmcube/customers",
    tag = "rfmcube",
    params(CrawlRequest),
    security(("api_key" = [])),
    responses(
        (status = 200, body = CustomersPage, headers(("X-Crawl-Upper" = String, description = "Where the rows stop: `to`, or the crawl horizon (start of the oldest transaction in progress) when earlier"))),
        (status = 400, description = "Invalid parameter (the message names it)", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong api-key", body = ErrorEnvelope),
    )
)]
pub async fn get_customers(
    _: RfmcubeClient,
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    ApiQuery(request): ApiQuery<CrawlRequest>,
) -> Result<HttpResponse, ApiError> {
    customers(pool, shop, keys, request).await
}

/// Orders whose `dateField` falls in [`from`, `to`), with their items, ordered by
/// (`dateField`, id). An order's `updatedAt` moves when its items change.
#[utoipa::path(
    post,
    path = "/rfmcube/orders",
    tag = "rfmcube",
    request_body(content = CrawlRequest, example = json!({"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z", "dateField": "updatedAt", "pageSize": 100})),
    security(("api_key" = [])),
    responses(
        (status = 200, body = OrdersPage, headers(("X-Crawl-Upper" = String, description = "Where the rows stop: `to`, or the crawl horizon (start of the oldest transaction in progress) when earlier"))),
        (status = 400, description = "Invalid field (the message names it)", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong api-key", body = ErrorEnvelope),
    )
)]
pub async fn post_orders(
    _: RfmcubeClient,
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    ApiJson(request): ApiJson<CrawlRequest>,
) -> Result<HttpResponse, ApiError> {
    orders(pool, shop, keys, request).await
}

/// The same as `POST /rfmcube/orders`, with the fields as query parameters.
#[utoipa::path(
    get,
    path = "/rfmcube/orders",
    tag = "rfmcube",
    params(CrawlRequest),
    security(("api_key" = [])),
    responses(
        (status = 200, body = OrdersPage, headers(("X-Crawl-Upper" = String, description = "Where the rows stop: `to`, or the crawl horizon (start of the oldest transaction in progress) when earlier"))),
        (status = 400, description = "Invalid parameter (the message names it)", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong api-key", body = ErrorEnvelope),
    )
)]
pub async fn get_orders(
    _: RfmcubeClient,
    pool: web::Data<PgPool>,
    shop: web::Data<Keys>,
    keys: web::Data<CursorKeys>,
    ApiQuery(request): ApiQuery<CrawlRequest>,
) -> Result<HttpResponse, ApiError> {
    orders(pool, shop, keys, request).await
}
