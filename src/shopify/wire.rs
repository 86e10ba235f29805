//! Shopify's webhook payloads as they arrive (seed 003): only the fields shopbridge maps,
//! each optional unless an object cannot be identified without it. Ids are `i64` (Shopify's
//! exceed 2^53, so they never pass through a float); amounts stay the decimal strings
//! Shopify sends.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer};

pub type Timestamp = DateTime<FixedOffset>;

/// `orders/create`, `orders/updated`, … : the whole order.
#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: i64,
    /// The reference the customer sees, `#1001`.
    pub name: Option<String>,
    pub order_number: Option<i64>,
    pub email: Option<String>,
    pub contact_email: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub processed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub currency: Option<String>,
    pub total_price: Option<Amount>,
    pub subtotal_price: Option<Amount>,
    pub total_discounts: Option<Amount>,
    pub total_tax: Option<Amount>,
    pub total_shipping_price_set: Option<PriceSet>,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub gateway: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub payment_gateway_names: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub line_items: Vec<LineItem>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub shipping_lines: Vec<ShippingLine>,
    pub shipping_address: Option<Address>,
    pub customer: Option<Customer>,
}

#[derive(Debug, Deserialize)]
pub struct LineItem {
    pub id: i64,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub quantity: i32,
    /// The unit price.
    pub price: Option<Amount>,
}

#[derive(Debug, Deserialize)]
pub struct ShippingLine {
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PriceSet {
    pub shop_money: Option<Money>,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    pub amount: Amount,
}

#[derive(Debug, Deserialize)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: Option<i64>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub created_at: Option<Timestamp>,
    pub default_address: Option<Address>,
}

/// `fulfillments/create`, `fulfillments/update`.
#[derive(Debug, Deserialize)]
pub struct Fulfillment {
    pub id: i64,
    pub order_id: i64,
    pub status: Option<String>,
    pub shipment_status: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tracking_numbers: Vec<String>,
    pub tracking_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tracking_urls: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub line_items: Vec<FulfilledLine>,
}

#[derive(Debug, Deserialize)]
pub struct FulfilledLine {
    /// The order's line item.
    pub id: i64,
    pub quantity: i32,
}

/// `products/create`, `products/update`.
#[derive(Debug, Deserialize)]
pub struct Product {
    pub id: i64,
    pub title: Option<String>,
    pub body_html: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    /// `active`, `archived` or `draft` (newer API versions).
    pub status: Option<String>,
    pub handle: Option<String>,
    /// Comma-separated.
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub variants: Vec<Variant>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<ProductOption>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub images: Vec<Image>,
    pub image: Option<Image>,
}

#[derive(Debug, Deserialize)]
pub struct Variant {
    pub id: i64,
    pub sku: Option<String>,
    pub price: Option<Amount>,
    pub option1: Option<String>,
    pub option2: Option<String>,
    pub option3: Option<String>,
    /// Null when Shopify does not track this variant's stock.
    pub inventory_management: Option<String>,
    pub inventory_quantity: Option<i32>,
}

/// A product's option axis: its name (`Size`, `Color`) and position (1–3).
#[derive(Debug, Deserialize)]
pub struct ProductOption {
    pub name: Option<String>,
    pub position: Option<u8>,
}

#[derive(Debug, Deserialize)]
pub struct Image {
    pub src: Option<String>,
}

/// `products/delete`: only the id.
#[derive(Debug, Deserialize)]
pub struct Deleted {
    pub id: i64,
}

/// A decimal amount as Shopify writes it (`"19.99"`); numbers are accepted too. Kept as
/// text and handed to PostgreSQL's `numeric`, never through a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Number(serde_json::Number),
        }
        let text = match Written::deserialize(deserializer)? {
            Written::Text(text) => text,
            Written::Number(number) => number.to_string(),
        };
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        let decimal = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if decimal(whole) && decimal(fraction) && whole.len() <= 10 {
            Ok(Amount(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "{text:?} is not an amount such as \"19.99\""
            )))
        }
    }
}

/// A string Shopify sent with something in it, trimmed; blank and null are both absent.
pub fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses a body as a wire type; the message names the field at fault.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| match e.path().to_string() {
        path if path == "." => format!("{}", e.inner()),
        path => format!("{path}: {}", e.inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_text() {
        let amount: Amount = serde_json::from_str(r#""403.00""#).unwrap();
        assert_eq!(amount.as_str(), "403.00");
        let amount: Amount = serde_json::from_str("19.5").unwrap();
        assert_eq!(amount.as_str(), "19.5");
        for bad in [
            r#""""#,
            r#""1e5""#,
            r#""12,50""#,
            r#""NaN""#,
            r#""99999999999.00""#,
        ] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_beyond_two_to_the_53_keep_every_digit() {
        let order: Order = serde_json::from_str(
            r#"{"id": 820982911946154508, "line_items": null, "customer": {"id": 115310627314723954}}"#,
        )
        .unwrap();
        assert_eq!(order.id, 820_982_911_946_154_508);
        assert_eq!(order.customer.unwrap().id, Some(115_310_627_314_723_954));
        assert!(order.line_items.is_empty());
    }
}
