//! The reference relations: the tables shopbridge's readers query by name. A mapping defines
//! them as views over the shop's own tables, in the mapping's schema; a relation it leaves
//! out is an empty view of the same shape, so the shop simply has none of that entity.

/// A column's type: an SQL type, or the key type of a relation (its `id`), which follows
/// the shop (bigint, text, uuid…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Sql(&'static str),
    /// The key of the named relation; `None` for the relation's own key.
    Key(Option<&'static str>),
}

pub struct Relation {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Type)],
}

use Type::{Key, Sql};

pub const RELATIONS: &[Relation] = &[
    Relation {
        name: "brands",
        columns: &[
            ("id", Key(None)),
            ("name", Sql("text")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "cart_items",
        columns: &[
            ("id", Key(None)),
            ("cart_id", Key(Some("carts"))),
            ("product_id", Key(Some("products"))),
            ("option_id", Key(Some("product_options"))),
            ("quantity", Sql("integer")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "carts",
        columns: &[
            ("id", Key(None)),
            ("customer_id", Key(Some("customers"))),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "categories",
        columns: &[
            ("id", Key(None)),
            ("parent_id", Key(Some("categories"))),
            ("name", Sql("text")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "customer_addresses",
        columns: &[
            ("id", Key(None)),
            ("customer_id", Key(Some("customers"))),
            ("is_default", Sql("boolean")),
            ("company", Sql("text")),
            ("address1", Sql("text")),
            ("address2", Sql("text")),
            ("city", Sql("text")),
            ("province", Sql("text")),
            ("postcode", Sql("text")),
            ("country", Sql("text")),
            ("phone", Sql("text")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "customers",
        columns: &[
            ("id", Key(None)),
            ("email", Sql("text")),
            ("firstname", Sql("text")),
            ("lastname", Sql("text")),
            ("phone", Sql("text")),
            ("birthday", Sql("date")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "discounts",
        columns: &[
            ("id", Key(None)),
            ("product_id", Key(Some("products"))),
            ("option_id", Key(Some("product_options"))),
            ("price", Sql("numeric")),
            ("date_start", Sql("timestamptz")),
            ("date_end", Sql("timestamptz")),
            ("min_quantity", Sql("integer")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "newsletter_subscriptions",
        columns: &[
            ("id", Key(None)),
            ("email", Sql("text")),
            ("customer_id", Key(Some("customers"))),
            ("subscribed", Sql("boolean")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "order_items",
        columns: &[
            ("id", Key(None)),
            ("order_id", Key(Some("orders"))),
            ("product_id", Key(Some("products"))),
            ("option_id", Key(Some("product_options"))),
            ("sku", Sql("text")),
            ("name", Sql("text")),
            ("quantity", Sql("integer")),
            ("price", Sql("numeric")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "order_statuses",
        columns: &[
            ("code", Sql("text")),
            ("label", Sql("text")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "orders",
        columns: &[
            ("id", Key(None)),
            ("reference", Sql("text")),
            ("customer_id", Key(Some("customers"))),
            ("customer_email", Sql("text")),
            ("status", Sql("text")),
            ("payment_state", Sql("text")),
            ("payment_confirmed_at", Sql("timestamptz")),
            ("payment_method", Sql("text")),
            ("shipping_method", Sql("text")),
            ("currency", Sql("text")),
            ("total", Sql("numeric")),
            ("delivery_firstname", Sql("text")),
            ("delivery_lastname", Sql("text")),
            ("delivery_company", Sql("text")),
            ("delivery_address1", Sql("text")),
            ("delivery_address2", Sql("text")),
            ("delivery_city", Sql("text")),
            ("delivery_province", Sql("text")),
            ("delivery_postcode", Sql("text")),
            ("delivery_country", Sql("text")),
            ("delivery_phone", Sql("text")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
            ("subtotal", Sql("numeric")),
            ("discount_total", Sql("numeric")),
            ("shipping_total", Sql("numeric")),
            ("tax_total", Sql("numeric")),
        ],
    },
    Relation {
        name: "product_categories",
        columns: &[
            ("product_id", Key(Some("products"))),
            ("category_id", Key(Some("categories"))),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "product_options",
        columns: &[
            ("id", Key(None)),
            ("product_id", Key(Some("products"))),
            ("sku", Sql("text")),
            ("size", Sql("text")),
            ("color", Sql("text")),
            ("stock_quantity", Sql("integer")),
            ("price", Sql("numeric")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "products",
        columns: &[
            ("id", Key(None)),
            ("sku", Sql("text")),
            ("name", Sql("text")),
            ("description", Sql("text")),
            ("short_description", Sql("text")),
            ("brand_id", Key(Some("brands"))),
            ("price", Sql("numeric")),
            ("stock_quantity", Sql("integer")),
            ("image_url", Sql("text")),
            ("url", Sql("text")),
            ("active", Sql("boolean")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "search_queries",
        columns: &[
            ("id", Key(None)),
            ("customer_id", Key(Some("customers"))),
            ("query", Sql("text")),
            ("results_count", Sql("integer")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "shipment_items",
        columns: &[
            ("shipment_id", Key(Some("shipments"))),
            ("order_item_id", Key(Some("order_items"))),
            ("quantity", Sql("integer")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "shipments",
        columns: &[
            ("id", Key(None)),
            ("order_id", Key(Some("orders"))),
            ("status", Sql("text")),
            ("carrier", Sql("text")),
            ("tracking_number", Sql("text")),
            ("tracking_url", Sql("text")),
            ("shipped_at", Sql("timestamptz")),
            ("delivered_at", Sql("timestamptz")),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
    Relation {
        name: "wishlist_items",
        columns: &[
            ("id", Key(None)),
            ("customer_id", Key(Some("customers"))),
            ("product_id", Key(Some("products"))),
            ("created_at", Sql("timestamptz")),
            ("updated_at", Sql("timestamptz")),
        ],
    },
];
