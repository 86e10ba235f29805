//! A webhook destination to a local sink, added afresh by a benchmark.

use shopbridge::configuration::Settings;
use shopbridge::delivery::destinations::{self, DestinationName};
use shopbridge::events::EventPattern;
use shopbridge::outbound::address::{Allowlist, Guard, SystemLookup};
use shopbridge::webhook::{Config, WebhookKind};
use sqlx::PgPool;

/// Removes what an earlier run left of the destination `name`, then adds it anew, taking
/// `events`, to `url`, sealed with the key `settings` name (the service started after
/// refuses secrets sealed under another).
pub async fn replace(
    settings: &Settings,
    pool: &PgPool,
    name: &str,
    url: &str,
    events: &[&str],
) -> anyhow::Result<()> {
    remove(pool, name).await?;
    let events = events
        .iter()
        .map(|e| EventPattern::try_from(e.to_string()).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = serde_json::to_value(Config {
        url: url.to_owned(),
        secrets: Vec::new(),
        secret: None,
    })?;
    let name = DestinationName::parse(name)?;
    let vault = shopbridge::startup::open_vault(settings, pool).await?;
    let kind = WebhookKind::new(
        std::time::Duration::from_secs(30),
        Guard::new(Allowlist::default(), std::sync::Arc::new(SystemLookup)),
    );
    destinations::add(pool, &vault, &name, &kind, &events, config).await?;
    Ok(())
}

/// Removes the destination `name` with its deliveries, if there is one.
pub async fn remove(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM destinations WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}
