//! Operators' view of the Rfmcube push: where it stands, the initial synchronisation sent
//! again, and the consistency check (`shopbridge rfmcube …` offers the same).

use actix_web::{web, HttpResponse};
use sqlx::PgPool;

use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::jobs::{self, JobStarted, StartError};
use super::{Push, PushStatus};
use crate::rfmcube::push;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/rfmcube/push").route(web::get().to(status)))
        .service(web::resource("/admin/rfmcube/push/import").route(web::post().to(import)))
        .service(web::resource("/admin/rfmcube/push/check").route(web::post().to(check)));
}

/// Where the push stands: configured, held and why, the backlog, what Rfmcube has, and the
/// latest initial synchronisation and consistency check with their progress.
#[utoipa::path(
    get,
    path = "/admin/rfmcube/push",
    tag = "rfmcube",
    security(("admin_token" = [])),
    responses((status = 200, body = PushStatus), (status = 401, body = ErrorEnvelope))
)]
pub async fn status(_: Admin, pool: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(push::status(&pool).await?))
}

fn started(result: Result<jobs::Started, StartError>) -> Result<HttpResponse, ApiError> {
    match result {
        Ok(started) => Ok(HttpResponse::Accepted().json(JobStarted::from(started))),
        Err(StartError::Database(e)) => Err(ApiError::internal(e)),
        Err(e) => Err(ApiError::Conflict(format!("{}.", push::not_started(&e)))),
    }
}

/// Send every customer and order again, as the initial synchronisation did (or resume the
/// failed one); `/admin/jobs` and this status follow it.
#[utoipa::path(
    post,
    path = "/admin/rfmcube/push/import",
    tag = "rfmcube",
    security(("admin_token" = [])),
    responses(
        (status = 202, body = JobStarted),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "Push is not configured, or the job runs", body = ErrorEnvelope),
    )
)]
pub async fn import(
    _: Admin,
    pool: web::Data<PgPool>,
    push: web::Data<Push>,
) -> Result<HttpResponse, ApiError> {
    started(push.start_import(&pool).await)
}

/// Compare every customer and order with what Rfmcube was last sent, and send what differs
/// (or resume the failed check).
#[utoipa::path(
    post,
    path = "/admin/rfmcube/push/check",
    tag = "rfmcube",
    security(("admin_token" = [])),
    responses(
        (status = 202, body = JobStarted),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "Push is not configured, or the check runs", body = ErrorEnvelope),
    )
)]
pub async fn check(
    _: Admin,
    pool: web::Data<PgPool>,
    push: web::Data<Push>,
) -> Result<HttpResponse, ApiError> {
    started(push.start_check(&pool).await)
}
