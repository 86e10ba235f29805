//! Waymore's real-time events: the shop's domain events mapped to the 14 event shapes of
//! seed 000 (the 15th, `Uninstall`, is sent by disconnect). Delivery itself is the
//! backbone's (`crate::delivery`); this is only the mapping.
//!
//! Ids, quantities and customer ids are strings, as in Waymore's examples, except
//! `OrderAdd`'s `customer_id` (a number, 0 for guests); missing texts are `""`.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::events::payloads::{
    CartSnapshot, CustomerSnapshot, Discount, NewsletterChanged, OrderPaymentConfirmed,
    OrderSnapshot, OrderStatusChanged, OutOfStock, ProductSnapshot, SearchRecorded, StockChanged,
    WishlistChanged,
};

/// Waymore's event name and `data` for a domain event.
pub fn render(
    name: &str,
    payload: &RawValue,
    cart_url: &str,
) -> Result<(&'static str, Value), String> {
    let rendered = match name {
        "customer.created" => ("CustomerAdd", customer(parse(payload)?)),
        "customer.updated" => ("CustomerUpdate", customer(parse(payload)?)),
        "cart.updated" => ("CartUpdate", cart(parse(payload)?, cart_url)),
        "product.created" => ("ProductAdd", product(parse(payload)?)),
        "product.updated" => ("ProductUpdate", product(parse(payload)?)),
        "product.stock_changed" => {
            let s: StockChanged = parse(payload)?;
            let mut data =
                json!({"product_id": s.product_id.to_string(), "stock_quantity": s.stock_quantity});
            if let Some(option) = s.option_id {
                data["option_id"] = option.to_string().into();
            }
            ("ProductStockUpdate", data)
        }
        "product.out_of_stock" => {
            let s: OutOfStock = parse(payload)?;
            let mut data = json!({"product_id": s.product_id.to_string()});
            if let Some(option) = s.option_id {
                data["option_id"] = option.to_string().into();
            }
            ("ProductOutOfStock", data)
        }
        "order.created" => ("OrderAdd", order(parse(payload)?)),
        "order.status_changed" => {
            let s: OrderStatusChanged = parse(payload)?;
            let data = json!({
                "customer_id": s.customer_id.unwrap_or(0).to_string(),
                "order_id": s.order_id.to_string(),
                "order_status": s.status_label,
            });
            ("OrderStatusUpdate", data)
        }
        "order.payment_confirmed" => {
            let s: OrderPaymentConfirmed = parse(payload)?;
            let data = json!({
                "customer_id": s.customer_id.unwrap_or(0).to_string(),
                "order_id": s.order_id.to_string(),
            });
            ("OrderPaymentConfirmed", data)
        }
        "wishlist.added" | "wishlist.removed" => {
            let w: WishlistChanged = parse(payload)?;
            let event = if name == "wishlist.added" {
                "WishlistAdd"
            } else {
                "WishlistDelete"
            };
            let data = json!({"product_id": w.product_id.to_string(), "customer_id": w.customer_id.to_string()});
            (event, data)
        }
        "newsletter.changed" => {
            let n: NewsletterChanged = parse(payload)?;
            let data = json!({
                "customer_id": n.customer_id.unwrap_or(0).to_string(),
                "email": n.email,
                "subscription": n.subscribed,
            });
            ("Newsletter", data)
        }
        "search.recorded" => {
            let s: SearchRecorded = parse(payload)?;
            // A visitor's search has customer_id "", as in Waymore's example.
            let customer = s.customer_id.map(|id| id.to_string()).unwrap_or_default();
            (
                "Search",
                json!({"customer_id": customer, "search_string": s.query}),
            )
        }
        "waymore.legacy" => legacy(parse(payload)?)?,
        other => return Err(format!("Waymore takes no {other:?} event")),
    };
    Ok(rendered)
}

fn parse<T: DeserializeOwned>(payload: &RawValue) -> Result<T, String> {
    serde_json::from_str(payload.get()).map_err(|e| format!("unexpected payload: {e}"))
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

fn customer(s: CustomerSnapshot) -> Value {
    let c = s.customer;
    let addresses: Vec<Value> = s
        .addresses
        .into_iter()
        .map(|a| {
            json!({
                "country": text(a.country),
                "city": text(a.city),
                "address1": a.address1,
                "postcode": text(a.postcode),
                "company": text(a.company),
            })
        })
        .collect();
    json!({
        "customer": {
            "id": c.id.to_string(),
            "lastname": text(c.lastname),
            "firstname": text(c.firstname),
            "birthday": text(c.birthday),
            "email": c.email,
            "phone": text(c.phone),
        },
        "addresses": addresses,
    })
}

fn cart(s: CartSnapshot, cart_url: &str) -> Value {
    let products: Vec<Value> = s
        .items
        .into_iter()
        .map(|i| {
            json!({
                "product_id": i.product_id.to_string(),
                "option_id": i.option_id.map(|o| o.to_string()),
                "quantity": i.quantity.to_string(),
            })
        })
        .collect();
    json!({
        "customer_id": s.cart.customer_id.unwrap_or(0).to_string(),
        "cart_products": products,
        "cart_url": cart_url,
    })
}

/// `{"price", "date_start", "date_end", "quantity"}` with dates as `YYYY-MM-DD` ('' when
/// open-ended); `{}` without a discount. The same shape as the mass export's
/// `waymore_discount()`.
fn discount(d: Option<Discount>) -> Value {
    let date = |t: Option<String>| {
        t.map(|t| t.chars().take(10).collect::<String>())
            .unwrap_or_default()
    };
    match d {
        None => json!({}),
        Some(d) => json!({
            "price": d.price,
            "date_start": date(d.date_start),
            "date_end": date(d.date_end),
            "quantity": d.min_quantity,
        }),
    }
}

/// The same object as the mass export's `waymore_product_json()`.
fn product(s: ProductSnapshot) -> Value {
    let p = s.product;
    let options: Vec<Value> = s
        .options
        .into_iter()
        .map(|o| {
            json!({
                "option_id": o.id.to_string(),
                "size": o.size,
                "color": o.color,
                "stock_quantity": o.stock_quantity,
                "price": o.price.unwrap_or_else(|| p.price.clone()),
                "discount": discount(o.discount),
            })
        })
        .collect();
    json!({
        "product_id": p.id.to_string(),
        "name": p.name,
        "description": p.description,
        "short_description": p.short_description,
        "categories": s.categories,
        "stock_quantity": p.stock_quantity,
        "price": p.price,
        "discount": discount(s.discount),
        "image_link": text(p.image_url),
        "product_link": text(p.url),
        "product_options": options,
    })
}

/// OrderAdd: the order, its buyer's details (the delivery's for guests) and its items.
fn order(s: OrderSnapshot) -> Value {
    let o = s.order;
    let d = o.delivery;
    let c = s.customer;
    let (lastname, firstname, birthday, phone) = match c {
        Some(c) => (
            c.lastname.or(d.lastname),
            c.firstname.or(d.firstname),
            c.birthday,
            d.phone.or(c.phone),
        ),
        None => (d.lastname, d.firstname, None, d.phone),
    };
    let products: Vec<Value> = s
        .items
        .into_iter()
        .map(|i| {
            json!({
                "product_id": i.product_id.map(|p| p.to_string()),
                "quantity": i.quantity.to_string(),
                "option_id": i.option_id.map(|o| o.to_string()),
            })
        })
        .collect();
    json!({
        "customer_id": o.customer_id.unwrap_or(0),
        "order_details": {
            "order_id": o.id.to_string(),
            "order_status": o.status_label,
            "shipping_method": text(o.shipping_method),
            "payment_method": text(o.payment_method),
            "total_price": o.total,
            "lastname": lastname,
            "firstname": firstname,
            "birthday": birthday,
            "email": o.customer_email,
            "company": d.company,
            "newsletter": s.newsletter,
            "website": null,
            "address1": d.address1,
            "address2": d.address2,
            "postcode": d.postcode,
            "phone": phone,
            "phone_mobile": "",
            "city": d.city,
            "country": d.country,
        },
        "order_products": products,
    })
}

/// An event of the Waymore-only outbox that preceded the event log, already in Waymore's
/// shape: `{"event", "data"}`.
#[derive(serde::Deserialize)]
struct Legacy {
    event: String,
    data: Value,
}

fn legacy(l: Legacy) -> Result<(&'static str, Value), String> {
    const NAMES: [&str; 14] = [
        "CustomerAdd",
        "CustomerUpdate",
        "CartUpdate",
        "ProductAdd",
        "ProductUpdate",
        "ProductStockUpdate",
        "ProductOutOfStock",
        "OrderAdd",
        "OrderStatusUpdate",
        "OrderPaymentConfirmed",
        "WishlistAdd",
        "WishlistDelete",
        "Newsletter",
        "Search",
    ];
    let name = NAMES
        .into_iter()
        .find(|n| *n == l.event)
        .ok_or_else(|| format!("unknown Waymore event {:?}", l.event))?;
    Ok((name, l.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: Value) -> Box<RawValue> {
        RawValue::from_string(v.to_string()).unwrap()
    }

    #[test]
    fn a_guest_order_is_customer_0_with_the_delivery_names() {
        let payload = raw(json!({
            "order": {"id": 12, "reference": "R12", "status": "pending", "status_label": "Pending",
                      "customer_id": null, "customer_email": "g@example.com", "payment_state": "pending",
                      "payment_method": null, "shipping_method": "Courier", "currency": "EUR",
                      "total": 103.47, "created_at": "2026-01-01T00:00:00Z",
                      "delivery": {"firstname": "Ana", "lastname": "Silva", "company": null,
                                   "address1": "Rua 1", "address2": null, "city": "Lisbon",
                                   "province": null, "postcode": "1100", "country": "Portugal", "phone": null}},
            "customer": null, "newsletter": false,
            "items": [{"id": 1, "product_id": 7, "option_id": null, "sku": "S", "name": "n", "quantity": 2, "price": 5}]
        }));
        let (name, data) = render("order.created", &payload, "").unwrap();
        assert_eq!(name, "OrderAdd");
        assert_eq!(data["customer_id"], 0);
        assert_eq!(data["order_details"]["firstname"], "Ana");
        assert_eq!(data["order_details"]["payment_method"], "");
        assert_eq!(data["order_details"]["total_price"], 103.47);
        assert_eq!(
            data["order_products"],
            json!([{"product_id": "7", "quantity": "2", "option_id": null}])
        );
    }

    #[test]
    fn an_unknown_or_malformed_event_is_refused_with_a_reason() {
        let payload = raw(json!({"x": 1}));
        assert!(render("shipment.created", &payload, "")
            .unwrap_err()
            .contains("shipment.created"));
        assert!(render("search.recorded", &payload, "")
            .unwrap_err()
            .contains("unexpected payload"));
    }
}
