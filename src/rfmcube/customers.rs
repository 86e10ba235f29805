//! The nightly customer crawl: one customer per row of `customers`, with its default
//! address and newsletter state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer `c` as Rfmcube receives it, pulled or pushed, over the joins of
/// `customer_joins!()`.
macro_rules! customer_object {
    () => {
        r#"json_build_object(
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
           'postcode', a.postcode)"#
    };
}
pub(crate) use customer_object;

/// A customer's default address `a` and newsletter state `ns`: one index lookup per row
/// (LIMIT keeps the planner from turning these into joins that scan the whole table).
macro_rules! customer_joins {
    () => {
        r#"
LEFT JOIN LATERAL (
    SELECT * FROM customer_addresses a WHERE a.customer_id = c.id AND a.is_default LIMIT 1
) a ON true
LEFT JOIN LATERAL (
    SELECT ns.subscribed FROM newsletter_subscriptions ns
    WHERE lower(ns.email) = lower(c.email) LIMIT 1
) ns ON true
"#
    };
}
pub(crate) use customer_joins;

/// JSON for each row of `base` (the page's customers, at most 1000); `key` is the paging
/// column.
pub(super) const ROWS_SQL: &str = concat!(
    "SELECT c.id, c.{date_column} AS key, ",
    customer_object!(),
    " AS obj\nFROM base c",
    customer_joins!()
);

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
