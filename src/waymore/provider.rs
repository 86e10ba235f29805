//! Waymore in the integrations catalog: the owner's Routee username and password, exchanged
//! once for the UUID (the password is never kept), as `POST /waymore/connect` does.

use std::sync::Arc;

use uuid::Uuid;

use super::client::WaymoreClient;
use super::connection::{self, ConnectError, Credentials, DisconnectError};
use super::export::MassExport;
use super::{DESTINATION, PROVIDER};
use crate::delivery::destinations;
use crate::jobs::Runner;
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Hook, Integration, Provider, ProviderError,
    ProviderType,
};
use crate::secrets::vault::Vault;

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c002),
    code: PROVIDER,
    name: "Waymore",
    provider_type: ProviderType::Marketing,
    description: "Routee-Waymore: the shop's history once (mass export), then its events as \
                  they happen.",
    multiple: false,
    credentials: &[
        Field::new(
            "username",
            FieldType::String,
            "The Routee account's username.",
        )
        .required(),
        Field::new(
            "password",
            FieldType::String,
            "The Routee account's password: sent to Waymore once for the shop's UUID, never kept.",
        )
        .transient(),
    ],
    settings: &[],
};

pub struct WaymoreProvider {
    pub client: WaymoreClient,
    pub vault: Vault,
    pub exporter: Arc<Runner<MassExport>>,
}

impl Provider for WaymoreProvider {
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
            let password = configuration.text("password");
            if let Some(existing) = existing {
                return match password {
                    None => Ok(existing.destination_id),
                    Some(_) => Err(ProviderError::Conflict(
                        "Waymore is connected; to connect another account, remove this \
                         integration first."
                            .into(),
                    )),
                };
            }
            let credentials = Credentials::parse(
                configuration.text("username").unwrap_or_default(),
                password.ok_or_else(|| {
                    ProviderError::Refused(FieldError::new("credentials.password", "required"))
                })?,
            )
            .map_err(|problem| {
                let (field, problem) = problem.split_once(": ").unwrap_or(("", &problem));
                ProviderError::Refused(FieldError::new(format!("credentials.{field}"), problem))
            })?;
            let hint = format!(
                "Without a Routee account, sign up at {}",
                self.client.settings().signup_url
            );
            connection::connect(
                pool,
                &self.vault,
                &self.client,
                self.exporter.definition(),
                &credentials,
                id,
            )
            .await
            .map_err(|e| match e {
                ConnectError::AlreadyConnected => {
                    ProviderError::Conflict(format!("Integration already configured: {e}."))
                }
                ConnectError::Refused(message) => ProviderError::Refused(FieldError::new(
                    "credentials",
                    format!("Waymore refused them: {message}. {hint}"),
                )),
                ConnectError::Upstream(e) => ProviderError::Upstream(format!("{e}. {hint}")),
                ConnectError::UnusableUuid => {
                    ProviderError::Upstream(format!("{e}; nothing was stored."))
                }
                ConnectError::Destination(e) => ProviderError::Internal(e.into()),
                ConnectError::Database(e) => ProviderError::Database(e),
            })?;
            self.exporter.wake();
            Ok(destinations::id_of(pool, DESTINATION).await?)
        })
    }

    fn disconnect<'a>(&'a self, pool: &'a sqlx::PgPool, _: &'a Integration) -> Hook<'a, ()> {
        Box::pin(async move {
            match connection::disconnect(pool, &self.vault, &self.client).await {
                Ok(()) | Err(DisconnectError::NotConnected) => Ok(()),
                Err(DisconnectError::Upstream(e)) => Err(ProviderError::Upstream(format!(
                    "Waymore did not take the Uninstall, so the shop stays connected: {e}"
                ))),
                Err(DisconnectError::Destination(e)) => Err(ProviderError::Internal(e.into())),
                Err(DisconnectError::Database(e)) => Err(ProviderError::Database(e)),
            }
        })
    }
}
