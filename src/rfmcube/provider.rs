//! Rfmcube in the integrations catalog: the api-keys its nightly crawl may present (several
//! while one is rotated).

use uuid::Uuid;

use crate::configuration::RfmcubeSettings;
use crate::providers::live::{Live, Standing};
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Provider, ProviderType,
};
use crate::secrets::SecretSet;

pub const CODE: &str = "rfmcube";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c003),
    code: CODE,
    name: "Rfmcube",
    provider_type: ProviderType::Analytics,
    description: "Rfmcube's nightly crawl of /rfmcube/customers and /rfmcube/orders.",
    multiple: false,
    credentials: &[Field::new(
        "apiKeys",
        FieldType::StringList,
        "The keys typed into Rfmcube (its `api-key` header): the new one and the old one \
         while rotating.",
    )
    .required()
    .secret()],
    settings: &[],
};

pub struct RfmcubeProvider;

impl Provider for RfmcubeProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn check(&self, configuration: &Configuration) -> Result<(), FieldError> {
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
