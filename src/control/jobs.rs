//! Operators' view of the resumable jobs (the Waymore mass export, …): progress, and
//! cancel (`shopbridge jobs …` offers the same).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::Admin;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{check_limit, ApiQuery};
use crate::jobs::{self, JobStatus};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/jobs").route(web::get().to(list_jobs)))
        .service(web::resource("/admin/jobs/{id}/cancel").route(web::post().to(cancel_job)));
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs of this kind, e.g. `waymore.export`.
    #[param(pattern = "^[a-z0-9_.-]{1,100}$")]
    pub kind: Option<String>,
    /// 1 to 500, default 20.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct Jobs {
    pub jobs: Vec<JobStatus>,
}

/// Jobs, newest first, with their progress per stage.
#[utoipa::path(
    get,
    path = "/admin/jobs",
    tag = "jobs",
    params(JobFilter),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Jobs),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    )
)]
pub async fn list_jobs(
    _: Admin,
    pool: web::Data<PgPool>,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> Result<HttpResponse, ApiError> {
    check_limit(filter.limit)?;
    let kind_name = |k: &String| {
        (1..=100).contains(&k.len())
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
    };
    if filter.kind.as_ref().is_some_and(|k| !kind_name(k)) {
        return Err(ApiError::BadRequest(
            "kind: a job kind such as waymore.export (lowercase letters, digits, '_', '.', '-')."
                .into(),
        ));
    }
    let limit = i64::from(filter.limit.unwrap_or(20));
    let jobs = jobs::list(&pool, filter.kind.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(Jobs { jobs }))
}

/// Cancel an unfinished job: its runner stops before its next part; what was acknowledged
/// stays acknowledged.
#[utoipa::path(
    post,
    path = "/admin/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    security(("admin_token" = [])),
    responses(
        (status = 204),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No unfinished job has that id", body = ErrorEnvelope),
    )
)]
pub async fn cancel_job(
    _: Admin,
    pool: web::Data<PgPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("No unfinished job has id {id}."));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    match jobs::cancel(&pool, id).await? {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(not_found()),
    }
}
