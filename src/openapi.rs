//! The OpenAPI document, generated from the handlers' annotations. `openapi/openapi.json` is
//! this document, committed; `shopbridge openapi > openapi/openapi.json` rewrites it.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::error;
use crate::{control, one, probes, rfmcube, shopify, waymore};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopbridge",
        description = "Connects a shop's PostgreSQL database to Rfmcube (pull webservice) and \
                       Routee-Waymore (push). Every error answers with the envelope \
                       `{\"success\": false, \"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        probes::healthz,
        probes::readyz,
        rfmcube::post_customers,
        rfmcube::get_customers,
        rfmcube::post_orders,
        rfmcube::get_orders,
        waymore::connect,
        waymore::status,
        waymore::export,
        waymore::retry_events,
        waymore::disconnect,
        control::list_events,
        control::show_event,
        control::list_destinations,
        control::add_destination,
        control::change_destination,
        control::remove_destination,
        control::retry,
        control::replay,
        control::release,
        control::jobs::list_jobs,
        control::jobs::cancel_job,
        one::receive,
        one::list_events,
        one::sample_event_page,
        shopify::receive_orders,
        shopify::receive_products,
        shopify::operator::status,
        shopify::operator::list_webhooks,
        shopify::operator::show_webhook,
        shopify::operator::reprocess,
        shopify::operator::import,
        rfmcube::push::operator::status,
        rfmcube::push::operator::import,
        rfmcube::push::operator::check,
        control::integrations::providers,
        control::integrations::list,
        control::integrations::configure,
        control::integrations::reconfigure,
        control::integrations::disable,
        control::integrations::enable,
        control::integrations::remove,
        control::integrations::save_vapid_subscription,
        control::integrations::vapid_public_key,
        control::workflows::list_triggers,
        control::workflows::configured,
        control::workflows::configure,
        control::workflows::toggle,
        control::workflows::delete,
        control::workflows::resume,
        control::workflows::list_executions,
        control::workflows::test,
        control::workflows::secret,
    ),
    // Accepted is named by the Shopify webhooks' shared responses, which do not register it.
    components(schemas(error::ErrorEnvelope, error::ErrorBody, error::ErrorCode, shopify::Accepted)),
    modifiers(&SecuritySchemes, &OptionalBodies),
    tags(
        (name = "health", description = "Liveness and readiness probes"),
        (name = "waymore", description = "Routee-Waymore: connect once, send the shop's \
            history in the background. Admin endpoints: Authorization: Bearer <ADMIN_TOKEN>"),
        (name = "rfmcube", description = "The pull webservice Rfmcube crawls every night: \
            customers and orders in date windows, paged by offset or by cursor; and, for a \
            shop Rfmcube cannot reach, the push to Rfmcube's API: its status, the initial \
            synchronisation sent again, the consistency check. Admin endpoints: \
            Authorization: Bearer <ADMIN_TOKEN>"),
        (name = "events", description = "The shop event log and its destinations: list, \
            inspect, retry, replay, change, release. Authorization: Bearer <ADMIN_TOKEN>"),
        (name = "jobs", description = "Resumable bulk jobs (the Waymore mass export): \
            progress and cancel. Authorization: Bearer <ADMIN_TOKEN>"),
        (name = "one", description = "ONe webhook inbox and its sample-event page. HTTP Basic \
            authentication with ONE_WEBHOOK_CREDENTIALS"),
        (name = "integrations", description = "Seed 004's integrations API: the providers \
            shopbridge connects, configured, disabled and removed at run time (secrets sealed \
            at rest), and the shop's Web Push subscriptions. Authorization: Bearer \
            <ADMIN_TOKEN> (but the VAPID public key)"),
        (name = "workflows", description = "Seed 004's workflows: a trigger (an event of the \
            shop event log), conditions on its payload, and an action (send_email, send_push, \
            webhook, update_status); executions you can list and resume, and a dry run. \
            Authorization: Bearer <ADMIN_TOKEN>"),
        (name = "shopify", description = "Shopify webhook intake: register the two URLs in \
            Shopify; each webhook is verified with X-Shopify-Hmac-Sha256 \
            (the Shopify integration's apiSecret, else SHOPIFY_WEBHOOK_SECRETS), stored, and applied to the shop tables in the \
            background. Admin endpoints: Authorization: Bearer <ADMIN_TOKEN>"),
    ),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                rfmcube::auth::HEADER,
                "A key of the Rfmcube integration (else RFMCUBE_API_KEYS), as typed into Rfmcube's connector.",
            ))),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("ADMIN_TOKEN"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "one_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("The ONe integration's username and password (else a pair of ONE_WEBHOOK_CREDENTIALS)"))
                    .build(),
            ),
        );
    }
}

/// Bodies whose every field is optional (a crawl, a reprocess request), so an empty POST
/// body means all defaults.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for path in [
            "/rfmcube/customers",
            "/rfmcube/orders",
            "/admin/shopify/webhooks/reprocess",
        ] {
            if let Some(body) = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
                .and_then(|post| post.request_body.as_mut())
            {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

/// The spec as committed in `openapi/openapi.json` (pretty-printed, trailing newline).
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}
