//! Liveness and readiness probes.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::db;
use crate::http::error::{ApiError, ErrorEnvelope};

const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the process is up, `ready` when it can serve requests.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The readiness probe's own connection, so it never waits behind requests for the pool.
#[derive(Clone)]
pub struct ProbePool(PgPool);

impl ProbePool {
    /// One lazily opened connection to the database `pool` uses.
    pub fn beside(pool: &PgPool) -> Self {
        ProbePool(
            PgPoolOptions::new()
                .max_connections(1)
                // The probe's own one-second bound decides; this only frees the slot later.
                .acquire_timeout(READY_WITHIN * 2)
                .connect_lazy_with((*pool.connect_options()).clone()),
        )
    }
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
pub async fn readyz(probe: web::Data<ProbePool>) -> Result<HttpResponse, ApiError> {
    // A probe answers within a second, however long the database takes to answer.
    let checked = tokio::time::timeout(READY_WITHIN, db::migrations_applied(&probe.0)).await;
    match checked {
        Ok(Ok(true)) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Ok(Ok(false)) => Err(ApiError::Unavailable {
            message: "Database migrations are pending; run `shopbridge migrate`.".into(),
        }),
        Err(_) => Err(ApiError::Unavailable {
            message: "The database did not answer within a second.".into(),
        }),
        Ok(Err(error)) => {
            log::warn!("readiness check failed: {error}");
            Err(ApiError::Unavailable {
                message: "The database is unreachable.".into(),
            })
        }
    }
}
