//! Shopify in the integrations catalog: the app's webhook signing secret (which verifies
//! every webhook from the next one on), the store's address and the Admin API token, and
//! what to do with them: with the token, the store is connected through the Admin API
//! ([`super::admin`]) and the three switches act there.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::admin::connect::{ConnectError, Switches};
use super::admin::{Admin, Store};
use crate::configuration::ShopifySettings;
use crate::delivery::destinations;
use crate::http::error::ApiError;
use crate::providers::live::{Live, Standing};
use crate::providers::store::Integration;
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Hook, Provider, ProviderError, ProviderType,
};
use crate::secrets::SigningSecrets;

pub const CODE: &str = "shopify";

/// The switches (seed 004's settings), and the order history's lower date.
pub const IMPORT_ORDERS: &str = "autoImportOrders";
pub const SYNC_PRODUCTS: &str = "syncProducts";
pub const PUSH_TRACKING: &str = "pushTracking";
pub const IMPORT_SINCE: &str = "importOrdersSince";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c001),
    code: CODE,
    name: "Shopify",
    provider_type: ProviderType::Ecommerce,
    description: "Orders, fulfillments and products from a Shopify store, by webhook; with an \
                  Admin API access token, the order history, the catalog and tracking numbers \
                  both ways.",
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
            "The custom app's Admin API access token (shpat_…): connects the store, so \
             the switches below act there.",
        )
        .secret(),
        Field::new(
            "storeUrl",
            FieldType::HttpsUrl,
            "The store's https address: https://<store>.myshopify.com when apiKey is given \
             (the Admin API is there); product links start with it.",
        )
        .required(),
    ],
    settings: &[
        Field::new(
            IMPORT_ORDERS,
            FieldType::Boolean,
            "Import the store's order history, and apply orders/* webhooks (off: they are \
             stored, not applied).",
        ),
        Field::new(
            SYNC_PRODUCTS,
            FieldType::Boolean,
            "Import the catalog, and apply products/* webhooks (off: they are stored, not \
             applied).",
        ),
        Field::new(
            PUSH_TRACKING,
            FieldType::Boolean,
            "Send the tracking numbers of the shop's shipments to Shopify as fulfillments.",
        ),
        Field::new(
            IMPORT_SINCE,
            FieldType::String,
            "Import only orders created since this date (YYYY-MM-DD, or an RFC 3339 time).",
        ),
    ],
};

pub struct ShopifyProvider {
    pub admin: Admin,
    /// `SHOPIFY_WEBHOOK_SECRETS` is set.
    pub environment: bool,
    /// The mapping the shop is read through, when it is not the reference schema the
    /// intake writes.
    pub mapped: Option<String>,
}

/// `importOrdersSince`: a date (midnight UTC) or an RFC 3339 time.
fn since(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

fn switches(settings: &Map<String, Value>) -> Switches {
    let on = |name: &str| settings.get(name).and_then(Value::as_bool) == Some(true);
    Switches {
        import_orders: on(IMPORT_ORDERS),
        sync_products: on(SYNC_PRODUCTS),
        push_tracking: on(PUSH_TRACKING),
        orders_since: settings
            .get(IMPORT_SINCE)
            .and_then(Value::as_str)
            .and_then(since),
    }
}

impl Provider for ShopifyProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn configured_by_environment(&self) -> bool {
        self.environment
    }

    fn check(&self, configuration: &Configuration) -> Result<(), FieldError> {
        if let Some(mapping) = &self.mapped {
            return Err(FieldError::new(
                "provider",
                format!(
                    "Shopify's intake writes orders, customers and products into shopbridge's \
                     reference tables, and this shop is read through the mapping {mapping}, \
                     which does not say how to write them"
                ),
            ));
        }
        let secret = configuration.text("apiSecret").unwrap_or_default();
        if !(8..=256).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "credentials.apiSecret",
                "the app's API secret key is 8 to 256 visible ASCII characters",
            ));
        }
        let token = configuration.text("apiKey");
        if token.is_some_and(|t| t.len() > 256 || !t.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(FieldError::new(
                "credentials.apiKey",
                "the Admin API access token is at most 256 visible ASCII characters",
            ));
        }
        if configuration
            .text(IMPORT_SINCE)
            .is_some_and(|t| since(t).is_none())
        {
            return Err(FieldError::new(
                "settings.importOrdersSince",
                "a date such as 2025-01-31, or an RFC 3339 time",
            ));
        }
        Ok(())
    }

    fn connect<'a>(
        &'a self,
        _pool: &'a sqlx::PgPool,
        _id: Uuid,
        configuration: &'a Configuration,
        existing: Option<&'a Integration>,
    ) -> Hook<'a, Option<i64>> {
        Box::pin(async move {
            let Some(token) = configuration.text("apiKey") else {
                if self.admin.connected().await? {
                    self.admin.disconnect().await.map_err(refusal)?;
                }
                return Ok(None);
            };
            let switches = switches(&configuration.settings);
            let store = Store {
                store_url: configuration
                    .text("storeUrl")
                    .unwrap_or_default()
                    .to_owned(),
                access_token: token.to_owned(),
                push_tracking: switches.push_tracking,
            };
            let before = existing.map(|e| self::switches(&e.settings));
            self.admin
                .connect(store, &switches, before.as_ref())
                .await
                .map(Some)
                .map_err(refusal)
        })
    }

    fn disconnect<'a>(&'a self, _pool: &'a sqlx::PgPool, _: &'a Integration) -> Hook<'a, ()> {
        Box::pin(async move { self.admin.disconnect().await.map_err(refusal) })
    }
}

/// What the integrations API answers when connecting fails.
fn refusal(error: ConnectError) -> ProviderError {
    let message = error.to_string();
    match error {
        ConnectError::Unauthorized(_) => {
            ProviderError::Refused(FieldError::new("credentials.apiKey", message))
        }
        ConnectError::StoreUrl(_) => {
            ProviderError::Refused(FieldError::new("credentials.storeUrl", message))
        }
        ConnectError::NoPublicUrl => ProviderError::Conflict(message),
        ConnectError::Upstream(_) => ProviderError::Upstream(message),
        ConnectError::Destination(destinations::DestinationError::Database(e))
        | ConnectError::Database(e) => ProviderError::Database(e),
        ConnectError::Destination(e) => ProviderError::Internal(e.into()),
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
