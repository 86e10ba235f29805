//! Admission control in front of the database pool: at most as many requests run at once
//! as the pool has connections, a bounded number wait (for a bounded time), and the rest
//! are answered at once with 503 and `Retry-After`, instead of queueing on the pool until
//! its timeout and failing with 500. While the database does not answer, requests are
//! answered 503 at once, and those under way as soon as it is seen gone. Probes and the
//! API docs are never held back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::db::health::DatabaseHealth;

pub struct Admission {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    database: Arc<DatabaseHealth>,
}

impl Admission {
    pub fn new(
        max_running: usize,
        max_waiting: usize,
        max_wait: Duration,
        database: Arc<DatabaseHealth>,
    ) -> Arc<Self> {
        Arc::new(Admission {
            running: Semaphore::new(max_running),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            database,
        })
    }
}

fn database_gone() -> ApiError {
    ApiError::Unavailable {
        message: "The database does not answer; retry in a moment (see Retry-After).".into(),
    }
}

/// Paths that answer without the pool's help, or must answer whatever the load.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/openapi.json") || path.starts_with("/docs")
}

pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let admission = req.app_data::<web::Data<Admission>>().cloned();
    let Some(admission) = admission.filter(|_| !exempt(req.path())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let permit = match admission.running.try_acquire() {
        Ok(permit) => Some(permit),
        Err(_) if admission.waiting.fetch_add(1, Ordering::AcqRel) >= admission.max_waiting => {
            admission.waiting.fetch_sub(1, Ordering::AcqRel);
            None
        }
        Err(_) => {
            let waited =
                tokio::time::timeout(admission.max_wait, admission.running.acquire()).await;
            admission.waiting.fetch_sub(1, Ordering::AcqRel);
            waited.ok().and_then(Result::ok)
        }
    };
    let Some(_running) = permit else {
        return Ok(req.into_response(ApiError::Overloaded.error_response()));
    };
    if !admission.database.is_up() {
        return Ok(req.into_response(database_gone().error_response()));
    }
    tokio::select! {
        served = next.call(req) => Ok(served?.map_into_boxed_body()),
        // The request is the handler's now: the answer goes out as an error, which the
        // framework renders (the envelope and Retry-After).
        () = admission.database.gone() => Err(database_gone().into()),
    }
}
