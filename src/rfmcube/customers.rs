//! The nightly customer crawl: one customer per row of `customers`, with its default
//! address and newsletter state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// JSON for each row of `base` (the page's customers); `key` is the paging column.
pub(super) const ROWS_SQL: &str = r#"
SELECT c.id, c.{date_column} AS key,
       json_build_object(
           'email', c.email,
           'id', c.id::text,
           'createdAt', utc_iso8601(c.created_at),
           'updatedAt', utc_iso8601(c.updated_at),
           'firstname', c.firstname,
           'lastname', c.lastname,
           'phone', c.phone,
           'birthday', to_char(c.birthday, 'YYYY-MM-DD'),
           'newsletter', coalesce(ns.subscribed, false),
           'city', a.city,
           'province', a.province,
           'country', a.country,
           'postcode', a.postcode) AS obj
FROM base c
LEFT JOIN customer_addresses a ON a.customer_id = c.id AND a.is_default
LEFT JOIN newsletter_subscriptions ns ON lower(ns.email) = lower(c.email)
"#;

/// A customer as Rfmcube receives it. Every field is always present, `null` when unknown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Customer {
    /// Rfmcube's primary key.
    #[schema(example = "maria.rossi.17@example.com")]
    pub email: String,
    #[schema(example = "17")]
    pub id: String,
    #[schema(example = "2025-03-01T10:15:00Z")]
    pub created_at: String,
    #[schema(example = "2025-03-04T08:00:12Z")]
    pub updated_at: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    /// `YYYY-MM-DD`
    #[schema(example = "1984-06-30")]
    pub birthday: Option<String>,
    /// Subscribed to the newsletter now.
    pub newsletter: bool,
    /// From the default address.
    pub city: Option<String>,
    pub province: Option<String>,
    pub country: Option<String>,
    pub postcode: Option<String>,
}
