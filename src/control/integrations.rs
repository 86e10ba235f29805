//! The integrations API of seed 004: the catalog of providers, configuring, disabling,
//! enabling and removing them at run time, and the shop's Web Push subscriptions. Answers
//! are `{"success": true, "data": …}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::delivery::worker::Deliverer;
use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::ApiJson;
use crate::outbound::address::Guard;
use crate::providers::live::Live;
use crate::providers::store::{self, Status};
use crate::providers::{
    self, About, Catalog, FieldError, Integration, ProviderError, ProviderType,
};
use crate::secrets::vault::Vault;
use crate::webpush::subscriptions::{self, SaveError, Subscription};
use crate::webpush::vapid::VapidPublicKey;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/integrations").route(web::get().to(list)))
        .service(web::resource("/api/integrations/providers").route(web::get().to(providers)))
        .service(
            web::resource("/api/integrations/provider/configure")
                .route(web::post().to(configure))
                .route(web::put().to(reconfigure)),
        )
        .service(
            web::resource("/api/integrations/provider/disable/{businessProviderId}")
                .route(web::get().to(disable)),
        )
        .service(
            web::resource("/api/integrations/provider/enable/{businessProviderId}")
                .route(web::get().to(enable)),
        )
        .service(
            web::resource("/api/integrations/providers/ecommerce/remove/{businessProviderId}")
                .route(web::delete().to(remove)),
        )
        .service(
            web::resource("/api/integrations/save-vapid-subscription")
                .route(web::post().to(save_vapid_subscription)),
        )
        .service(
            web::resource("/api/integrations/vapid-public-key")
                .route(web::get().to(vapid_public_key)),
        );
}

/// `{"success": true, "data": …}`
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    pub success: bool,
    pub data: T,
}

/// `{"success": true}`
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"success": true}))]
pub struct Done {
    pub success: bool,
}

pub fn success<T: Serialize>(status: StatusCode, data: T) -> HttpResponse {
    HttpResponse::build(status).json(Success {
        success: true,
        data,
    })
}

/// The providers this shopbridge can connect, with the fields each takes.
#[utoipa::path(
    get,
    path = "/api/integrations/providers",
    tag = "integrations",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Vec<About>>),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn providers(_: Admin, catalog: web::Data<Catalog>) -> HttpResponse {
    let about: Vec<&About> = catalog.all().map(|p| p.about()).collect();
    success(StatusCode::OK, about)
}

/// A configured integration, as listed: never a secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The `businessProviderId` of disable and remove; null for one configured by
    /// environment variables.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub guid: Option<Uuid>,
    #[schema(value_type = String, format = Uuid)]
    pub provider_id: Uuid,
    #[schema(example = "shopify")]
    pub provider: &'static str,
    pub provider_type: ProviderType,
    /// `active` or `disabled`.
    pub status: Status,
    /// `api` (configured here) or `environment` (its environment variables, while it is
    /// not configured here).
    #[schema(example = "api")]
    pub source: &'static str,
    /// Every setting it takes, with its value.
    pub settings: Value,
    /// The credentials that are not secret (a store URL, a username); secret ones only by
    /// name, as configured.
    pub credentials: Value,
    pub connected_at: Option<DateTime<Utc>>,
    /// What its destination says is wrong (Waymore refusing the account, a webhook's URL
    /// gone): its deliveries are held until it is fixed. Null when all is well.
    pub problem: Option<String>,
}

/// What is configured, with status and settings; never a secret.
#[utoipa::path(
    get,
    path = "/api/integrations",
    tag = "integrations",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Vec<Listed>>),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list(
    _: Admin,
    pool: web::Data<PgPool>,
    catalog: web::Data<Catalog>,
) -> Result<HttpResponse, ApiError> {
    let integrations = store::list(&pool).await?;
    let mut listed: Vec<Listed> = integrations
        .iter()
        .filter_map(|i| {
            let about = catalog.by_code(&i.integration.provider)?.about();
            Some(listed(about, &i.integration, i.problem.clone()))
        })
        .collect();
    for provider in catalog.all().filter(|p| p.configured_by_environment()) {
        let about = provider.about();
        if !integrations
            .iter()
            .any(|i| i.integration.provider == about.code)
        {
            listed.push(Listed {
                guid: None,
                provider_id: about.provider_id,
                provider: about.code,
                provider_type: about.provider_type,
                status: Status::Active,
                source: "environment",
                settings: json!({}),
                credentials: json!({}),
                connected_at: None,
                problem: None,
            });
        }
    }
    Ok(success(StatusCode::OK, listed))
}

fn listed(about: &About, integration: &Integration, problem: Option<String>) -> Listed {
    let mut credentials = integration.details.0.clone();
    for field in about
        .credentials
        .iter()
        .filter(|f| f.secret && !f.transient)
    {
        credentials.insert(field.name.to_owned(), Value::String("configured".into()));
    }
    Listed {
        guid: Some(integration.id),
        provider_id: about.provider_id,
        provider: about.code,
        provider_type: about.provider_type,
        status: integration.status.clone(),
        source: "api",
        settings: serde_json::to_value(providers::shown_settings(about, &integration.settings))
            .unwrap_or_default(),
        credentials: Value::Object(credentials),
        connected_at: Some(integration.connected_at),
        problem,
    }
}

/// A provider to configure: its id from the catalog, its credentials and settings. With a
/// `guid`, the configured integration to change: what is left out keeps its value.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "providerId": "5f1c2b7e-8d4a-4c1e-9b36-0a7e51f0c001",
    "providerType": "ecommerce",
    "credentials": {
        "apiKey": "your-api-key",
        "apiSecret": "your-api-secret",
        "storeUrl": "https://yourstore.example.com"
    },
    "settings": {"autoImportOrders": true, "syncProducts": true, "pushTracking": true}
}))]
pub struct ConfigureRequest {
    /// From `GET /api/integrations/providers`.
    pub provider_id: String,
    /// When given, must be the provider's.
    #[schema(value_type = Option<ProviderType>)]
    pub provider_type: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// The integration to change (the `guid` a configure answered).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub guid: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "guid": "9b2e4c1a-7f3d-4e8b-a5c6-1d2e3f4a5b6c",
    "provider": "Shopify",
    "status": "active",
    "connectedAt": "2024-01-16T10:00:00Z"
}))]
pub struct Configured {
    #[schema(value_type = String, format = Uuid)]
    pub guid: Uuid,
    /// The provider's name.
    pub provider: &'static str,
    pub status: Status,
    pub connected_at: DateTime<Utc>,
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::Configuration(format!("Invalid credentials: {error}."))
    }
}

impl From<ProviderError> for ApiError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Refused(field) => field.into(),
            ProviderError::Upstream(message) => ApiError::Upstream(message),
            ProviderError::Conflict(message) => ApiError::Conflict(message),
            ProviderError::Database(e) => e.into(),
            ProviderError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// Configure an integration: checked, stored (secrets sealed) and in effect in every
/// process at once. Once per provider but webhooks: to change one, send its `guid` (or use
/// `PUT`).
#[utoipa::path(
    post,
    path = "/api/integrations/provider/configure",
    tag = "integrations",
    request_body = ConfigureRequest,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Configured", body = Success<Configured>),
        (status = 200, description = "Changed (with a guid)", body = Success<Configured>),
        (status = 400, description = "CONFIGURATION_ERROR naming the field", body = ErrorEnvelope,
            example = json!({"success": false, "error": {"code": "CONFIGURATION_ERROR", "message": "Invalid credentials: credentials.storeUrl: must be an https:// URL."}})),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No integration has the guid", body = ErrorEnvelope),
        (status = 409, description = "Already configured", body = ErrorEnvelope,
            example = json!({"success": false, "error": {"code": "CONFLICT", "message": "Integration already configured"}})),
        (status = 502, description = "The provider could not be reached", body = ErrorEnvelope),
    )
)]
pub async fn configure(
    _: Admin,
    context: Context,
    ApiJson(request): ApiJson<ConfigureRequest>,
) -> Result<HttpResponse, ApiError> {
    context.configure(request).await
}

/// Change a configured integration (its `guid` in the body); what is left out keeps its
/// value.
#[utoipa::path(
    put,
    path = "/api/integrations/provider/configure",
    tag = "integrations",
    request_body = ConfigureRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Configured>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn reconfigure(
    _: Admin,
    context: Context,
    ApiJson(request): ApiJson<ConfigureRequest>,
) -> Result<HttpResponse, ApiError> {
    if request.guid.is_none() {
        return Err(ApiError::Configuration(
            "guid: required to change an integration (POST configures a new one).".into(),
        ));
    }
    context.configure(request).await
}

/// What the integration handlers share.
pub struct Context {
    pool: web::Data<PgPool>,
    vault: web::Data<Vault>,
    catalog: web::Data<Catalog>,
    live: web::Data<Live>,
    deliverer: web::Data<Deliverer>,
}

impl actix_web::FromRequest for Context {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let data = || -> Option<Context> {
            Some(Context {
                pool: req.app_data::<web::Data<PgPool>>()?.clone(),
                vault: req.app_data::<web::Data<Vault>>()?.clone(),
                catalog: req.app_data::<web::Data<Catalog>>()?.clone(),
                live: req.app_data::<web::Data<Live>>()?.clone(),
                deliverer: req.app_data::<web::Data<Deliverer>>()?.clone(),
            })
        };
        std::future::ready(data().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("the integrations API is not set up")).into()
        }))
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound("Integration not found".into())
}

/// A `businessProviderId`: anything but a uuid names no integration.
fn integration_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| not_found())
}

impl Context {
    async fn configure(&self, request: ConfigureRequest) -> Result<HttpResponse, ApiError> {
        let provider_id = Uuid::parse_str(request.provider_id.trim()).map_err(|_| {
            ApiError::Configuration(
                "providerId: must be the uuid of a provider (GET /api/integrations/providers)."
                    .into(),
            )
        })?;
        let provider = self.catalog.by_id(provider_id).ok_or_else(|| {
            ApiError::Configuration(
                "providerId: no provider has this id (GET /api/integrations/providers lists \
                 them)."
                    .into(),
            )
        })?;
        let about = provider.about();
        if let Some(given) = &request.provider_type {
            let expected = serde_json::to_value(about.provider_type).unwrap_or_default();
            if expected.as_str() != Some(given.as_str()) {
                return Err(ApiError::Configuration(format!(
                    "providerType: {} is {expected}, not {given:?}.",
                    about.name
                )));
            }
        }
        let existing = match &request.guid {
            Some(guid) => {
                let id = Uuid::parse_str(guid.trim()).map_err(|_| not_found())?;
                let integration = store::find(&**self.pool, id).await?.ok_or_else(not_found)?;
                if integration.provider != about.code {
                    return Err(ApiError::Configuration(format!(
                        "guid: that integration is not {}.",
                        about.name
                    )));
                }
                Some(integration)
            }
            None if !about.multiple => {
                if let Some(configured) = store::find_provider(&self.pool, about.code).await? {
                    return Err(ApiError::Conflict(format!(
                        "Integration already configured: {} is configured as {}; to change it, \
                         send that guid in the body (or PUT), or remove it first.",
                        about.name, configured.id
                    )));
                }
                None
            }
            None => None,
        };
        let stored = match &existing {
            Some(integration) => Some(
                store::configuration(&self.pool, &self.vault, integration)
                    .await
                    .map_err(ApiError::internal)?,
            ),
            None => None,
        };
        let mut configuration = providers::parse(
            about,
            &request.credentials,
            &request.settings,
            stored.as_ref(),
        )?;
        provider.check(&configuration)?;
        let id = existing.as_ref().map_or_else(Uuid::new_v4, |i| i.id);
        let destination = provider
            .connect(&self.pool, id, &configuration, existing.as_ref())
            .await?;
        for field in about.credentials.iter().filter(|f| f.transient) {
            configuration.secrets.remove(field.name);
        }
        let saved = store::save(
            &self.pool,
            &self.vault,
            id,
            about.code,
            &configuration,
            destination,
        )
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "Integration already configured: {} was configured meanwhile.",
                about.name
            ))
        })?;
        self.changed().await?;
        let status = match existing {
            Some(_) => StatusCode::OK,
            None => StatusCode::CREATED,
        };
        Ok(success(
            status,
            Configured {
                guid: saved.id,
                provider: about.name,
                status: saved.status,
                connected_at: saved.connected_at,
            },
        ))
    }

    async fn set_status(&self, id: &str, status: Status) -> Result<HttpResponse, ApiError> {
        let integration = store::set_status(&self.pool, integration_id(id)?, status)
            .await?
            .ok_or_else(not_found)?;
        self.changed().await?;
        Ok(success(
            StatusCode::OK,
            StatusChanged {
                guid: integration.id,
                status: integration.status,
            },
        ))
    }

    /// This process sees the change at once (the others at its announcement), and the
    /// deliveries a released destination kept go out.
    async fn changed(&self) -> Result<(), ApiError> {
        self.live.reload().await?;
        self.deliverer.wake();
        Ok(())
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"guid": "9b2e4c1a-7f3d-4e8b-a5c6-1d2e3f4a5b6c", "status": "disabled"}))]
pub struct StatusChanged {
    #[schema(value_type = String, format = Uuid)]
    pub guid: Uuid,
    pub status: Status,
}

/// Disable an integration without forgetting it: its webhooks are answered 503 with
/// Retry-After (the partner sends them again later), its destination holds its deliveries.
#[utoipa::path(
    get,
    path = "/api/integrations/provider/disable/{businessProviderId}",
    tag = "integrations",
    params(("businessProviderId" = String, Path, format = Uuid, description = "Integration identifier (its guid)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<StatusChanged>),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope,
            example = json!({"success": false, "error": {"code": "NOT_FOUND", "message": "Integration not found"}})),
    )
)]
pub async fn disable(
    _: Admin,
    context: Context,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    context.set_status(&id, Status::Disabled).await
}

/// Enable a disabled integration: its webhooks are taken again and its destination sends
/// what it held, in order.
#[utoipa::path(
    get,
    path = "/api/integrations/provider/enable/{businessProviderId}",
    tag = "integrations",
    params(("businessProviderId" = String, Path, format = Uuid, description = "Integration identifier (its guid)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<StatusChanged>),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn enable(
    _: Admin,
    context: Context,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    context.set_status(&id, Status::Active).await
}

/// Remove an integration (any provider's): its credentials are erased and its webhooks
/// refused; what it had still to send is dropped (Waymore is sent `Uninstall` first).
#[utoipa::path(
    delete,
    path = "/api/integrations/providers/ecommerce/remove/{businessProviderId}",
    tag = "integrations",
    params(("businessProviderId" = String, Path, format = Uuid, description = "Integration identifier (its guid)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Done),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 502, description = "Waymore did not take the Uninstall: still connected", body = ErrorEnvelope),
    )
)]
pub async fn remove(
    _: Admin,
    context: Context,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let integration = store::find(&**context.pool, integration_id(&id)?)
        .await?
        .ok_or_else(not_found)?;
    if let Some(provider) = context.catalog.by_code(&integration.provider) {
        provider.disconnect(&context.pool, &integration).await?;
    }
    store::delete(&context.pool, integration.id).await?;
    context.changed().await?;
    Ok(HttpResponse::Ok().json(Done { success: true }))
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it, and whose it is.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "endpoint": "https://fcm.googleapis.com/fcm/send/...",
    "keys": {
        "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        "auth": "BTBZMqHH6r4Tts7J_aSIgg"
    },
    "customerId": 42
}))]
pub struct VapidSubscription {
    /// https, not a private address.
    pub endpoint: String,
    pub keys: SubscriptionKeys,
    /// The shop's customer it belongs to (the shop's server adds it from its session).
    pub customer_id: Option<i64>,
    pub customer_email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    /// base64url of the browser's uncompressed P-256 public key (65 bytes).
    pub p256dh: String,
    /// base64url of 16 bytes.
    pub auth: String,
}

/// Save a Web Push subscription; the same endpoint again updates it.
#[utoipa::path(
    post,
    path = "/api/integrations/save-vapid-subscription",
    tag = "integrations",
    request_body = VapidSubscription,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Saved", body = Done),
        (status = 200, description = "The endpoint's subscription updated", body = Done),
        (status = 400, description = "Not https, a private address, a bad key or auth secret", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn save_vapid_subscription(
    _: Admin,
    pool: web::Data<PgPool>,
    vault: web::Data<Vault>,
    guard: web::Data<Guard>,
    ApiJson(request): ApiJson<VapidSubscription>,
) -> Result<HttpResponse, ApiError> {
    let subscription = Subscription::parse(
        &request.endpoint,
        &request.keys.p256dh,
        &request.keys.auth,
        request.customer_id,
        request.customer_email.as_deref(),
        &guard,
    )
    .await
    .map_err(|invalid| ApiError::BadRequest(invalid.0))?;
    let created = subscriptions::save(&pool, &vault, &subscription)
        .await
        .map_err(|e| match e {
            SaveError::UnknownCustomer(_) => ApiError::BadRequest(e.to_string()),
            SaveError::Database(e) => e.into(),
        })?;
    let status = match created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok(HttpResponse::build(status).json(Done { success: true }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VapidKey {
    /// base64url of the uncompressed P-256 point: `applicationServerKey` of
    /// `PushManager.subscribe`.
    pub public_key: String,
}

/// The shop's VAPID public key, for its service worker (no authentication).
#[utoipa::path(
    get,
    path = "/api/integrations/vapid-public-key",
    tag = "integrations",
    responses((status = 200, body = Success<VapidKey>))
)]
pub async fn vapid_public_key(key: web::Data<VapidPublicKey>) -> HttpResponse {
    success(
        StatusCode::OK,
        VapidKey {
            public_key: key.0.clone(),
        },
    )
}
