//! The OpenAPI document, generated from the handlers' annotations. `openapi/openapi.json` is
//! this document, committed; `shopbridge openapi > openapi/openapi.json` rewrites it.

use utoipa::OpenApi;

use super::{error, health};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopbridge",
        description = "Connects a shop's PostgreSQL database to Rfmcube (pull webservice) and \
                       Routee-Waymore (push). Every error answers with the envelope \
                       `{\"success\": false, \"error\": {\"code\", \"message\"}}`."
    ),
    paths(health::healthz, health::readyz),
    components(schemas(error::ErrorEnvelope, error::ErrorBody, error::ErrorCode)),
    tags((name = "health", description = "Liveness and readiness probes")),
)]
pub struct ApiDoc;

/// The spec as committed in `openapi/openapi.json` (pretty-printed, trailing newline).
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}
