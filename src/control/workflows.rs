//! The workflows API of seed 004: triggers per entity type, configuring, listing, toggling,
//! deleting and resuming workflows, their executions, and a dry run. Answers are
//! `{"success": true, "data": …}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::integrations::{success, Done, Success};
use crate::delivery::kind::{Delivery, Kinds};
use crate::delivery::queue;
use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{check_limit, ApiJson, ApiQuery};
use crate::outbound::address::Guard;
use crate::secrets::vault::Vault;
use crate::shop;
use crate::webhook::{check_secrets, check_url};
use crate::workflows::conditions::Conditions;
use crate::workflows::definition::{Action, ActionWire, Definition, StatusTarget, Stored};
use crate::workflows::engine::{Engine, Preview, KIND};
use crate::workflows::executions::{self, Execution, State};
use crate::workflows::store::{self, Configure, StoreError, WorkflowListing};
use crate::workflows::triggers::{self, EntityType, Trigger};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/workflows/triggers/{entityType}").route(web::get().to(list_triggers)),
    )
    .service(web::resource("/api/workflows/configure").route(web::post().to(configure)))
    .service(web::resource("/api/workflows/resume-workflow").route(web::get().to(resume)))
    .service(web::resource("/api/workflows/configured/{guid}/toggle").route(web::get().to(toggle)))
    .service(
        web::resource("/api/workflows/configured/{guid}/executions")
            .route(web::get().to(list_executions)),
    )
    .service(web::resource("/api/workflows/configured/{guid}/test").route(web::post().to(test)))
    .service(web::resource("/api/workflows/configured/{guid}/secret").route(web::get().to(secret)))
    .service(web::resource("/api/workflows/configured/{guid}").route(web::delete().to(delete)))
    .service(
        web::resource("/api/workflows/{entityType}/configured").route(web::get().to(configured)),
    );
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => ApiError::NotFound("Workflow not found".into()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Destination(e) => e.into(),
            StoreError::Database(e) => e.into(),
        }
    }
}

fn entity_type(text: &str) -> Result<EntityType, ApiError> {
    EntityType::parse(text).ok_or_else(|| {
        ApiError::NotFound(format!(
            "No entity type {text:?}: use Order, Shipment, Customer or Product."
        ))
    })
}

fn workflow_guid(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text.trim()).map_err(|_| ApiError::NotFound("Workflow not found".into()))
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::Configuration(format!("{field}: {problem}"))
}

/// A trigger, as the seed lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "guid": "150a55bf-4fb5-5e4f-8ec0-9723ea47ea85",
    "name": "Order Created",
    "code": "order_created",
    "description": "Fires when a new order is created",
    "event": "order.created",
    "fields": ["id", "reference", "status", "total"]
}))]
pub struct TriggerInfo {
    pub guid: Uuid,
    pub name: &'static str,
    pub code: &'static str,
    pub description: &'static str,
    /// The event-log event it fires on.
    pub event: &'static str,
    /// The payload fields conditions may test (`x.*`: anything below `x`).
    pub fields: &'static [&'static str],
}

impl From<&'static Trigger> for TriggerInfo {
    fn from(t: &'static Trigger) -> Self {
        TriggerInfo {
            guid: t.guid(),
            name: t.name,
            code: t.code,
            description: t.description,
            event: t.event,
            fields: t.fields,
        }
    }
}

/// The triggers of an entity type (`Order`, `Shipment`, `Customer`, `Product`).
#[utoipa::path(
    get,
    path = "/api/workflows/triggers/{entityType}",
    tag = "workflows",
    params(("entityType" = String, Path, description = "Order, Shipment, Customer or Product")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Vec<TriggerInfo>>),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "Unknown entity type", body = ErrorEnvelope),
    )
)]
pub async fn list_triggers(_: Admin, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let entity = entity_type(&path)?;
    let list: Vec<TriggerInfo> = triggers::of_entity(entity).map(TriggerInfo::from).collect();
    Ok(success(StatusCode::OK, list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredQuery {
    /// Include managed workflows (`true`, the default: all; `false`: only the shop's own).
    pub managed: Option<bool>,
}

/// The workflows configured for an entity type.
#[utoipa::path(
    get,
    path = "/api/workflows/{entityType}/configured",
    tag = "workflows",
    params(("entityType" = String, Path, description = "Order, Shipment, Customer or Product"),
           ConfiguredQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Vec<WorkflowListing>>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn configured(
    _: Admin,
    pool: web::Data<PgPool>,
    path: web::Path<String>,
    ApiQuery(query): ApiQuery<ConfiguredQuery>,
) -> Result<HttpResponse, ApiError> {
    let entity = entity_type(&path)?;
    let managed = match query.managed {
        Some(false) => Some(false),
        _ => None,
    };
    Ok(success(
        StatusCode::OK,
        store::list(&pool, entity, managed).await?,
    ))
}

/// A workflow to create, or to change when `guid` is given.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "name": "Customer Delivery Notification",
    "entityType": "Shipment",
    "triggerId": "20ffb2ee-e82f-5833-a365-0a10df00555d",
    "action": {"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"},
    "conditions": {"status": "delivered"}
}))]
pub struct ConfigureWorkflow {
    /// The workflow to change.
    pub guid: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Order, Shipment, Customer or Product.
    pub entity_type: String,
    /// The trigger's guid (or its code).
    pub trigger_id: String,
    /// `{"type": "send_email", "recipient": "customer" | address, "template": name}`,
    /// `{"type": "send_push", "title", "body", "url", "audience": "customer" | "all"}`,
    /// `{"type": "webhook", "url", "secret" | "secrets"}` (a `whsec_` secret is made when
    /// none is given), `{"type": "update_status", "status",
    /// "target": "order" | "shipment"}`.
    #[schema(value_type = Object)]
    pub action: Value,
    /// `field: value` (equal), or `field: {eq, ne, in, notIn, gt, gte, lt, lte, from, to}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub conditions: Value,
    /// Active once configured (the default), or not until toggled.
    pub is_active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"guid": "7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a09", "name": "Customer Delivery Notification", "isActive": true}))]
pub struct ConfiguredWorkflow {
    pub guid: Uuid,
    pub name: String,
    pub is_active: bool,
    /// The `whsec_` secret made for a webhook action configured without one: shown in this
    /// answer only; `GET /api/workflows/configured/{guid}/secret` reads it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Create a workflow, or change one (`guid`): checked against its trigger (every condition
/// field must be in its payload), in effect for the next event.
#[utoipa::path(
    post,
    path = "/api/workflows/configure",
    tag = "workflows",
    request_body = ConfigureWorkflow,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Created", body = Success<ConfiguredWorkflow>),
        (status = 200, description = "Changed (with a guid)", body = Success<ConfiguredWorkflow>),
        (status = 400, description = "CONFIGURATION_ERROR naming the field", body = ErrorEnvelope,
            example = json!({"success": false, "error": {"code": "CONFIGURATION_ERROR", "message": "conditions.total: the shipment_delivered trigger's payload has no such field"}})),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No workflow has the guid", body = ErrorEnvelope),
        (status = 409, description = "A managed workflow cannot be changed", body = ErrorEnvelope),
    )
)]
pub async fn configure(
    _: Admin,
    pool: web::Data<PgPool>,
    vault: web::Data<Vault>,
    kinds: web::Data<Kinds>,
    guard: web::Data<Guard>,
    engine: web::Data<Engine>,
    ApiJson(request): ApiJson<ConfigureWorkflow>,
) -> Result<HttpResponse, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "1 to 200 characters, no control characters.",
        ));
    }
    let entity = EntityType::parse(&request.entity_type)
        .ok_or_else(|| invalid("entityType", "one of Order, Shipment, Customer, Product."))?;
    let trigger = triggers::find(&request.trigger_id).ok_or_else(|| {
        invalid(
            "triggerId",
            "no such trigger; see GET /api/workflows/triggers/{entityType}.",
        )
    })?;
    if trigger.entity_type != entity {
        return Err(invalid(
            "triggerId",
            format!(
                "{} is a {} trigger, not a {} one.",
                trigger.code,
                trigger.entity_type.as_str(),
                entity.as_str()
            ),
        ));
    }
    let conditions = Conditions::parse(&request.conditions, trigger)
        .map_err(|e| ApiError::Configuration(e.to_string()))?;
    let wire: ActionWire =
        serde_json::from_value(request.action.clone()).map_err(|e| invalid("action", e))?;
    let action =
        Action::parse(&wire, trigger).map_err(|e| ApiError::Configuration(e.to_string()))?;
    check_action(&pool, &guard, &engine, &action).await?;
    let existing = match &request.guid {
        Some(guid) => Some(workflow_guid(guid)?),
        None => None,
    };
    let kind = super::registered(&kinds, KIND)?;
    let guid = existing.unwrap_or_else(Uuid::new_v4);
    let stored = Stored::of(guid, trigger, &conditions, &wire)
        .map_err(|e| ApiError::Configuration(e.to_string()))?;
    let configure = Configure {
        name,
        trigger,
        stored,
        active: request.is_active.unwrap_or(true),
    };
    let (secret, status) = match existing {
        Some(guid) => {
            if store::find(&pool, guid).await?.is_managed {
                return Err(ApiError::Conflict(
                    "A managed workflow cannot be changed; toggle it, or configure your own."
                        .into(),
                ));
            }
            (
                store::update(&pool, &vault, kind, configure).await?,
                StatusCode::OK,
            )
        }
        None => (
            store::create(&pool, &vault, kind, configure).await?,
            StatusCode::CREATED,
        ),
    };
    let listed = store::find(&pool, guid).await?;
    Ok(success(
        status,
        ConfiguredWorkflow {
            guid,
            name: listed.name,
            is_active: listed.is_active,
            secret,
        },
    ))
}

/// What only the shop or the network can say about an action: its template exists, its
/// URL is one users may reach, its order status is one the shop has.
async fn check_action(
    pool: &PgPool,
    guard: &Guard,
    engine: &Engine,
    action: &Action,
) -> Result<(), ApiError> {
    match action {
        Action::Email { template, .. } if !engine.templates.exists(template) => Err(invalid(
            "action.template",
            format!(
                "no template {template:?}; there are: {}.",
                engine.templates.names().join(", ")
            ),
        )),
        Action::Webhook { url, secrets } => {
            check_url(url, guard)
                .await
                .map_err(|e| invalid("action.url", e.0.trim_start_matches("url: ")))?;
            check_secrets(secrets).map_err(|e| {
                let problem = e.0.trim_start_matches("secrets: ");
                invalid("action.secrets", problem.trim_start_matches("secret: "))
            })?;
            Ok(())
        }
        Action::Status { .. } if let Some(mapping) = shop::installed(pool).await? => {
            Err(ApiError::Conflict(format!(
                "update_status writes the shop's orders and shipments, and this shop is read \
                 through the mapping {mapping}, which does not say how to write them."
            )))
        }
        Action::Status {
            target: StatusTarget::Order,
            status,
        } => {
            let known: Vec<String> =
                sqlx::query_scalar("SELECT code FROM order_statuses ORDER BY code")
                    .fetch_all(pool)
                    .await?;
            match known.contains(status) {
                true => Ok(()),
                false => Err(invalid(
                    "action.status",
                    format!(
                        "the shop has no order status {status:?}; it has: {}.",
                        known.join(", ")
                    ),
                )),
            }
        }
        _ => Ok(()),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"guid": "7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a09", "isActive": false}))]
pub struct Toggled {
    pub guid: Uuid,
    pub is_active: bool,
}

/// Turn a workflow on or off. Off, it takes no events; on again, it takes those from then.
#[utoipa::path(
    get,
    path = "/api/workflows/configured/{guid}/toggle",
    tag = "workflows",
    params(("guid" = String, Path, format = Uuid)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Toggled>),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn toggle(
    _: Admin,
    pool: web::Data<PgPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let guid = workflow_guid(&path)?;
    let is_active = store::toggle(&pool, guid).await?;
    Ok(success(StatusCode::OK, Toggled { guid, is_active }))
}

/// The secrets a webhook workflow signs with (Standard Webhooks), for its receiver: every
/// one while a secret rotates, the newest first. `[]` for other actions.
#[utoipa::path(
    get,
    path = "/api/workflows/configured/{guid}/secret",
    tag = "workflows",
    params(("guid" = String, Path, format = Uuid)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<WorkflowSecrets>),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn secret(
    _: Admin,
    pool: web::Data<PgPool>,
    vault: web::Data<Vault>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let secrets = store::secrets(&pool, &vault, workflow_guid(&path)?).await?;
    Ok(success(StatusCode::OK, WorkflowSecrets { secrets }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}))]
pub struct WorkflowSecrets {
    pub secrets: Vec<String>,
}

/// Delete a workflow with its executions. A managed workflow is refused (409): toggle it off.
#[utoipa::path(
    delete,
    path = "/api/workflows/configured/{guid}",
    tag = "workflows",
    params(("guid" = String, Path, format = Uuid)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Done),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "A managed workflow", body = ErrorEnvelope),
    )
)]
pub async fn delete(
    _: Admin,
    pool: web::Data<PgPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    store::delete(&pool, workflow_guid(&path)?).await?;
    Ok(HttpResponse::Ok().json(Done { success: true }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeQuery {
    /// The workflow's guid.
    pub workflow_id: String,
}

/// Retry a workflow's paused executions, each with a fresh retry budget; the later events
/// of their entities follow, in order.
#[utoipa::path(
    get,
    path = "/api/workflows/resume-workflow",
    tag = "workflows",
    params(ResumeQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Nothing is paused", body = ErrorEnvelope),
    )
)]
pub async fn resume(
    _: Admin,
    pool: web::Data<PgPool>,
    ApiQuery(query): ApiQuery<ResumeQuery>,
) -> Result<HttpResponse, ApiError> {
    store::resume(&pool, workflow_guid(&query.workflow_id)?).await?;
    Ok(HttpResponse::Ok().json(Done { success: true }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExecutionsQuery {
    /// retrying, succeeded, failed, paused, skipped or waiting.
    #[param(pattern = "^(retrying|succeeded|failed|paused|skipped|waiting)$")]
    pub state: Option<String>,
    /// 1 to 500; 100 by default.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A workflow's executions, newest first.
#[utoipa::path(
    get,
    path = "/api/workflows/configured/{guid}/executions",
    tag = "workflows",
    params(("guid" = String, Path, format = Uuid), ExecutionsQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<Vec<Execution>>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn list_executions(
    _: Admin,
    pool: web::Data<PgPool>,
    path: web::Path<String>,
    ApiQuery(query): ApiQuery<ExecutionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let guid = workflow_guid(&path)?;
    check_limit(query.limit)?;
    let state = match query.state.as_deref() {
        None => None,
        Some("waiting") => Some("waiting"),
        Some(text) => Some(State::parse(text).map(State::as_str).ok_or_else(|| {
            ApiError::BadRequest(
                "state: one of retrying, succeeded, failed, paused, skipped, waiting.".into(),
            )
        })?),
    };
    let workflow = store::find(&pool, guid).await?;
    let limit = query.limit.unwrap_or(100).into();
    let list = executions::list(&pool, &workflow, state, limit).await?;
    Ok(success(StatusCode::OK, list))
}

/// The dry run's input: an event of the log, or a payload as the trigger's event carries it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"eventId": 1042}))]
pub struct TestRequest {
    pub event_id: Option<i64>,
    /// A sample payload, when no event is given.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    /// The sample's entity id (the order's, shipment's, … id).
    pub entity_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// Whether the workflow would act on it.
    pub matched: bool,
    /// The condition that did not hold, when it would not.
    pub unmet: Option<String>,
    /// What the action would send or write; nothing is sent or written.
    pub action: Preview,
}

/// Dry run: evaluates the conditions and renders the action for an event (or a sample
/// payload) without sending or writing anything.
#[utoipa::path(
    post,
    path = "/api/workflows/configured/{guid}/test",
    tag = "workflows",
    params(("guid" = String, Path, format = Uuid)),
    request_body = TestRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Success<TestResult>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No such workflow or event", body = ErrorEnvelope),
    )
)]
pub async fn test(
    _: Admin,
    pool: web::Data<PgPool>,
    engine: web::Data<Engine>,
    path: web::Path<String>,
    ApiJson(request): ApiJson<TestRequest>,
) -> Result<HttpResponse, ApiError> {
    let definition: Definition = store::definition(&pool, workflow_guid(&path)?).await?;
    let delivery = match (request.event_id, request.payload) {
        (Some(id), None) => queue::as_delivery(&pool, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("No event has the id {id}.")))?,
        (None, Some(payload @ Value::Object(_))) => Delivery {
            delivery_id: 0,
            event_id: 0,
            attempts: 0,
            name: definition.trigger.event.to_owned(),
            entity_type: definition.trigger.entity_type.as_str().to_lowercase(),
            entity_id: request.entity_id.unwrap_or_default(),
            payload: payload.to_string(),
            occurred_at: chrono::Utc::now(),
            cause: Vec::new(),
        },
        _ => {
            return Err(ApiError::BadRequest(
                "Give eventId, or payload (an object), not both.".into(),
            ))
        }
    };
    let (unmet, action) = engine.preview(&definition, &delivery).await?;
    Ok(success(
        StatusCode::OK,
        TestResult {
            matched: unmet.is_none(),
            unmet,
            action,
        },
    ))
}
