//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::health::DatabaseHealth;
use crate::http::error::{ApiError, ErrorEnvelope};

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the process is up, `ready` when it can serve requests.
    #[schema(example = "ok")]
    pub status: &'static str,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)));
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable and every migration is applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "Database unreachable or migrations pending", body = ErrorEnvelope),
    )
)]
pub async fn readyz(health: web::Data<DatabaseHealth>) -> Result<HttpResponse, ApiError> {
    // A probe answers within a second, however long the database takes to answer.
    match health.migrations_applied().await {
        Some(Ok(true)) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Some(Ok(false)) => Err(ApiError::Unavailable {
            message: "Database migrations are pending; run `shopbridge migrate`.".into(),
        }),
        None => Err(ApiError::Unavailable {
            message: "The database did not answer within a second.".into(),
        }),
        Some(Err(error)) => {
            log::warn!("readiness check failed: {error}");
            Err(ApiError::Unavailable {
                message: "The database is unreachable.".into(),
            })
        }
    }
}
