//! Integrations configured at run time: the providers this build knows (each integration
//! registers one, [`Provider`]), what a shop has configured ([`store`], the credentials
//! sealed by the [`vault`](crate::secrets::vault)), and every process's live copy of it
//! ([`live`]), refreshed at once on a change.

pub mod live;
pub mod store;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

pub use store::Integration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    Ecommerce,
    Marketing,
    Analytics,
    Sales,
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FieldType {
    String,
    /// An `https://` URL.
    HttpsUrl,
    /// An `http(s)://` URL.
    Url,
    Boolean,
    /// A list of strings.
    StringList,
}

/// One credential or setting a provider takes.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    #[schema(example = "apiSecret")]
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    /// Sealed at rest and never shown again.
    pub secret: bool,
    /// Sent once to the provider and never kept (Waymore's password).
    pub transient: bool,
    pub description: &'static str,
}

impl Field {
    pub const fn new(name: &'static str, kind: FieldType, description: &'static str) -> Self {
        Field {
            name,
            kind,
            required: false,
            secret: false,
            transient: false,
            description,
        }
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub const fn transient(mut self) -> Self {
        self.secret = true;
        self.transient = true;
        self
    }
}

/// What the catalog says of a provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct About {
    /// Stable: the same in every shopbridge.
    #[schema(value_type = String, format = Uuid, example = "0f5b7f0e-3c2a-4f1e-9a51-5d0c7e2b9a01")]
    pub provider_id: Uuid,
    /// What `GET /api/integrations` calls it.
    #[schema(example = "shopify")]
    pub code: &'static str,
    #[schema(example = "Shopify")]
    pub name: &'static str,
    pub provider_type: ProviderType,
    pub description: &'static str,
    /// Several may be configured at once (webhooks); otherwise one at a time.
    pub multiple: bool,
    pub credentials: &'static [Field],
    pub settings: &'static [Field],
}

/// A provider's configuration as checked: what may be shown (`settings`, and `details`,
/// the credentials that are not secret) and what is sealed (`secrets`).
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    pub settings: Map<String, Value>,
    pub details: Map<String, Value>,
    pub secrets: Map<String, Value>,
}

impl Configuration {
    pub fn text(&self, field: &str) -> Option<&str> {
        self.secrets
            .get(field)
            .or_else(|| self.details.get(field))
            .or_else(|| self.settings.get(field))
            .and_then(Value::as_str)
    }

    pub fn texts(&self, field: &str) -> Vec<&str> {
        self.secrets
            .get(field)
            .or_else(|| self.details.get(field))
            .or_else(|| self.settings.get(field))
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub fn flag(&self, field: &str) -> bool {
        self.settings.get(field).and_then(Value::as_bool) == Some(true)
    }
}

/// A field given is not right; the message names it and never shows a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the configuration (Waymore said the credentials are wrong).
    #[error("{0}")]
    Refused(FieldError),
    /// The provider could not be reached or answered wrongly.
    #[error("{0}")]
    Upstream(String),
    /// Not while it is in this state.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type Hook<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// An integration as the integrations API configures it.
pub trait Provider: Send + Sync + 'static {
    fn about(&self) -> &About;

    /// Configured by its environment variables (the bootstrap), whether or not the
    /// integrations API configured it too.
    fn configured_by_environment(&self) -> bool {
        false
    }

    /// Checks the configuration beyond its fields' types.
    fn check(&self, _configuration: &Configuration) -> Result<(), FieldError> {
        Ok(())
    }

    /// Brings a new or changed configuration to life before it is stored (Waymore
    /// authenticates and starts its export; a webhook gets its destination). Transient
    /// fields are dropped after. The destination it feeds, if any.
    fn connect<'a>(
        &'a self,
        _pool: &'a PgPool,
        _id: Uuid,
        _configuration: &'a Configuration,
        _existing: Option<&'a Integration>,
    ) -> Hook<'a, Option<i64>> {
        Box::pin(async { Ok(None) })
    }

    /// Before it is forgotten (Waymore: `Uninstall`).
    fn disconnect<'a>(&'a self, _pool: &'a PgPool, _integration: &'a Integration) -> Hook<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// The providers this build knows.
#[derive(Clone, Default)]
pub struct Catalog(Vec<Arc<dyn Provider>>);

impl FromIterator<Arc<dyn Provider>> for Catalog {
    fn from_iter<I: IntoIterator<Item = Arc<dyn Provider>>>(providers: I) -> Self {
        Catalog(providers.into_iter().collect())
    }
}

impl Catalog {
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.0.iter()
    }

    pub fn by_id(&self, id: Uuid) -> Option<&Arc<dyn Provider>> {
        self.0.iter().find(|p| p.about().provider_id == id)
    }

    pub fn by_code(&self, code: &str) -> Option<&Arc<dyn Provider>> {
        self.0.iter().find(|p| p.about().code == code)
    }
}

/// Checks what an owner gave against the provider's fields: unknown names, types, required
/// ones. On a change, what is left out keeps its stored value (secrets cannot be read back
/// to be sent again).
pub fn parse(
    about: &About,
    credentials: &Map<String, Value>,
    settings: &Map<String, Value>,
    stored: Option<&Configuration>,
) -> Result<Configuration, FieldError> {
    let mut configuration = stored.cloned().unwrap_or_default();
    for (section, given, fields) in [
        ("credentials", credentials, about.credentials),
        ("settings", settings, about.settings),
    ] {
        for (name, value) in given {
            let path = format!("{section}.{name}");
            let field = fields.iter().find(|f| f.name == name).ok_or_else(|| {
                let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                FieldError::new(
                    &path,
                    match known.is_empty() {
                        true => format!("{} takes no {section}", about.name),
                        false => {
                            format!("unknown field; {} takes {}", about.name, known.join(", "))
                        }
                    },
                )
            })?;
            let value =
                check_value(field, value).map_err(|problem| FieldError::new(&path, problem))?;
            let target = match (section, field.secret) {
                ("settings", _) => &mut configuration.settings,
                (_, true) => &mut configuration.secrets,
                (_, false) => &mut configuration.details,
            };
            match value {
                Value::Null => target.remove(name),
                value => target.insert(name.clone(), value),
            };
        }
        for field in fields.iter().filter(|f| f.required) {
            let present = configuration.secrets.contains_key(field.name)
                || configuration.details.contains_key(field.name)
                || configuration.settings.contains_key(field.name);
            if !present {
                return Err(FieldError::new(
                    format!("{section}.{}", field.name),
                    "required",
                ));
            }
        }
    }
    Ok(configuration)
}

const MAX_TEXT: usize = 2048;
const MAX_LIST: usize = 20;

fn check_value(field: &Field, value: &Value) -> Result<Value, String> {
    let text = |value: &Value| -> Result<String, String> {
        let text = value.as_str().ok_or("must be a string")?;
        if text.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
            return Err(format!(
                "at most {MAX_TEXT} characters, no control characters"
            ));
        }
        Ok(text.to_owned())
    };
    match (field.kind, value) {
        (_, Value::Null) if !field.required => Ok(Value::Null),
        (FieldType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (FieldType::Boolean, _) => Err("must be true or false".into()),
        (FieldType::String, _) => text(value).map(Value::String),
        (FieldType::HttpsUrl | FieldType::Url, _) => {
            let text = text(value)?;
            let https_only = field.kind == FieldType::HttpsUrl;
            let url = url::Url::parse(text.trim())
                .ok()
                .filter(|u| u.host_str().is_some())
                .filter(|u| u.scheme() == "https" || (!https_only && u.scheme() == "http"))
                .filter(|u| u.username().is_empty() && u.password().is_none())
                .ok_or(match https_only {
                    true => "must be an https:// URL",
                    false => "must be an http(s):// URL",
                })?;
            Ok(Value::String(url.as_str().trim_end_matches('/').to_owned()))
        }
        (FieldType::StringList, Value::String(_)) => {
            Ok(Value::Array(vec![Value::String(text(value)?)]))
        }
        (FieldType::StringList, Value::Array(items)) if (1..=MAX_LIST).contains(&items.len()) => {
            items
                .iter()
                .map(|item| text(item).map(Value::String))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (FieldType::StringList, _) => Err(format!("must be a list of 1 to {MAX_LIST} strings")),
    }
}

/// Settings as listed: every setting the provider takes, with its value or default.
pub fn shown_settings(about: &About, settings: &Map<String, Value>) -> BTreeMap<String, Value> {
    about
        .settings
        .iter()
        .map(|field| {
            let value = settings.get(field.name).cloned();
            let value = value.unwrap_or(match field.kind {
                FieldType::Boolean => Value::Bool(false),
                _ => Value::Null,
            });
            (field.name.to_owned(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ABOUT_FIELDS: &[Field] = &[
        Field::new("apiSecret", FieldType::String, "")
            .required()
            .secret(),
        Field::new("storeUrl", FieldType::HttpsUrl, "").required(),
    ];

    const SETTINGS: &[Field] = &[Field::new("sync", FieldType::Boolean, "")];

    fn about() -> About {
        About {
            provider_id: Uuid::nil(),
            code: "test",
            name: "Test",
            provider_type: ProviderType::Ecommerce,
            description: "",
            multiple: false,
            credentials: ABOUT_FIELDS,
            settings: SETTINGS,
        }
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn secret_fields_are_kept_apart_from_what_may_be_shown() {
        let c = parse(
            &about(),
            &map(json!({"apiSecret": "s3cret", "storeUrl": "https://shop.example.com/"})),
            &map(json!({"sync": true})),
            None,
        )
        .unwrap();
        assert_eq!(c.secrets["apiSecret"], "s3cret");
        assert_eq!(c.details["storeUrl"], "https://shop.example.com");
        assert!(c.flag("sync"));
    }

    #[test]
    fn errors_name_the_field() {
        let err = |credentials: Value, settings: Value| {
            parse(&about(), &map(credentials), &map(settings), None)
                .unwrap_err()
                .field
        };
        assert_eq!(
            err(json!({"storeUrl": "https://x.example"}), json!({})),
            "credentials.apiSecret"
        );
        assert_eq!(
            err(
                json!({"apiSecret": "s", "storeUrl": "http://x.example"}),
                json!({})
            ),
            "credentials.storeUrl"
        );
        assert_eq!(
            err(
                json!({"apiSecret": "s", "storeUrl": "https://x.example"}),
                json!({"sync": "yes"})
            ),
            "settings.sync"
        );
        assert_eq!(
            err(json!({"apiSecrett": "s"}), json!({})),
            "credentials.apiSecrett"
        );
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out() {
        let stored = parse(
            &about(),
            &map(json!({"apiSecret": "s3cret", "storeUrl": "https://a.example"})),
            &map(json!({})),
            None,
        )
        .unwrap();
        let changed = parse(
            &about(),
            &map(json!({"storeUrl": "https://b.example"})),
            &map(json!({"sync": true})),
            Some(&stored),
        )
        .unwrap();
        assert_eq!(changed.secrets["apiSecret"], "s3cret");
        assert_eq!(changed.details["storeUrl"], "https://b.example");
    }
}
