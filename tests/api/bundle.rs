//! An integration the build has never heard of, defined here in the test crate: its bundle
//! alone brings a destination kind, a provider, a route and a background task into the
//! application, and the application stops its task as it stops its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use shopbridge::bundle::{Backbone, Bundle};
use shopbridge::delivery::destinations::{self, DestinationName};
use shopbridge::delivery::kind::{Delivery, DestinationKind, Outcome, Sending, Target};
use shopbridge::events::EventPattern;
use shopbridge::outbound::address::SystemLookup;
use shopbridge::providers::{About, Configuration, Hook, Integration, Provider, ProviderType};
use shopbridge::secrets::vault::Vault;
use shopbridge::startup::Application;
use shopbridge::INTEGRATIONS;

use crate::events::{eventually, exec};
use crate::helpers::{fresh_database, test_settings, TestApp};
use crate::integrations::configured;

/// What the guestbook received, and what its background task saw, for the one test here.
static SIGNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static TASK: Mutex<Option<&'static str>> = Mutex::new(None);

const GUESTBOOK: &str = "0a9e1c2d-6b1f-4c8e-9d3a-7e5b2f1c0d99";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x0a9e1c2d_6b1f_4c8e_9d3a_7e5b2f1c0d99),
    code: "guestbook",
    name: "Guestbook",
    provider_type: ProviderType::Marketing,
    description: "Signs every new customer into a guestbook.",
    multiple: false,
    credentials: &[],
    settings: &[],
};

struct GuestbookKind;

impl DestinationKind for GuestbookKind {
    fn name(&self) -> &'static str {
        "guestbook"
    }

    fn target(&self, _config: &Value) -> Result<Arc<dyn Target>, String> {
        Ok(Arc::new(GuestbookKind))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
}

impl Target for GuestbookKind {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            let payload: Value = serde_json::from_str(&delivery.payload).unwrap();
            let email = payload["customer"]["email"].as_str().unwrap_or_default();
            SIGNED.lock().unwrap().push(email.to_owned());
            Outcome::Delivered(200)
        })
    }
}

/// Configuring the guestbook gives it its destination, as a partner's provider does.
struct GuestbookProvider {
    kind: Arc<dyn DestinationKind>,
    vault: Vault,
}

impl Provider for GuestbookProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn connect<'a>(
        &'a self,
        pool: &'a PgPool,
        _id: Uuid,
        _configuration: &'a Configuration,
        _existing: Option<&'a Integration>,
    ) -> Hook<'a, Option<i64>> {
        Box::pin(async move {
            let name = DestinationName::parse("guestbook").unwrap();
            let events = [EventPattern::try_from("customer.created".to_owned()).unwrap()];
            let id = destinations::add(
                pool,
                &self.vault,
                &name,
                self.kind.as_ref(),
                &events,
                json!({}),
            )
            .await
            .unwrap();
            Ok(Some(id))
        })
    }
}

async fn signed() -> HttpResponse {
    HttpResponse::Ok().json(SIGNED.lock().unwrap().clone())
}

/// The whole integration, as startup sees it.
fn guestbook(backbone: &Backbone) -> anyhow::Result<Bundle> {
    let kind: Arc<dyn DestinationKind> = Arc::new(GuestbookKind);
    Ok(Bundle::default()
        .kind(kind.clone())
        .provider(GuestbookProvider {
            kind,
            vault: backbone.vault.clone(),
        })
        .routes(|cfg| {
            cfg.route("/guestbook", web::get().to(signed));
        })
        .task(|mut stop| async move {
            *TASK.lock().unwrap() = Some("running");
            let _ = stop.wait_for(|stop| *stop).await;
            *TASK.lock().unwrap() = Some("stopped");
        }))
}

#[tokio::test]
async fn an_integration_from_outside_the_build_joins_through_its_bundle_alone() {
    let db = fresh_database().await;
    let settings = test_settings(db.clone());
    let pool = shopbridge::db::pool(db, settings.database.max_connections)
        .await
        .unwrap();
    let integrations = [INTEGRATIONS, &[guestbook]].concat();
    let app = Application::build_integrating(
        &settings,
        pool.clone(),
        Arc::new(SystemLookup),
        &integrations,
    )
    .await
    .expect("the application builds with the guestbook");
    let handle = app.handle();
    let test_app = TestApp::of(&app, pool.clone());
    let serving = tokio::spawn(app.run_until_stopped());

    let providers: Value = crate::integrations::admin(
        test_app
            .client
            .get(test_app.url("/api/integrations/providers")),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        providers.to_string().contains(GUESTBOOK),
        "the catalog lists the guestbook: {providers}"
    );
    configured(&test_app, &json!({"providerId": GUESTBOOK})).await;
    exec(
        &pool,
        "INSERT INTO customers (email) VALUES ('ada@guest.test')",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the new customer signs the guestbook",
        || async {
            let answer: Vec<String> = test_app.get("/guestbook").await.json().await.unwrap();
            answer == ["ada@guest.test"]
        },
    )
    .await;
    assert_eq!(*TASK.lock().unwrap(), Some("running"));

    handle.stop(true).await;
    serving.await.unwrap().unwrap();
    assert_eq!(
        *TASK.lock().unwrap(),
        Some("stopped"),
        "stopped with the application's own tasks"
    );
}
