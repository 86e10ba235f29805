//! What can start a workflow: one trigger per event-log event, grouped by the seed's entity
//! types, each with a guid that never changes and the payload fields conditions may test.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The seed's entity types, spelt as in its paths (`/api/workflows/triggers/Order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum EntityType {
    Order,
    Shipment,
    Customer,
    Product,
}

impl EntityType {
    pub const ALL: [EntityType; 4] = [
        EntityType::Order,
        EntityType::Shipment,
        EntityType::Customer,
        EntityType::Product,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Order => "Order",
            EntityType::Shipment => "Shipment",
            EntityType::Customer => "Customer",
            EntityType::Product => "Product",
        }
    }

    /// As in the seed; lowercase too, since URLs are often typed so.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }

    /// The object its events' payloads nest the entity's fields in (`{"order": {…}}`).
    fn payload_object(self) -> &'static str {
        match self {
            EntityType::Order => "order",
            EntityType::Shipment => "shipment",
            EntityType::Customer => "customer",
            EntityType::Product => "product",
        }
    }
}

/// One trigger of the catalog.
#[derive(Debug)]
pub struct Trigger {
    pub code: &'static str,
    /// The event-log event it fires on.
    pub event: &'static str,
    pub entity_type: EntityType,
    pub name: &'static str,
    pub description: &'static str,
    /// The payload fields conditions and templates may use: dotted paths, where fields of
    /// the entity's own object are named without it (`status` for `shipment.status`). A
    /// field ending in `.*` opens everything below it.
    pub fields: &'static [&'static str],
}

/// Namespace of the triggers' guids: a guid is derived from the code, so it is the same in
/// every shopbridge and never changes.
const NAMESPACE: Uuid = Uuid::from_u128(0x8e7d_5a01_4c2b_4f3a_9d61_2b3c_4d5e_6f70);

impl Trigger {
    pub fn guid(&self) -> Uuid {
        Uuid::new_v5(&NAMESPACE, self.code.as_bytes())
    }

    /// Whether conditions may test `field`.
    pub fn has_field(&self, field: &str) -> bool {
        self.fields
            .iter()
            .any(|known| match known.strip_suffix(".*") {
                Some(prefix) => field
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
                None => *known == field,
            })
    }

    /// The value of `field` in an event's payload: at the top, or in the entity's object.
    pub fn value<'p>(
        &self,
        payload: &'p serde_json::Value,
        field: &str,
    ) -> Option<&'p serde_json::Value> {
        lookup(payload, field).or_else(|| {
            payload
                .get(self.entity_type.payload_object())
                .and_then(|object| lookup(object, field))
        })
    }
}

fn lookup<'p>(value: &'p serde_json::Value, path: &str) -> Option<&'p serde_json::Value> {
    path.split('.')
        .try_fold(value, |value, key| value.get(key))
        .filter(|value| !value.is_null())
}

const ORDER_SNAPSHOT: &[&str] = &[
    "id",
    "reference",
    "status",
    "status_label",
    "customer_id",
    "customer_email",
    "payment_state",
    "payment_method",
    "shipping_method",
    "currency",
    "total",
    "created_at",
    "delivery.*",
    "customer.id",
    "customer.email",
    "customer.firstname",
    "customer.lastname",
    "customer.phone",
    "newsletter",
    "items",
];
const ORDER_CHANGE: &[&str] = &[
    "order_id",
    "customer_id",
    "status",
    "status_label",
    "previous_status",
];
const SHIPMENT: &[&str] = &[
    "id",
    "order_id",
    "status",
    "previous_status",
    "carrier",
    "tracking_number",
    "tracking_url",
    "shipped_at",
    "delivered_at",
    "items",
];
const CUSTOMER: &[&str] = &[
    "id",
    "email",
    "firstname",
    "lastname",
    "phone",
    "birthday",
    "created_at",
    "updated_at",
    "addresses",
];
const ONE: &[&str] = &[
    "customerId",
    "cartId",
    "offerId",
    "oneEventId",
    "receivedAt",
    "raw.*",
];
const PRODUCT: &[&str] = &[
    "id",
    "sku",
    "name",
    "description",
    "short_description",
    "brand",
    "price",
    "stock_quantity",
    "image_url",
    "url",
    "active",
    "categories",
    "discount.*",
    "options",
];
const STOCK: &[&str] = &[
    "product_id",
    "option_id",
    "stock_quantity",
    "previous_stock_quantity",
    "product.id",
    "product.sku",
    "product.name",
    "product.price",
    "product.url",
    "product.image_url",
];

pub static TRIGGERS: &[Trigger] = &[
    Trigger {
        code: "order_created",
        event: "order.created",
        entity_type: EntityType::Order,
        name: "Order Created",
        description: "Fires when a new order is created",
        fields: ORDER_SNAPSHOT,
    },
    Trigger {
        code: "order_status_changed",
        event: "order.status_changed",
        entity_type: EntityType::Order,
        name: "Order Status Changed",
        description: "Fires when order status changes",
        fields: ORDER_CHANGE,
    },
    Trigger {
        code: "order_payment_confirmed",
        event: "order.payment_confirmed",
        entity_type: EntityType::Order,
        name: "Order Payment Confirmed",
        description: "Fires once when an order's payment is confirmed",
        fields: &["order_id", "customer_id"],
    },
    Trigger {
        code: "shipment_created",
        event: "shipment.created",
        entity_type: EntityType::Shipment,
        name: "Shipment Created",
        description: "Fires when a shipment is created for an order",
        fields: SHIPMENT,
    },
    Trigger {
        code: "shipment_updated",
        event: "shipment.updated",
        entity_type: EntityType::Shipment,
        name: "Shipment Updated",
        description: "Fires when a shipment's status, carrier or tracking changes",
        fields: SHIPMENT,
    },
    Trigger {
        code: "shipment_shipped",
        event: "shipment.shipped",
        entity_type: EntityType::Shipment,
        name: "Shipment Shipped",
        description: "Fires once when a shipment's status becomes shipped",
        fields: SHIPMENT,
    },
    Trigger {
        code: "shipment_delivered",
        event: "shipment.delivered",
        entity_type: EntityType::Shipment,
        name: "Shipment Delivered",
        description: "Fires once when a shipment's status becomes delivered",
        fields: SHIPMENT,
    },
    Trigger {
        code: "customer_created",
        event: "customer.created",
        entity_type: EntityType::Customer,
        name: "Customer Created",
        description: "Fires when a customer registers",
        fields: CUSTOMER,
    },
    Trigger {
        code: "customer_updated",
        event: "customer.updated",
        entity_type: EntityType::Customer,
        name: "Customer Updated",
        description: "Fires when a customer's details or addresses change",
        fields: CUSTOMER,
    },
    Trigger {
        code: "cart_opened",
        event: "customer.cart_opened",
        entity_type: EntityType::Customer,
        name: "Cart Opened",
        description: "Fires when ONe reports a customer opened their cart",
        fields: ONE,
    },
    Trigger {
        code: "client_logged",
        event: "customer.logged_in",
        entity_type: EntityType::Customer,
        name: "Client Logged",
        description: "Fires when ONe reports a customer logged in",
        fields: ONE,
    },
    Trigger {
        code: "offer_opened",
        event: "customer.offer_opened",
        entity_type: EntityType::Customer,
        name: "Offer Opened",
        description: "Fires when ONe reports a customer opened an offer",
        fields: ONE,
    },
    Trigger {
        code: "product_created",
        event: "product.created",
        entity_type: EntityType::Product,
        name: "Product Created",
        description: "Fires when a product is added to the catalog",
        fields: PRODUCT,
    },
    Trigger {
        code: "product_updated",
        event: "product.updated",
        entity_type: EntityType::Product,
        name: "Product Updated",
        description: "Fires when a product's details change",
        fields: PRODUCT,
    },
    Trigger {
        code: "product_out_of_stock",
        event: "product.out_of_stock",
        entity_type: EntityType::Product,
        name: "Product Out of Stock",
        description: "Fires once when a product's (or option's) stock falls to 0",
        fields: &["product_id", "option_id"],
    },
    Trigger {
        code: "product_back_in_stock",
        event: "product.back_in_stock",
        entity_type: EntityType::Product,
        name: "Product Back in Stock",
        description: "Fires once when a product's (or option's) stock rises above 0 again",
        fields: STOCK,
    },
];

pub fn of_entity(entity_type: EntityType) -> impl Iterator<Item = &'static Trigger> {
    TRIGGERS
        .iter()
        .filter(move |t| t.entity_type == entity_type)
}

/// By guid or by code: the seed's `triggerId` is the guid; the code reads better in a script.
pub fn find(id: &str) -> Option<&'static Trigger> {
    let guid = Uuid::parse_str(id.trim()).ok();
    TRIGGERS
        .iter()
        .find(|t| Some(t.guid()) == guid || t.code == id.trim())
}

pub fn by_code(code: &str) -> Option<&'static Trigger> {
    TRIGGERS.iter().find(|t| t.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trigger_guids_are_distinct_and_stable() {
        let guids: std::collections::HashSet<Uuid> = TRIGGERS.iter().map(Trigger::guid).collect();
        assert_eq!(guids.len(), TRIGGERS.len());
        // As the OpenAPI examples show them.
        for (code, guid) in [
            ("order_created", "150a55bf-4fb5-5e4f-8ec0-9723ea47ea85"),
            ("shipment_delivered", "20ffb2ee-e82f-5833-a365-0a10df00555d"),
        ] {
            assert_eq!(by_code(code).unwrap().guid().to_string(), guid);
        }
    }

    #[test]
    fn fields_are_found_at_the_top_or_in_the_entity_s_object() {
        let trigger = by_code("shipment_delivered").unwrap();
        let payload = json!({"shipment": {"status": "delivered"}, "previous_status": "shipped"});
        assert_eq!(trigger.value(&payload, "status"), Some(&json!("delivered")));
        assert_eq!(
            trigger.value(&payload, "previous_status"),
            Some(&json!("shipped"))
        );
        assert!(trigger.has_field("status") && !trigger.has_field("total"));
        let one = by_code("cart_opened").unwrap();
        assert!(one.has_field("raw.cart.total") && !one.has_field("raw."));
    }
}
