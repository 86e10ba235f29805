//! Shopify in the integrations catalog: the app's webhook signing secret (which verifies
//! every webhook from the next one on), the store's address and the Admin API token, and
//! what to do with them.

use uuid::Uuid;

use crate::configuration::ShopifySettings;
use crate::http::error::ApiError;
use crate::providers::live::{Live, Standing};
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Provider, ProviderType,
};
use crate::secrets::SigningSecrets;

pub const CODE: &str = "shopify";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c001),
    code: CODE,
    name: "Shopify",
    provider_type: ProviderType::Ecommerce,
    description: "Orders, fulfillments and products from a Shopify store, by webhook.",
    multiple: false,
    credentials: &[
        Field::new(
            "apiSecret",
            FieldType::String,
            "The app's API secret key: Shopify signs every webhook with it.",
        )
        .required()
        .secret(),
        Field::new(
            "apiKey",
            FieldType::String,
            "The Admin API access token (importing orders, pushing tracking).",
        )
        .secret(),
        Field::new(
            "storeUrl",
            FieldType::HttpsUrl,
            "The storefront's https address, for product links.",
        )
        .required(),
    ],
    settings: &[
        Field::new(
            "autoImportOrders",
            FieldType::Boolean,
            "Import the store's orders.",
        ),
        Field::new(
            "syncProducts",
            FieldType::Boolean,
            "Keep the shop's products in step.",
        ),
        Field::new(
            "pushTracking",
            FieldType::Boolean,
            "Send tracking numbers to Shopify.",
        ),
    ],
};

pub struct ShopifyProvider;

impl Provider for ShopifyProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn check(&self, configuration: &Configuration) -> Result<(), FieldError> {
        let secret = configuration.text("apiSecret").unwrap_or_default();
        if !(8..=256).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "credentials.apiSecret",
                "the app's API secret key is 8 to 256 visible ASCII characters",
            ));
        }
        Ok(())
    }
}

/// The secrets webhooks are verified with: the integration's when it is configured (a
/// disabled one is answered 503, so Shopify keeps the webhook and retries),
/// `SHOPIFY_WEBHOOK_SECRETS` when it is not.
pub fn signing_secrets(
    live: &Live,
    settings: &ShopifySettings,
) -> Result<SigningSecrets, ApiError> {
    match live.lookup(CODE) {
        Standing::Unconfigured => Ok(settings.secrets.clone()),
        Standing::Disabled => Err(ApiError::Disabled(
            "The Shopify integration is disabled; send the webhook again later (see \
             Retry-After)."
                .into(),
        )),
        Standing::Active(configured) => Ok(configured
            .secrets
            .get("apiSecret")
            .and_then(|s| s.as_str())
            .map(SigningSecrets::one)
            .unwrap_or_default()),
    }
}

/// The storefront products link to: the integration's `storeUrl` while it is configured,
/// else `SHOPIFY_STORE_URL`, else the shop domain the webhook came from.
pub fn store_url(
    live: Option<&Live>,
    settings: &ShopifySettings,
    shop_domain: Option<&str>,
) -> Option<String> {
    let configured = match live.map(|live| live.lookup(CODE)) {
        Some(Standing::Active(configured)) => configured
            .details
            .get("storeUrl")
            .and_then(|url| url.as_str())
            .map(str::to_owned),
        _ => None,
    };
    configured.or_else(|| settings.store_url(shop_domain))
}
