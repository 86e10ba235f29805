//! ONe in the integrations catalog: the HTTP Basic credentials ONe (and the operator opening
//! the sample-event page) presents.

use actix_web::HttpRequest;
use uuid::Uuid;

use crate::configuration::OneSettings;
use crate::http::auth::basic_accepted;
use crate::providers::live::{Live, Standing};
use crate::providers::{
    About, Configuration, Field, FieldError, FieldType, Provider, ProviderType,
};
use crate::secrets::BasicCredentials;

pub const CODE: &str = "one";

static ABOUT: About = About {
    provider_id: Uuid::from_u128(0x5f1c2b7e_8d4a_4c1e_9b36_0a7e51f0c004),
    code: CODE,
    name: "ONe",
    provider_type: ProviderType::Sales,
    description: "ONe's events (cart opened, client logged, offer opened), by webhook to \
                  /one/webhooks, and the sample-event page.",
    multiple: false,
    credentials: &[
        Field::new(
            "username",
            FieldType::String,
            "What ONe sends as the Basic username.",
        )
        .required(),
        Field::new(
            "password",
            FieldType::String,
            "What ONe sends as the Basic password.",
        )
        .required()
        .secret(),
    ],
    settings: &[],
};

pub struct OneProvider {
    /// `ONE_WEBHOOK_CREDENTIALS` is set.
    pub environment: bool,
}

impl Provider for OneProvider {
    fn about(&self) -> &About {
        &ABOUT
    }

    fn configured_by_environment(&self) -> bool {
        self.environment
    }

    fn check(&self, configuration: &Configuration) -> Result<(), FieldError> {
        if configuration
            .text("username")
            .is_some_and(|u| u.contains(':'))
        {
            return Err(FieldError::new(
                "credentials.username",
                "cannot hold `:` (HTTP Basic, RFC 7617)",
            ));
        }
        Ok(())
    }
}

/// Whether the request carries the credentials ONe must present: the integration's when it
/// is configured, `ONE_WEBHOOK_CREDENTIALS` when it is not. `None`: the integration is
/// disabled.
pub fn accepted(live: &Live, settings: &OneSettings, req: &HttpRequest) -> Option<bool> {
    match live.lookup(CODE) {
        Standing::Unconfigured => Some(basic_accepted(&settings.credentials, req)),
        Standing::Disabled => None,
        Standing::Active(configured) => {
            let text = |field: &str| {
                configured
                    .details
                    .get(field)
                    .or_else(|| configured.secrets.get(field))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let credentials = BasicCredentials::pair(&text("username"), &text("password"));
            Some(basic_accepted(&credentials, req))
        }
    }
}
