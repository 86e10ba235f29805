//! ONe's settings.

use std::time::Duration;

use super::{ConfigError, Env};
use crate::secrets::BasicCredentials;

#[derive(Debug, Clone, Default)]
pub struct OneSettings {
    /// `ONE_WEBHOOK_CREDENTIALS`: what ONe (and the operator opening the page) must present;
    /// none configured refuses every request.
    pub credentials: BasicCredentials,
    /// `ONE_EVENT_RETENTION`: received events are deleted after this long.
    pub retention: Duration,
}

impl OneSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(OneSettings {
            credentials: BasicCredentials::parse(
                &env.var("ONE_WEBHOOK_CREDENTIALS").unwrap_or_default(),
            )
            .map_err(|problem| ConfigError {
                variable: "ONE_WEBHOOK_CREDENTIALS",
                problem,
            })?,
            retention: env.duration("ONE_EVENT_RETENTION", Duration::from_secs(30 * 86400))?,
        })
    }
}
