//! The benchmark shop connected to Waymore, as `POST /waymore/connect` leaves it (without
//! asking Waymore): the account's UUID sealed with the destination's config.

use shopbridge::configuration::Settings;
use shopbridge::delivery::destinations;
use sqlx::PgPool;

pub async fn connect(pool: &PgPool, settings: &Settings) -> anyhow::Result<()> {
    let vault = shopbridge::startup::open_vault(settings, pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM waymore_connection")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO waymore_connection (uuid_hint, username, cart_url)
         VALUES ('benc…uuid', 'bench', 'https://shop.test/cart')",
    )
    .execute(&mut *tx)
    .await?;
    let mut account = serde_json::Map::new();
    account.insert("uuid".into(), "bench-uuid".into());
    destinations::seal_secrets(&mut tx, &vault, "waymore", &account).await?;
    tx.commit().await?;
    Ok(())
}
