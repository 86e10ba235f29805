//! The payloads of the shop's domain events, as the triggers record them (see the
//! `*_snapshot()` functions and triggers in `migrations/*_event_log.sql`). Integrations
//! parse an event's payload into these types and map them to their own wire shapes.
//!
//! Ids are numbers, money is a JSON number with the database's precision, timestamps are
//! UTC `YYYY-MM-DDTHH:MM:SSZ`, dates `YYYY-MM-DD`.

use serde::Deserialize;
use serde_json::Number;

/// `customer.created`, `customer.updated`.
#[derive(Debug, Deserialize)]
pub struct CustomerSnapshot {
    pub customer: Customer,
    /// Default address first.
    pub addresses: Vec<Address>,
}

#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub email: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Address {
    pub company: Option<String>,
    pub address1: String,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
}

/// `cart.updated`: the cart as committed.
#[derive(Debug, Deserialize)]
pub struct CartSnapshot {
    pub cart: Cart,
    pub items: Vec<CartItem>,
}

#[derive(Debug, Deserialize)]
pub struct Cart {
    pub customer_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct CartItem {
    pub product_id: i64,
    pub option_id: Option<i64>,
    pub quantity: i32,
}

/// `product.created`, `product.updated`.
#[derive(Debug, Deserialize)]
pub struct ProductSnapshot {
    pub product: Product,
    pub categories: Vec<String>,
    pub discount: Option<Discount>,
    pub options: Vec<ProductOption>,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub short_description: String,
    pub price: Number,
    pub stock_quantity: i32,
    pub image_url: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ProductOption {
    pub id: i64,
    pub size: Option<String>,
    pub color: Option<String>,
    pub stock_quantity: Option<i32>,
    /// None when the option has the product's price.
    pub price: Option<Number>,
    pub discount: Option<Discount>,
}

#[derive(Debug, Deserialize)]
pub struct Discount {
    pub price: Number,
    pub date_start: Option<String>,
    pub date_end: Option<String>,
    pub min_quantity: Option<i32>,
}

/// `product.stock_changed` (`option_id` None for the product's own stock).
#[derive(Debug, Deserialize)]
pub struct StockChanged {
    pub product_id: i64,
    pub option_id: Option<i64>,
    pub stock_quantity: Option<i32>,
}

/// `product.out_of_stock`.
#[derive(Debug, Deserialize)]
pub struct OutOfStock {
    pub product_id: i64,
    pub option_id: Option<i64>,
}

/// `order.created`: the order with its buyer (None for a guest) and items.
#[derive(Debug, Deserialize)]
pub struct OrderSnapshot {
    pub order: Order,
    pub customer: Option<OrderCustomer>,
    pub newsletter: bool,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: i64,
    pub status_label: String,
    pub customer_id: Option<i64>,
    pub customer_email: String,
    pub payment_method: Option<String>,
    pub shipping_method: Option<String>,
    pub total: Number,
    pub delivery: Delivery,
}

#[derive(Debug, Deserialize)]
pub struct Delivery {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderCustomer {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderItem {
    pub product_id: Option<i64>,
    pub option_id: Option<i64>,
    pub quantity: i32,
}

/// `order.status_changed`.
#[derive(Debug, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: i64,
    pub customer_id: Option<i64>,
    pub status_label: String,
}

/// `order.payment_confirmed`.
#[derive(Debug, Deserialize)]
pub struct OrderPaymentConfirmed {
    pub order_id: i64,
    pub customer_id: Option<i64>,
}

/// `wishlist.added`, `wishlist.removed`.
#[derive(Debug, Deserialize)]
pub struct WishlistChanged {
    pub customer_id: i64,
    pub product_id: i64,
}

/// `newsletter.changed`.
#[derive(Debug, Deserialize)]
pub struct NewsletterChanged {
    pub email: String,
    pub customer_id: Option<i64>,
    pub subscribed: bool,
}

/// `search.recorded`.
#[derive(Debug, Deserialize)]
pub struct SearchRecorded {
    pub customer_id: Option<i64>,
    pub query: String,
}
