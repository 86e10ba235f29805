//! The queries and mutations shopbridge sends to the Admin API, their requested costs, and
//! the answers' shapes. Orders and products read here become the webhook payloads' types
//! ([`wire::Order`], [`wire::Product`]), so an imported object goes through the same
//! mapping as a webhook for it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::shopify::wire::{self, Amount, Timestamp};

/// Line items read with an order; an order with more is completed by [`ORDER_LINES`].
pub const LINES_PER_ORDER: i64 = 10;
/// Variants read with a product; a product with more is completed by [`PRODUCT_VARIANTS`].
pub const VARIANTS_PER_PRODUCT: i64 = 20;
/// What one page of a follow-up query reads.
pub const MORE_PER_PAGE: i64 = 100;

/// The most one query may ask for: Shopify refuses a query whose requested cost exceeds it.
pub const MAX_QUERY_COST: i64 = 1000;

/// Shopify's requested cost of a connection of `first` nodes, each costing `node`: 2 for
/// the connection, then each node.
pub const fn connection_cost(first: i64, node: i64) -> i64 {
    2 + first * node
}

pub const SHOP: &str = "query Shop { shop { name myshopifyDomain } }";
pub const SHOP_COST: i64 = 1;

#[derive(Debug, Deserialize)]
pub struct ShopData {
    pub shop: Shop,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    pub name: String,
    pub myshopify_domain: String,
}

pub const COUNTS: &str = r#"
query Counts($orders: String!) {
  ordersCount(query: $orders, limit: null) { count }
  productsCount(limit: null) { count }
}"#;
pub const COUNTS_COST: i64 = 2;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountsData {
    pub orders_count: Count,
    pub products_count: Count,
}

#[derive(Debug, Deserialize)]
pub struct Count {
    pub count: i64,
}

/// The fields read of a line item, in [`ORDERS`] and [`ORDER_LINES`].
macro_rules! line_fragment {
    () => {
        r#"
fragment Line on LineItem {
  id sku name title quantity
  originalUnitPriceSet { shopMoney { amount } }
  product { id }
  variant { id }
}"#
    };
}

pub const ORDERS: &str = concat!(
    r#"
query Orders($first: Int!, $query: String!, $lines: Int!) {
  orders(first: $first, sortKey: ID, query: $query) {
    nodes {
      id name email createdAt updatedAt processedAt cancelledAt currencyCode
      displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
      totalPriceSet { shopMoney { amount } }
      subtotalPriceSet { shopMoney { amount } }
      totalDiscountsSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } }
      totalShippingPriceSet { shopMoney { amount } }
      shippingLine { title }
      shippingAddress { ...Address }
      customer { id email firstName lastName phone createdAt defaultAddress { ...Address } }
      lineItems(first: $lines) { nodes { ...Line } pageInfo { hasNextPage endCursor } }
    }
  }
}
fragment Address on MailingAddress {
  firstName lastName company address1 address2 city province zip country phone
}"#,
    line_fragment!()
);

/// A line item: itself, its price (a bag and its money), its product and variant.
const LINE_COST: i64 = 5;
/// An order without its lines: itself, five prices, the shipping line, two addresses, the
/// customer.
const ORDER_COST: i64 = 1 + 5 * 2 + 1 + 2 + 1;

/// The requested cost of a page of `first` orders.
pub const fn orders_cost(first: i64) -> i64 {
    connection_cost(
        first,
        ORDER_COST + connection_cost(LINES_PER_ORDER, LINE_COST),
    )
}

pub const ORDER_LINES: &str = concat!(
    r#"
query OrderLines($id: ID!, $after: String, $first: Int!) {
  order(id: $id) {
    lineItems(first: $first, after: $after) { nodes { ...Line } pageInfo { hasNextPage endCursor } }
  }
}"#,
    line_fragment!()
);

pub const ORDER_LINES_COST: i64 = 1 + connection_cost(MORE_PER_PAGE, LINE_COST);
const _: () = assert!(ORDER_LINES_COST <= MAX_QUERY_COST);

#[derive(Debug, Deserialize)]
pub struct OrdersData {
    pub orders: Nodes<Order>,
}

#[derive(Debug, Deserialize)]
pub struct OrderLinesData {
    pub order: Option<OrderLines>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLines {
    pub line_items: Page<LineItem>,
}

#[derive(Debug, Deserialize)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub nodes: Vec<T>,
    pub page_info: PageInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// An object read with the first page of a list of its own that may go on (an order's line
/// items, a product's variants): how the rest is asked for, and what it all becomes.
pub trait Listed: DeserializeOwned {
    type Item: DeserializeOwned;
    /// The follow-up query's answer.
    type Rest: DeserializeOwned;
    type Wire;
    /// The kind in its global id.
    const KIND: &'static str;
    /// The follow-up query and its requested cost.
    const REST: (&'static str, i64);
    fn id(&self) -> Gid;
    /// The cursor after the first page, when the list goes on.
    fn rest_after(&mut self) -> Option<String>;
    fn rest_page(rest: Self::Rest) -> Option<Page<Self::Item>>;
    /// The object as its webhook carries it, `more` read after the first page.
    fn into_wire(self, more: Vec<Self::Item>) -> Self::Wire;
}

impl<T> Page<T> {
    /// The cursor to read on from, when there is more.
    pub fn take_next_cursor(&mut self) -> Option<String> {
        let info = &mut self.page_info;
        info.has_next_page.then(|| info.end_cursor.take()).flatten()
    }
}

/// A global id (`gid://shopify/Order/820982911946154508`): the number the webhooks carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gid(pub i64);

impl<'de> Deserialize<'de> for Gid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_prefix("gid://shopify/")
            .and_then(|rest| rest.rsplit('/').next())
            .and_then(|id| id.split('?').next())
            .and_then(|id| id.parse().ok())
            .map(Gid)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a Shopify id")))
    }
}

impl Gid {
    pub fn of(kind: &str, id: i64) -> String {
        format!("gid://shopify/{kind}/{id}")
    }

    /// The global id again, of an object of `kind`.
    pub fn global(self, kind: &str) -> String {
        Gid::of(kind, self.0)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: MoneyV2,
}

#[derive(Debug, Deserialize)]
pub struct MoneyV2 {
    pub amount: Amount,
}

#[derive(Debug, Deserialize)]
pub struct Titled {
    pub title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Identified {
    pub id: Gid,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: Gid,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub created_at: Option<Timestamp>,
    pub default_address: Option<Address>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: Gid,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub quantity: i32,
    pub original_unit_price_set: Option<MoneyBag>,
    pub product: Option<Identified>,
    pub variant: Option<Identified>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Gid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub processed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub currency_code: Option<String>,
    pub display_financial_status: Option<String>,
    pub display_fulfillment_status: Option<String>,
    #[serde(default)]
    pub payment_gateway_names: Vec<String>,
    pub total_price_set: Option<MoneyBag>,
    pub subtotal_price_set: Option<MoneyBag>,
    pub total_discounts_set: Option<MoneyBag>,
    pub total_tax_set: Option<MoneyBag>,
    pub total_shipping_price_set: Option<MoneyBag>,
    pub shipping_line: Option<Titled>,
    pub shipping_address: Option<Address>,
    pub customer: Option<Customer>,
    pub line_items: Page<LineItem>,
}

fn amount(bag: Option<MoneyBag>) -> Option<Amount> {
    bag.map(|bag| bag.shop_money.amount)
}

impl From<Address> for wire::Address {
    fn from(a: Address) -> Self {
        wire::Address {
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            province: a.province,
            zip: a.zip,
            country: a.country,
            phone: a.phone,
        }
    }
}

impl From<LineItem> for wire::LineItem {
    fn from(line: LineItem) -> Self {
        wire::LineItem {
            id: line.id.0,
            product_id: line.product.map(|p| p.id.0),
            variant_id: line.variant.map(|v| v.id.0),
            sku: line.sku,
            name: line.name,
            title: line.title,
            quantity: line.quantity,
            price: amount(line.original_unit_price_set),
        }
    }
}

impl Listed for Order {
    type Item = LineItem;
    type Rest = OrderLinesData;
    type Wire = wire::Order;
    const KIND: &'static str = "Order";
    const REST: (&'static str, i64) = (ORDER_LINES, ORDER_LINES_COST);

    fn id(&self) -> Gid {
        self.id
    }

    fn rest_after(&mut self) -> Option<String> {
        self.line_items.take_next_cursor()
    }

    fn rest_page(rest: OrderLinesData) -> Option<Page<LineItem>> {
        rest.order.map(|o| o.line_items)
    }

    fn into_wire(self, more_lines: Vec<LineItem>) -> wire::Order {
        let fulfillment_status = match self.display_fulfillment_status.as_deref() {
            Some("FULFILLED") => Some("fulfilled".to_owned()),
            Some("PARTIALLY_FULFILLED") => Some("partial".to_owned()),
            _ => None,
        };
        wire::Order {
            id: self.id.0,
            name: self.name,
            order_number: None,
            email: self.email,
            contact_email: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
            processed_at: self.processed_at,
            cancelled_at: self.cancelled_at,
            currency: self.currency_code,
            total_price: amount(self.total_price_set),
            subtotal_price: amount(self.subtotal_price_set),
            total_discounts: amount(self.total_discounts_set),
            total_tax: amount(self.total_tax_set),
            total_shipping_price_set: amount(self.total_shipping_price_set).map(|amount| {
                wire::PriceSet {
                    shop_money: Some(wire::Money { amount }),
                }
            }),
            financial_status: self
                .display_financial_status
                .map(|s| s.to_ascii_lowercase()),
            fulfillment_status,
            gateway: None,
            payment_gateway_names: self.payment_gateway_names,
            line_items: self
                .line_items
                .nodes
                .into_iter()
                .chain(more_lines)
                .map(Into::into)
                .collect(),
            shipping_lines: self
                .shipping_line
                .map(|line| wire::ShippingLine { title: line.title })
                .into_iter()
                .collect(),
            shipping_address: self.shipping_address.map(Into::into),
            customer: self.customer.map(|c| wire::Customer {
                id: Some(c.id.0),
                email: c.email,
                first_name: c.first_name,
                last_name: c.last_name,
                phone: c.phone,
                created_at: c.created_at,
                default_address: c.default_address.map(Into::into),
            }),
        }
    }
}

/// The fields read of a variant, in [`PRODUCTS`] and [`PRODUCT_VARIANTS`].
macro_rules! variant_fragment {
    () => {
        r#"
fragment Variant on ProductVariant {
  id sku price inventoryQuantity
  selectedOptions { name value }
  inventoryItem { tracked }
}"#
    };
}

pub const PRODUCTS: &str = concat!(
    r#"
query Products($first: Int!, $query: String!, $variants: Int!) {
  products(first: $first, sortKey: ID, query: $query) {
    nodes {
      id title descriptionHtml vendor productType createdAt updatedAt publishedAt status
      handle tags
      options { name position }
      featuredImage { url }
      variants(first: $variants) { nodes { ...Variant } pageInfo { hasNextPage endCursor } }
    }
  }
}"#,
    variant_fragment!()
);

/// A variant: itself, its selected options, its inventory item.
const VARIANT_COST: i64 = 3;
/// A product without its variants: itself, its options, its image.
const PRODUCT_COST: i64 = 3;

/// The requested cost of a page of `first` products.
pub const fn products_cost(first: i64) -> i64 {
    connection_cost(
        first,
        PRODUCT_COST + connection_cost(VARIANTS_PER_PRODUCT, VARIANT_COST),
    )
}

pub const PRODUCT_VARIANTS: &str = concat!(
    r#"
query ProductVariants($id: ID!, $after: String, $first: Int!) {
  product(id: $id) {
    variants(first: $first, after: $after) { nodes { ...Variant } pageInfo { hasNextPage endCursor } }
  }
}"#,
    variant_fragment!()
);

pub const PRODUCT_VARIANTS_COST: i64 = 1 + connection_cost(MORE_PER_PAGE, VARIANT_COST);
const _: () = assert!(PRODUCT_VARIANTS_COST <= MAX_QUERY_COST);

#[derive(Debug, Deserialize)]
pub struct ProductsData {
    pub products: Nodes<Product>,
}

#[derive(Debug, Deserialize)]
pub struct ProductVariantsData {
    pub product: Option<ProductVariants>,
}

#[derive(Debug, Deserialize)]
pub struct ProductVariants {
    pub variants: Page<Variant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: Gid,
    pub title: Option<String>,
    pub description_html: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    pub status: Option<String>,
    pub handle: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub options: Vec<ProductOption>,
    pub featured_image: Option<Image>,
    pub variants: Page<Variant>,
}

#[derive(Debug, Deserialize)]
pub struct ProductOption {
    pub name: Option<String>,
    pub position: Option<u8>,
}

#[derive(Debug, Deserialize)]
pub struct Image {
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub id: Gid,
    pub sku: Option<String>,
    pub price: Option<Amount>,
    pub inventory_quantity: Option<i32>,
    #[serde(default)]
    pub selected_options: Vec<SelectedOption>,
    pub inventory_item: Option<InventoryItem>,
}

#[derive(Debug, Deserialize)]
pub struct SelectedOption {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct InventoryItem {
    pub tracked: bool,
}

impl Listed for Product {
    type Item = Variant;
    type Rest = ProductVariantsData;
    type Wire = wire::Product;
    const KIND: &'static str = "Product";
    const REST: (&'static str, i64) = (PRODUCT_VARIANTS, PRODUCT_VARIANTS_COST);

    fn id(&self) -> Gid {
        self.id
    }

    fn rest_after(&mut self) -> Option<String> {
        self.variants.take_next_cursor()
    }

    fn rest_page(rest: ProductVariantsData) -> Option<Page<Variant>> {
        rest.product.map(|p| p.variants)
    }

    fn into_wire(self, more_variants: Vec<Variant>) -> wire::Product {
        let options = &self.options;
        // A variant's value for option 1, 2 or 3: the one named like the product's option
        // at that position.
        let value = |variant: &Variant, position: u8| {
            let name = options
                .iter()
                .find(|o| o.position == Some(position))?
                .name
                .as_deref()?;
            variant
                .selected_options
                .iter()
                .find(|selected| selected.name == name)
                .map(|selected| selected.value.clone())
        };
        let variants = self
            .variants
            .nodes
            .iter()
            .chain(&more_variants)
            .map(|variant| wire::Variant {
                id: variant.id.0,
                sku: variant.sku.clone(),
                price: variant.price.clone(),
                option1: value(variant, 1),
                option2: value(variant, 2),
                option3: value(variant, 3),
                inventory_management: variant
                    .inventory_item
                    .as_ref()
                    .is_some_and(|item| item.tracked)
                    .then(|| "shopify".to_owned()),
                inventory_quantity: variant.inventory_quantity,
            })
            .collect();
        let image = self
            .featured_image
            .map(|image| wire::Image { src: image.url });
        wire::Product {
            id: self.id.0,
            title: self.title,
            body_html: self.description_html,
            vendor: self.vendor,
            product_type: self.product_type,
            created_at: self.created_at,
            updated_at: self.updated_at,
            published_at: self.published_at,
            status: self.status.map(|s| s.to_ascii_lowercase()),
            handle: self.handle,
            tags: (!self.tags.is_empty()).then(|| self.tags.join(", ")),
            variants,
            options: self
                .options
                .into_iter()
                .map(|o| wire::ProductOption {
                    name: o.name,
                    position: o.position,
                })
                .collect(),
            images: image
                .iter()
                .map(|i| wire::Image { src: i.src.clone() })
                .collect(),
            image,
        }
    }
}

pub const WEBHOOK_SUBSCRIPTIONS: &str = r#"
query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}"#;

pub const WEBHOOK_SUBSCRIPTIONS_COST: i64 = connection_cost(100, 1);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionsData {
    pub webhook_subscriptions: Page<Subscription>,
}

#[derive(Debug, Deserialize)]
pub struct Subscription {
    /// The global id, as the delete mutation takes it.
    pub id: String,
    /// `ORDERS_CREATE`.
    pub topic: String,
    pub uri: Option<String>,
}

pub const WEBHOOK_SUBSCRIPTION_CREATE: &str = r#"
mutation SubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri, format: JSON }) {
    webhookSubscription { id }
    userErrors { field message }
  }
}"#;

pub const WEBHOOK_SUBSCRIPTION_DELETE: &str = r#"
mutation SubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"#;

/// Shopify's documented cost of a mutation.
pub const MUTATION_COST: i64 = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCreateData {
    pub webhook_subscription_create: Mutated<CreatedSubscription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSubscription {
    pub webhook_subscription: Option<Subscribed>,
}

#[derive(Debug, Deserialize)]
pub struct Subscribed {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionDeleteData {
    pub webhook_subscription_delete: Mutated<serde_json::Value>,
}

/// A mutation's answer: what it made, and the input it refused.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutated<T> {
    #[serde(flatten)]
    pub made: T,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
pub struct UserError {
    pub field: Option<Vec<String>>,
    pub message: String,
}

impl<T> Mutated<T> {
    /// What it made, or the refusal in words.
    pub fn made(self) -> Result<T, String> {
        if self.user_errors.is_empty() {
            return Ok(self.made);
        }
        Err(self
            .user_errors
            .iter()
            .map(|e| match &e.field {
                Some(field) => format!("{}: {}", field.join("."), e.message),
                None => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "))
    }
}

pub const ORDER_FULFILLMENT: &str = r#"
query OrderFulfillment($id: ID!) {
  order(id: $id) {
    fulfillments(first: 10) { id trackingInfo(first: 1) { number } }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}"#;

/// The order, its last fulfillments with their tracking, its fulfillment orders with their
/// location and lines.
pub const ORDER_FULFILLMENT_COST: i64 =
    1 + 10 * (1 + 1) + connection_cost(5, 1 + 2 + connection_cost(50, 2));
const _: () = assert!(ORDER_FULFILLMENT_COST <= MAX_QUERY_COST);

#[derive(Debug, Deserialize)]
pub struct OrderFulfillmentData {
    pub order: Option<OrderFulfillment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    #[serde(default)]
    pub fulfillments: Vec<Fulfillment>,
    pub fulfillment_orders: Nodes<FulfillmentOrder>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fulfillment {
    pub id: Gid,
    #[serde(default)]
    pub tracking_info: Vec<TrackingNumber>,
}

#[derive(Debug, Deserialize)]
pub struct TrackingNumber {
    pub number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrder {
    pub id: String,
    /// `OPEN`, `IN_PROGRESS`, `CLOSED` …
    pub status: String,
    pub assigned_location: Option<AssignedLocation>,
    pub line_items: Nodes<FulfillmentOrderLine>,
}

#[derive(Debug, Deserialize)]
pub struct AssignedLocation {
    pub location: Option<Identified>,
}

impl FulfillmentOrder {
    /// The location it ships from, if Shopify says.
    pub fn location(&self) -> Option<i64> {
        self.assigned_location
            .as_ref()?
            .location
            .as_ref()
            .map(|l| l.id.0)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLine {
    pub id: String,
    pub remaining_quantity: i32,
    pub line_item: Identified,
}

pub const FULFILLMENT_CREATE: &str = r#"
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id }
    userErrors { field message }
  }
}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreateData {
    pub fulfillment_create: Mutated<CreatedFulfillment>,
}

#[derive(Debug, Deserialize)]
pub struct CreatedFulfillment {
    pub fulfillment: Option<Identified>,
}

pub const TRACKING_UPDATE: &str = r#"
mutation TrackingUpdate($id: ID!, $tracking: FulfillmentTrackingInput!) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $tracking, notifyCustomer: false) {
    fulfillment { id }
    userErrors { field message }
  }
}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingUpdateData {
    pub fulfillment_tracking_info_update: Mutated<CreatedFulfillment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_become_the_webhooks_numbers() {
        let gid: Gid = serde_json::from_str(r#""gid://shopify/Order/820982911946154508""#).unwrap();
        assert_eq!(gid, Gid(820_982_911_946_154_508));
        assert!(serde_json::from_str::<Gid>(r#""820982911946154508""#).is_err());
        assert!(serde_json::from_str::<Gid>(r#""gid://shopify/Order/abc""#).is_err());
        assert_eq!(Gid::of("Order", 7), "gid://shopify/Order/7");
    }

    #[test]
    fn an_order_read_from_the_api_is_the_webhooks_order() {
        let order: Order = serde_json::from_value(serde_json::json!({
            "id": "gid://shopify/Order/5", "name": "#1001", "email": "a@b.c",
            "updatedAt": "2026-01-02T03:04:05Z", "currencyCode": "EUR",
            "displayFinancialStatus": "PARTIALLY_REFUNDED",
            "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
            "totalPriceSet": {"shopMoney": {"amount": "12.50"}},
            "customer": {"id": "gid://shopify/Customer/9", "email": "a@b.c"},
            "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/3", "quantity": 2,
                "originalUnitPriceSet": {"shopMoney": {"amount": "6.25"}},
                "variant": {"id": "gid://shopify/ProductVariant/4"}}],
                "pageInfo": {"hasNextPage": false, "endCursor": null}}
        }))
        .unwrap();
        let wire = order.into_wire(vec![]);
        assert_eq!(wire.id, 5);
        assert_eq!(wire.financial_status.as_deref(), Some("partially_refunded"));
        assert_eq!(wire.fulfillment_status.as_deref(), Some("partial"));
        assert_eq!(wire.total_price.unwrap().as_str(), "12.50");
        assert_eq!(wire.customer.unwrap().id, Some(9));
        assert_eq!(wire.line_items[0].variant_id, Some(4));
        assert_eq!(wire.line_items[0].price.as_ref().unwrap().as_str(), "6.25");
    }
}
