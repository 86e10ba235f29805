//! Generic webhooks in the integrations catalog: each one configured is a webhook
//! destination of its own, which the integration holds while disabled and deletes when
//! removed.

use std::sync::Arc;

use uuid::Uuid;

use super::{check_secrets, check_url, Config};
use crate::delivery::destinations::{self, DestinationError, DestinationName};
use crate::delivery::kind::DestinationKind;
use crate::events::EventPattern;
use crate::outbound::address::Guard;
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Hook, Integration, Provider, ProviderError,
    ProviderType,
};
use crate::secrets::vault::Vault;

pub const CODE: &str = "webhook";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c005),
    code: CODE,
    name: "Webhook",
    provider_type: ProviderType::Webhook,
    description: "The shop's events POSTed to a URL, signed the Standard Webhooks way.",
    multiple: true,
    credentials: &[
        Field::new(
            "url",
            FieldType::Url,
            "Where the events go: an http(s) URL on a public address.",
        )
        .required(),
        Field::new(
            "secret",
            FieldType::String,
            "Signs every request: `whsec_<base64>` (Standard Webhooks), or any other text.",
        )
        .secret(),
    ],
    settings: &[Field::new(
        "events",
        FieldType::StringList,
        "Event names it takes: exact names, `prefix.*` or `*` (the default).",
    )],
};

pub struct WebhookProvider {
    pub guard: Guard,
    pub vault: Vault,
    /// The webhook destination kind.
    pub kind: Arc<dyn DestinationKind>,
}

impl Provider for WebhookProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn connect<'a>(
        &'a self,
        pool: &'a sqlx::PgPool,
        id: Uuid,
        configuration: &'a Configuration,
        existing: Option<&'a Integration>,
    ) -> Hook<'a, Option<i64>> {
        Box::pin(async move {
            let refused = |field: &str, problem: String| {
                ProviderError::Refused(FieldError::new(field, problem))
            };
            let url = check_url(configuration.text("url").unwrap_or_default(), &self.guard)
                .await
                .map_err(|e| refused("credentials.url", e.0.trim_start_matches("url: ").into()))?;
            let secrets = check_secrets(&Vec::from_iter(
                configuration.text("secret").map(str::to_owned),
            ))
            .map_err(|e| {
                refused(
                    "credentials.secret",
                    e.0.trim_start_matches("secret: ").into(),
                )
            })?;
            let mut events = configuration
                .texts("events")
                .into_iter()
                .map(|e| EventPattern::try_from(e.to_owned()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| refused("settings.events", e.to_string()))?;
            if events.is_empty() {
                events.push(EventPattern::try_from("*".to_owned()).expect("`*` is a pattern"));
            }
            let config = serde_json::to_value(Config {
                url: url.to_string(),
                secrets,
                secret: None,
            })
            .expect("a config serialises");
            let kind = &self.kind;
            let database = |e: DestinationError| match e {
                DestinationError::Database(e) => ProviderError::Database(e),
                DestinationError::Vault(e) => ProviderError::Internal(e.into()),
                other => ProviderError::Conflict(other.to_string()),
            };
            match existing.and_then(|integration| integration.destination_id) {
                Some(destination) => {
                    let name = destination_name(pool, destination).await?;
                    destinations::reconfigure(
                        pool,
                        &self.vault,
                        &name,
                        kind.as_ref(),
                        Some(&events),
                        |_| Ok(config),
                    )
                    .await
                    .map_err(database)?;
                    Ok(Some(destination))
                }
                None => {
                    let name = DestinationName::parse(&format!(
                        "webhook-{}",
                        &id.simple().to_string()[..12]
                    ))
                    .expect("a valid destination name");
                    destinations::add(pool, &self.vault, &name, kind.as_ref(), &events, config)
                        .await
                        .map(Some)
                        .map_err(database)
                }
            }
        })
    }

    fn disconnect<'a>(
        &'a self,
        pool: &'a sqlx::PgPool,
        integration: &'a Integration,
    ) -> Hook<'a, ()> {
        Box::pin(async move {
            if let Some(id) = integration.destination_id {
                if let Some(name) = destinations::name_of(pool, id).await? {
                    destinations::forget(pool, &name).await?;
                }
            }
            Ok(())
        })
    }
}

async fn destination_name(pool: &sqlx::PgPool, destination: i64) -> Result<String, sqlx::Error> {
    destinations::name_of(pool, destination)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}
