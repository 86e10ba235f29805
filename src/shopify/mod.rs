//! Shopify webhook intake (seed 003): Shopify POSTs orders, fulfillments and products to two
//! URLs; each webhook is verified (HMAC of the exact body), stored in the inbox and answered
//! at once, then applied to the shop tables in the background, where the shop's triggers
//! make events of it like of any other write.
//!
//! - `POST /shopify/webhooks/orders`: `orders/*` and `fulfillments/*`.
//! - `POST /shopify/webhooks/products`: `products/*`.
//! - [`wire`]: the payloads as Shopify sends them; [`orders`], [`fulfillments`],
//!   [`products`]: how each becomes rows; [`worker`]: the applier; [`inbox`]: the table.

pub mod admin;
pub mod apply;
pub mod fulfillments;
pub mod inbox;
pub mod mapping;
pub mod operator;
pub mod orders;
pub mod products;
pub mod provider;
pub mod topic;
pub mod wire;
pub mod worker;

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::DateTime;
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::bundle::{Backbone, Bundle};
use crate::configuration::ShopifySettings;
use crate::db::notify::Announcer;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::RawBody;
use crate::providers::live::Live;
use crate::secrets::SigningSecrets;
use crate::shop::Mapping;
use admin::Admin;
use provider::ShopifyProvider;
use topic::{Endpoint, Topic};
use worker::Applier;

/// Shopify's part of the application: its provider, the webhook intake and its applier,
/// the Admin API side (the tracking kind, the imports), the admin endpoints, and the
/// pruning of applied webhooks.
pub fn bundle(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let settings = &backbone.settings.shopify;
    let pool = backbone.pool.clone();
    let environment = !settings.secrets.is_empty();
    let unconfigured = backbone.unconfigured(provider::CODE);
    let mapped = match &backbone.settings.mapping {
        Mapping::Reference => None,
        other => Some(other.name()),
    };
    let announcer = Announcer::new(inbox::CHANNEL);
    let applier = Applier::new(
        pool.clone(),
        settings.clone(),
        Some(backbone.events.clone()),
        Some(backbone.live.clone()),
    );
    let admin = Admin::new(backbone);
    let retention = settings.retention;
    Ok(Bundle::default()
        .kind(admin.tracking.clone())
        .provider(ShopifyProvider {
            admin: admin.clone(),
            environment,
            mapped: mapped.clone(),
        })
        .data(web::Data::new(settings.clone()))
        .data(web::Data::new(ShopifyAnnouncer(announcer.clone())))
        .data(web::Data::from(applier.clone()))
        .data(web::Data::new(admin.clone()))
        .routes(|cfg| {
            routes(cfg);
            operator::routes(cfg);
        })
        .task({
            let pool = pool.clone();
            move |stop| announcer.run(pool, stop)
        })
        .task(move |stop| applier.run(stop))
        .job(admin.orders)
        .job(admin.products)
        .task(move |stop| prune_until_stopped(pool, retention, stop))
        .warn_if(
            environment && mapped.is_some(),
            "SHOPIFY_WEBHOOK_SECRETS is set, but the shop is read through a mapping: Shopify's \
             intake writes shopbridge's reference tables, which a mapped shop does not have",
        )
        .warn_if(
            !environment && unconfigured,
            "SHOPIFY_WEBHOOK_SECRETS is empty and Shopify is not configured \
             (/api/integrations): /shopify endpoints refuse every webhook",
        ))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(Endpoint::Orders.path()).route(web::post().to(receive_orders)))
        .service(web::resource(Endpoint::Products.path()).route(web::post().to(receive_products)));
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The inbox id; null for a webhook id already received (not stored again).
    pub id: Option<i64>,
    pub duplicate: bool,
}

/// The headers Shopify sends with every webhook, after the signature and the topic (which
/// each URL documents with its own example).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only describes the headers; the handler reads them itself.
struct WebhookHeaders {
    /// Unique per webhook; Shopify's retries repeat it
    #[param(rename = "X-Shopify-Webhook-Id")]
    webhook_id: String,
    #[param(rename = "X-Shopify-Shop-Domain", example = "example.myshopify.com")]
    shop_domain: Option<String>,
    /// RFC 3339
    #[param(rename = "X-Shopify-Triggered-At")]
    triggered_at: Option<String>,
    #[param(rename = "X-Shopify-API-Version")]
    api_version: Option<String>,
}

/// How both webhook URLs answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only describes the answers, which ApiError and the handler build.
enum WebhookAnswers {
    /// Stored; applied in the background
    #[response(status = 200)]
    Stored(Accepted),
    /// Unknown topic for this URL, missing header, malformed payload
    #[response(status = 400)]
    BadRequest(ErrorEnvelope),
    /// Missing or invalid X-Shopify-Hmac-Sha256
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// Body too large
    #[response(status = 413)]
    TooLarge(ErrorEnvelope),
    /// The Shopify integration is disabled: send it again later (Retry-After)
    #[response(status = 503)]
    Disabled(ErrorEnvelope),
}

/// Orders and fulfillments: the URL to register for `orders/create`, `orders/updated`,
/// `orders/paid`, `orders/cancelled`, `orders/fulfilled`, `orders/partially_fulfilled`,
/// `fulfillments/create` and `fulfillments/update`.
#[utoipa::path(
    post,
    path = "/shopify/webhooks/orders",
    tag = "shopify",
    request_body(content = Object, description = "The order or fulfillment, as Shopify sends it."),
    params(
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "base64 HMAC-SHA256 of the body with the webhook secret"),
        ("X-Shopify-Topic" = String, Header, example = "orders/create"),
        WebhookHeaders,
    ),
    responses(WebhookAnswers)
)]
pub async fn receive_orders(
    req: HttpRequest,
    body: RawBody,
    pool: web::Data<PgPool>,
    settings: web::Data<ShopifySettings>,
    live: web::Data<Live>,
    announcer: web::Data<ShopifyAnnouncer>,
) -> Result<HttpResponse, ApiError> {
    let secrets = provider::signing_secrets(&live, &settings)?;
    receive(Endpoint::Orders, &req, body, &pool, &secrets, &announcer.0).await
}

/// Products: the URL to register for `products/create`, `products/update` and
/// `products/delete`.
#[utoipa::path(
    post,
    path = "/shopify/webhooks/products",
    tag = "shopify",
    request_body(content = Object, description = "The product, as Shopify sends it."),
    params(
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "base64 HMAC-SHA256 of the body with the webhook secret"),
        ("X-Shopify-Topic" = String, Header, example = "products/update"),
        WebhookHeaders,
    ),
    responses(WebhookAnswers)
)]
pub async fn receive_products(
    req: HttpRequest,
    body: RawBody,
    pool: web::Data<PgPool>,
    settings: web::Data<ShopifySettings>,
    live: web::Data<Live>,
    announcer: web::Data<ShopifyAnnouncer>,
) -> Result<HttpResponse, ApiError> {
    let secrets = provider::signing_secrets(&live, &settings)?;
    receive(
        Endpoint::Products,
        &req,
        body,
        &pool,
        &secrets,
        &announcer.0,
    )
    .await
}

/// The announcer of the inbox's channel, told apart from the event log's.
#[derive(Clone)]
pub struct ShopifyAnnouncer(pub Announcer);

/// Verify, then read the headers, then parse, then store: nothing is stored unless all pass.
async fn receive(
    endpoint: Endpoint,
    req: &HttpRequest,
    RawBody(body): RawBody,
    pool: &PgPool,
    secrets: &SigningSecrets,
    announcer: &Announcer,
) -> Result<HttpResponse, ApiError> {
    verify(req, &body, secrets)?;
    let topic_name = required_header(req, "X-Shopify-Topic")?;
    let topic = Topic::at(endpoint, topic_name).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "X-Shopify-Topic: {topic_name:?} is not received at {}; it takes {}.",
            endpoint.path(),
            endpoint.topics().join(", ")
        ))
    })?;
    let webhook_id = required_header(req, "X-Shopify-Webhook-Id")?;
    let triggered_at = optional_header(req, "X-Shopify-Triggered-At")?
        .map(|value| {
            DateTime::parse_from_rfc3339(value)
                .map(|t| t.to_utc())
                .map_err(|e| {
                    ApiError::BadRequest(format!(
                        "X-Shopify-Triggered-At: must be an RFC 3339 date-time ({e})."
                    ))
                })
        })
        .transpose()?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON: not UTF-8 ({e}).")))?;
    topic
        .check(text)
        .map_err(|e| ApiError::BadRequest(format!("Invalid {} payload: {e}.", topic.name())))?;
    let received = inbox::Received {
        webhook_id,
        topic,
        shop_domain: optional_header(req, "X-Shopify-Shop-Domain")?,
        triggered_at,
        api_version: optional_header(req, "X-Shopify-API-Version")?,
        body: text,
    };
    let id = inbox::store(pool, &received).await?;
    if id.is_some() {
        announcer.announce();
    }
    Ok(HttpResponse::Ok().json(Accepted {
        id,
        duplicate: id.is_none(),
    }))
}

/// `X-Shopify-Hmac-Sha256` must be the base64 HMAC-SHA256 of the body as received under one
/// of the configured secrets.
fn verify(req: &HttpRequest, body: &[u8], secrets: &SigningSecrets) -> Result<(), ApiError> {
    let refused = |why: &str| {
        ApiError::Unauthorized(format!(
            "{why}: X-Shopify-Hmac-Sha256 must be the base64 HMAC-SHA256 of the body with the \
             webhook secret (the Shopify integration's apiSecret, else SHOPIFY_WEBHOOK_SECRETS)."
        ))
    };
    if secrets.is_empty() {
        return Err(refused("No webhook secret is configured"));
    }
    let header = req
        .headers()
        .get("X-Shopify-Hmac-Sha256")
        .ok_or_else(|| refused("Missing signature"))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(header.as_bytes().trim_ascii())
        .map_err(|_| refused("Invalid signature"))?;
    if secrets.verify(&signature, body) {
        Ok(())
    } else {
        Err(refused("Invalid signature"))
    }
}

/// Longer header values than this are refused: no Shopify header comes close.
const MAX_HEADER_CHARS: usize = 255;

fn optional_header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = req.headers().get(name) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| v.len() <= MAX_HEADER_CHARS && !v.chars().any(char::is_control))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name}: must be printable text of at most {MAX_HEADER_CHARS} characters."
            ))
        })?;
    Ok((!value.is_empty()).then_some(value))
}

fn required_header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str, ApiError> {
    optional_header(req, name)?
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: this header is required.")))
}

/// Deletes applied webhooks past the retention period, now and then every hour, until
/// `stopped`.
async fn prune_until_stopped(
    pool: PgPool,
    retention: Duration,
    stopped: watch::Receiver<bool>,
) {
    crate::db::prune_hourly("Shopify applied webhooks", stopped, || {
        inbox::prune(&pool, retention)
    })
    .await
}
