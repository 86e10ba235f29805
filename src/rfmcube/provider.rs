//! Rfmcube in the integrations catalog: the api-keys its nightly crawl may present (several
//! while one is rotated), and for a shop Rfmcube cannot reach, the connector's key the shop
//! pushes with instead ([`super::push`]).

use uuid::Uuid;

use super::push::{Connection, Push};
use crate::configuration::RfmcubeSettings;
use crate::delivery::destinations::DestinationError;
use crate::providers::live::{Live, Standing};
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Hook, Integration, Provider, ProviderError,
    ProviderType,
};
use crate::secrets::SecretSet;

pub const CODE: &str = "rfmcube";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c003),
    code: CODE,
    name: "Rfmcube",
    provider_type: ProviderType::Analytics,
    description: "Rfmcube's nightly crawl of /rfmcube/customers and /rfmcube/orders, or, \
                  where Rfmcube cannot reach the shop, the shop pushing them to Rfmcube's API.",
    multiple: false,
    credentials: &[
        Field::new(
            "apiKeys",
            FieldType::StringList,
            "Pull: the keys typed into Rfmcube (its `api-key` header): the new one and the old \
             one while rotating.",
        )
        .secret(),
        Field::new(
            "pushApiKey",
            FieldType::String,
            "Push: the api-key of a connector created with \"Use the Rfmcube API\" as its \
             platform. Set, the shop sends its history once, then its changes.",
        )
        .secret(),
    ],
    settings: &[Field::new(
        "pushUrl",
        FieldType::Url,
        "Push: the API's base, `https://api.rfmcube.com/v1` unless given.",
    )],
};

pub struct RfmcubeProvider {
    pub push: Push,
    /// `RFMCUBE_PUSH_URL`: where push goes unless `pushUrl` says.
    pub push_url: reqwest::Url,
    /// `RFMCUBE_API_KEYS` or `RFMCUBE_PUSH_API_KEY` is set.
    pub environment: bool,
}

impl Provider for RfmcubeProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn configured_by_environment(&self) -> bool {
        self.environment
    }

    fn check(&self, configuration: &Configuration) -> Result<(), FieldError> {
        let push_key = configuration.text("pushApiKey");
        if configuration.texts("apiKeys").is_empty() && push_key.is_none() {
            return Err(FieldError::new(
                "credentials",
                "apiKeys (Rfmcube pulls) or pushApiKey (the shop pushes), or both",
            ));
        }
        if push_key.is_some_and(|key| key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(FieldError::new(
                "credentials.pushApiKey",
                "at most 512 visible ASCII characters",
            ));
        }
        let usable = |key: &&str| {
            (16..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        };
        if !configuration.texts("apiKeys").iter().all(usable) {
            return Err(FieldError::new(
                "credentials.apiKeys",
                "every key is 16 to 256 visible ASCII characters",
            ));
        }
        Ok(())
    }

    fn connect<'a>(
        &'a self,
        pool: &'a sqlx::PgPool,
        _id: Uuid,
        configuration: &'a Configuration,
        existing: Option<&'a Integration>,
    ) -> Hook<'a, Option<i64>> {
        Box::pin(async move {
            let Some(api_key) = configuration.text("pushApiKey") else {
                if existing.is_some_and(|e| e.destination_id.is_some()) {
                    self.push.disconnect(pool).await?;
                }
                return Ok(None);
            };
            let url = configuration
                .text("pushUrl")
                .unwrap_or(self.push_url.as_str());
            let connected = self.push.connect(pool, Connection { url, api_key }).await;
            connected.map(Some).map_err(|e| match e {
                DestinationError::Database(e) => ProviderError::Database(e),
                DestinationError::Vault(e) => ProviderError::Internal(e.into()),
                other => ProviderError::Conflict(other.to_string()),
            })
        })
    }

    fn disconnect<'a>(&'a self, pool: &'a sqlx::PgPool, _: &'a Integration) -> Hook<'a, ()> {
        Box::pin(async move { Ok(self.push.disconnect(pool).await?) })
    }
}

/// The keys accepted now: the integration's when it is configured, `RFMCUBE_API_KEYS` when
/// it is not. `None`: the integration is disabled.
pub fn api_keys(live: &Live, settings: &RfmcubeSettings) -> Option<SecretSet> {
    match live.lookup(CODE) {
        Standing::Unconfigured => Some(settings.api_keys.clone()),
        Standing::Disabled => None,
        Standing::Active(configured) => Some(SecretSet::of(
            configured
                .secrets
                .get("apiKeys")
                .and_then(|keys| keys.as_array())
                .into_iter()
                .flatten()
                .filter_map(|key| key.as_str()),
        )),
    }
}
