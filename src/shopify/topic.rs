//! Webhook topics (`X-Shopify-Topic`) and which URL receives which.

use super::wire::{self, parse_body};

/// The two URLs registered in Shopify, as the seed asks: one for orders and fulfillments,
/// one for products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Orders,
    Products,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Orders => "/shopify/webhooks/orders",
            Endpoint::Products => "/shopify/webhooks/products",
        }
    }

    pub fn topics(self) -> &'static [&'static str] {
        match self {
            Endpoint::Orders => &ORDER_TOPICS,
            Endpoint::Products => &PRODUCT_TOPICS,
        }
    }
}

const ORDER_TOPICS: [&str; 8] = [
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "fulfillments/create",
    "fulfillments/update",
];
const PRODUCT_TOPICS: [&str; 3] = ["products/create", "products/update", "products/delete"];

/// A topic shopbridge applies; the name as Shopify sends it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Every order topic carries the whole order.
    Order(&'static str),
    Fulfillment(&'static str),
    Product(&'static str),
    ProductDeletion,
}

impl Topic {
    /// The topic named `name` if `endpoint` receives it.
    pub fn at(endpoint: Endpoint, name: &str) -> Option<Topic> {
        let name = *endpoint.topics().iter().find(|t| **t == name)?;
        Some(match name.split_once('/').map(|(subject, _)| subject) {
            Some("orders") => Topic::Order(name),
            Some("fulfillments") => Topic::Fulfillment(name),
            _ if name == "products/delete" => Topic::ProductDeletion,
            _ => Topic::Product(name),
        })
    }

    /// A topic as stored in the inbox.
    pub fn named(name: &str) -> Option<Topic> {
        Topic::at(Endpoint::Orders, name).or_else(|| Topic::at(Endpoint::Products, name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Topic::Order(name) | Topic::Fulfillment(name) | Topic::Product(name) => name,
            Topic::ProductDeletion => "products/delete",
        }
    }

    /// Whether `body` is this topic's payload; the message names the field at fault.
    pub fn check(self, body: &str) -> Result<(), String> {
        match self {
            Topic::Order(_) => parse_body::<wire::Order>(body).map(drop),
            Topic::Fulfillment(_) => parse_body::<wire::Fulfillment>(body).map(drop),
            Topic::Product(_) => parse_body::<wire::Product>(body).map(drop),
            Topic::ProductDeletion => parse_body::<wire::Deleted>(body).map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_takes_only_its_topics() {
        assert_eq!(
            Topic::at(Endpoint::Orders, "orders/create"),
            Some(Topic::Order("orders/create"))
        );
        assert_eq!(
            Topic::at(Endpoint::Orders, "fulfillments/update"),
            Some(Topic::Fulfillment("fulfillments/update"))
        );
        assert_eq!(Topic::at(Endpoint::Orders, "products/create"), None);
        assert_eq!(
            Topic::at(Endpoint::Products, "products/delete"),
            Some(Topic::ProductDeletion)
        );
        assert_eq!(Topic::at(Endpoint::Products, "orders/create"), None);
        assert_eq!(Topic::at(Endpoint::Products, "Products/Create"), None);
        assert_eq!(
            Topic::named("products/update").map(Topic::name),
            Some("products/update")
        );
    }
}
