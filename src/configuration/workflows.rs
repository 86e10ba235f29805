//! Workflows' settings, and the email relay their `send_email` actions use.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Env};

/// Where workflow emails go out.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `SMTP_URL`: `smtp://[user:password@]host[:port]` (STARTTLS required, port 587 by
    /// default) or `smtps://…` (TLS from the first byte, port 465). Plain SMTP is never
    /// used. Unset: `send_email` actions are held until it is set.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender, `Shop <shop@example.com>`.
    pub from: Option<String>,
    /// `SMTP_CA_FILE`: PEM certificate(s) trusted besides the system's (a private relay).
    pub ca_file: Option<PathBuf>,
    /// `SMTP_POOL_SIZE`: connections kept open to the relay.
    pub pool_size: u32,
    /// `SMTP_TIMEOUT_SECS`: the longest one message takes.
    pub timeout: Duration,
    /// `EMAIL_TEMPLATES_DIR`: templates that add to or override the built-in ones
    /// (`<name>.subject.txt`, `<name>.txt`, `<name>.html`).
    pub templates_dir: Option<PathBuf>,
}

impl EmailSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(EmailSettings {
            smtp_url: env.var("SMTP_URL"),
            from: env.var("MAIL_FROM"),
            ca_file: env.var("SMTP_CA_FILE").map(PathBuf::from),
            pool_size: env.parse("SMTP_POOL_SIZE", 16u32)?.max(1),
            timeout: Duration::from_secs(env.parse("SMTP_TIMEOUT_SECS", 30u64)?.max(1)),
            templates_dir: env.var("EMAIL_TEMPLATES_DIR").map(PathBuf::from),
        })
    }
}

#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// `WORKFLOW_RETRY_BUDGET`: tries of a failing action before its execution is paused.
    pub retry_budget: u32,
    /// `VAPID_SUBJECT`: the contact push services see in the VAPID JWT (`mailto:` or https).
    pub vapid_subject: String,
    /// `SHOP_NAME`: how emails sign (the shop's host name by default).
    pub shop_name: String,
    /// `SHOP_URL`, for templates' links.
    pub shop_url: String,
}

impl WorkflowSettings {
    pub fn from_env(env: &Env, shop_url: &reqwest::Url) -> Result<Self, ConfigError> {
        let host = shop_url.host_str().unwrap_or("localhost");
        Ok(WorkflowSettings {
            retry_budget: env.parse("WORKFLOW_RETRY_BUDGET", 5u32)?.max(1),
            vapid_subject: env
                .var("VAPID_SUBJECT")
                .unwrap_or_else(|| format!("mailto:shop@{host}")),
            shop_name: env.var("SHOP_NAME").unwrap_or_else(|| host.to_owned()),
            shop_url: shop_url.to_string(),
        })
    }
}
