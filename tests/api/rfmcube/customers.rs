use serde_json::json;

use shopbridge::rfmcube::Customer;

use super::{customers_at, post_ok};
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_customer_carries_the_contract_fields() {
    let app = spawn_app().await;
    let id: i64 = sqlx::query_scalar(
        "WITH c AS (
             INSERT INTO customers (email, firstname, lastname, phone, birthday, created_at, updated_at)
             VALUES ('Maria.Rossi@example.com', 'Maria', 'Rossi', '+39 02 1234', '1984-06-30',
                     '2025-03-01T10:15:00Z', '2025-03-01T10:15:00Z')
             RETURNING id),
         a AS (
             INSERT INTO customer_addresses (customer_id, is_default, city, province, country, postcode)
             SELECT id, true, 'Milan', 'MI', 'Italy', '20121' FROM c),
         other AS (
             INSERT INTO customer_addresses (customer_id, is_default, city, country)
             SELECT id, false, 'Rome', 'Italy' FROM c),
         n AS (
             INSERT INTO newsletter_subscriptions (email, customer_id, subscribed)
             SELECT 'maria.rossi@example.com', id, true FROM c)
         SELECT id FROM c",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let body = post_ok(&app, "/rfmcube/customers", &json!({})).await;
    let customers: Vec<Customer> = serde_json::from_value(body["customers"].clone()).unwrap();
    let c = &customers[0];
    assert_eq!(customers.len(), 1);
    assert_eq!(c.id, id.to_string());
    assert_eq!(c.email, "Maria.Rossi@example.com");
    assert_eq!(
        (c.firstname.as_deref(), c.lastname.as_deref()),
        (Some("Maria"), Some("Rossi"))
    );
    assert_eq!(c.phone.as_deref(), Some("+39 02 1234"));
    assert_eq!(c.birthday.as_deref(), Some("1984-06-30"));
    assert!(c.newsletter);
    assert_eq!(
        c.city.as_deref(),
        Some("Milan"),
        "the default address is used"
    );
    assert_eq!(c.province.as_deref(), Some("MI"));
    assert_eq!(c.country.as_deref(), Some("Italy"));
    assert_eq!(c.postcode.as_deref(), Some("20121"));
    assert_eq!(c.created_at, "2025-03-01T10:15:00Z");
    assert_ne!(
        c.updated_at, c.created_at,
        "adding addresses moved updated_at"
    );
    assert_eq!(body["total"], 1);
    assert_eq!(body["totalPages"], 1);
    assert_eq!(body["nextCursor"], json!(null));
}

#[tokio::test]
async fn a_customer_without_address_or_subscription_has_nulls_and_false() {
    let app = spawn_app().await;
    customers_at(&app.pool, 1, "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z").await;
    let body = post_ok(&app, "/rfmcube/customers", &json!({})).await;
    let c: Vec<Customer> = serde_json::from_value(body["customers"].clone()).unwrap();
    assert!(!c[0].newsletter);
    assert_eq!(
        (c[0].city.as_deref(), c[0].birthday.as_deref()),
        (None, None)
    );
}

#[tokio::test]
async fn timestamps_are_utc_with_second_precision_whatever_the_time_zones() {
    let app = spawn_app().await;
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"ALTER DATABASE "{db}" SET timezone TO 'Asia/Kolkata'"#
    )))
    .execute(&app.pool)
    .await
    .unwrap();
    // A shop writer in New York stores local wall-clock times, with fractions of a second.
    let mut writer = app.pool.acquire().await.unwrap();
    sqlx::query("SET TimeZone = 'America/New_York'")
        .execute(&mut *writer)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO customers (email, created_at, updated_at)
         VALUES ('ny@example.com', '2025-03-01 10:00:00.999', '2025-03-01 10:00:00.999')",
    )
    .execute(&mut *writer)
    .await
    .unwrap();
    let formatted: String = sqlx::query_scalar("SELECT utc_iso8601(created_at) FROM customers")
        .fetch_one(&mut *writer)
        .await
        .unwrap();
    assert_eq!(
        formatted, "2025-03-01T15:00:00Z",
        "formatting ignores the session's TimeZone"
    );

    let window = json!({"from": "2025-03-01T16:59:00+02:00", "to": "2025-03-01T10:01:00-05:00"});
    let body = post_ok(&app, "/rfmcube/customers", &window).await;
    assert_eq!(body["customers"][0]["createdAt"], "2025-03-01T15:00:00Z");
    assert_eq!(body["customers"][0]["updatedAt"], "2025-03-01T15:00:00Z");
}
