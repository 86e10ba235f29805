//! Where a Shopify order becomes rows: the buyer in `customers` (by email, with the default
//! address), the order in `orders` (status, payment, totals, delivery address), its line
//! items in `order_items`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::mapping::{Applied, MappingError, Version};
use super::wire::{self, present, Amount};

/// A Shopify order, mapped to the shop schema.
#[derive(Debug)]
pub struct Order {
    pub shopify_id: i64,
    pub version: DateTime<Utc>,
    pub reference: String,
    pub email: String,
    pub created_at: Option<DateTime<Utc>>,
    pub status: &'static str,
    pub payment_state: &'static str,
    pub paid_at: Option<DateTime<Utc>>,
    pub payment_method: Option<String>,
    pub shipping_method: Option<String>,
    pub currency: String,
    pub total: Amount,
    pub subtotal: Option<Amount>,
    pub discount_total: Option<Amount>,
    pub shipping_total: Option<Amount>,
    pub tax_total: Option<Amount>,
    pub delivery: Option<wire::Address>,
    pub buyer: Option<Buyer>,
    pub items: Vec<Item>,
}

#[derive(Debug)]
pub struct Buyer {
    pub shopify_id: Option<i64>,
    pub email: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub default_address: Option<wire::Address>,
}

#[derive(Debug)]
pub struct Item {
    pub shopify_id: i64,
    pub product: Option<i64>,
    pub variant: Option<i64>,
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    pub price: String,
}

/// The shop's order status for a Shopify order: cancelled → `canceled`; refunded →
/// `refunded`; fulfilled → `shipped`; partly fulfilled or paid → `processing`; otherwise
/// `pending`.
pub fn order_status(
    cancelled: bool,
    financial: Option<&str>,
    fulfillment: Option<&str>,
) -> &'static str {
    match (cancelled, financial, fulfillment) {
        (true, _, _) => "canceled",
        (_, Some("refunded"), _) => "refunded",
        (_, _, Some("fulfilled")) => "shipped",
        (_, _, Some("partial")) => "processing",
        (_, Some("paid" | "partially_paid" | "partially_refunded"), _) => "processing",
        _ => "pending",
    }
}

/// The payment state for Shopify's `financial_status`: paid (even partly refunded since) →
/// `confirmed`; refunded → `refunded`; voided or expired → `failed`; pending, authorized,
/// partially paid or unknown → `pending`.
pub fn payment_state(financial: Option<&str>) -> &'static str {
    match financial {
        Some("paid" | "partially_refunded") => "confirmed",
        Some("refunded") => "refunded",
        Some("voided" | "expired") => "failed",
        _ => "pending",
    }
}

pub fn map(order: wire::Order, version: &Version) -> Result<Order, MappingError> {
    let currency = order
        .currency
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .ok_or_else(|| MappingError("the order has no three-letter currency".into()))?;
    let total = order
        .total_price
        .ok_or_else(|| MappingError("the order has no total_price".into()))?;
    let buyer = order.customer.and_then(|customer| {
        let email = present(customer.email).or_else(|| present(order.email.clone()))?;
        Some(Buyer {
            shopify_id: customer.id,
            email,
            firstname: present(customer.first_name),
            lastname: present(customer.last_name),
            phone: present(customer.phone),
            created_at: customer.created_at.map(|t| t.to_utc()),
            default_address: customer.default_address,
        })
    });
    let email = present(order.email)
        .or(present(order.contact_email))
        .or_else(|| buyer.as_ref().map(|b| b.email.clone()))
        .unwrap_or_default();
    let payment_method = present(order.gateway).or_else(|| {
        let names: Vec<_> = order
            .payment_gateway_names
            .into_iter()
            .filter_map(|n| present(Some(n)))
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    });
    let shipping_titles: Vec<_> = order
        .shipping_lines
        .into_iter()
        .filter_map(|l| present(l.title))
        .collect();
    let financial = order.financial_status.as_deref();
    let payment_state = payment_state(financial);
    Ok(Order {
        shopify_id: order.id,
        version: version.of(order.updated_at),
        reference: present(order.name)
            .or_else(|| order.order_number.map(|n| format!("#{n}")))
            .unwrap_or_else(|| format!("shopify-{}", order.id)),
        email,
        created_at: order.created_at.map(|t| t.to_utc()),
        status: order_status(
            order.cancelled_at.is_some(),
            financial,
            order.fulfillment_status.as_deref(),
        ),
        payment_state,
        paid_at: (payment_state == "confirmed").then(|| {
            order
                .processed_at
                .or(order.updated_at)
                .or(order.created_at)
                .map_or(version.received_at, |t| t.to_utc())
        }),
        payment_method,
        shipping_method: (!shipping_titles.is_empty()).then(|| shipping_titles.join(", ")),
        currency: currency.to_ascii_uppercase(),
        total,
        subtotal: order.subtotal_price,
        discount_total: order.total_discounts,
        shipping_total: order
            .total_shipping_price_set
            .and_then(|set| set.shop_money)
            .map(|money| money.amount),
        tax_total: order.total_tax,
        delivery: order.shipping_address,
        buyer,
        items: order
            .line_items
            .into_iter()
            .filter(|line| line.quantity > 0)
            .map(|line| Item {
                shopify_id: line.id,
                product: line.product_id,
                variant: line.variant_id,
                name: present(line.name)
                    .or(present(line.title))
                    .unwrap_or_else(|| format!("Shopify line item {}", line.id)),
                sku: present(line.sku).unwrap_or_default(),
                quantity: line.quantity,
                price: line
                    .price
                    .map_or_else(|| "0".into(), |p| p.as_str().to_owned()),
            })
            .collect(),
    })
}

/// Writes the order unless the stored version is newer. The buyer and the items are written
/// only with the order, so an older webhook changes nothing at all.
pub async fn apply(conn: &mut PgConnection, order: &Order) -> Result<Applied, sqlx::Error> {
    let customer_id = match &order.buyer {
        Some(buyer) => Some(upsert_buyer(conn, buyer).await?),
        None => None,
    };
    let delivery = order.delivery.as_ref();
    let field = |pick: fn(&wire::Address) -> &Option<String>| {
        delivery.and_then(|a| pick(a).as_deref()).map(str::to_owned)
    };
    let written: Option<(i64, bool)> = sqlx::query_as(
        "INSERT INTO orders AS o (
             shopify_id, shopify_updated_at, reference, customer_id, customer_email, status,
             payment_state, payment_confirmed_at, payment_method, shipping_method, currency,
             total, subtotal, discount_total, shipping_total, tax_total,
             delivery_firstname, delivery_lastname, delivery_company, delivery_address1,
             delivery_address2, delivery_city, delivery_province, delivery_postcode,
             delivery_country, delivery_phone, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::payment_state, $8, $9, $10, $11,
                 $12::numeric, $13::numeric, $14::numeric, $15::numeric, $16::numeric,
                 $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, coalesce($27, now()))
         ON CONFLICT (shopify_id) DO UPDATE SET
             shopify_updated_at = EXCLUDED.shopify_updated_at,
             reference = EXCLUDED.reference,
             customer_id = EXCLUDED.customer_id,
             customer_email = EXCLUDED.customer_email,
             status = EXCLUDED.status,
             payment_state = EXCLUDED.payment_state,
             -- Paid once stays paid at the first time; a refund keeps when it was paid.
             payment_confirmed_at = CASE EXCLUDED.payment_state
                 WHEN 'confirmed' THEN coalesce(o.payment_confirmed_at, EXCLUDED.payment_confirmed_at)
                 WHEN 'refunded' THEN o.payment_confirmed_at
             END,
             payment_method = EXCLUDED.payment_method,
             shipping_method = EXCLUDED.shipping_method,
             currency = EXCLUDED.currency,
             total = EXCLUDED.total,
             subtotal = EXCLUDED.subtotal,
             discount_total = EXCLUDED.discount_total,
             shipping_total = EXCLUDED.shipping_total,
             tax_total = EXCLUDED.tax_total,
             delivery_firstname = EXCLUDED.delivery_firstname,
             delivery_lastname = EXCLUDED.delivery_lastname,
             delivery_company = EXCLUDED.delivery_company,
             delivery_address1 = EXCLUDED.delivery_address1,
             delivery_address2 = EXCLUDED.delivery_address2,
             delivery_city = EXCLUDED.delivery_city,
             delivery_province = EXCLUDED.delivery_province,
             delivery_postcode = EXCLUDED.delivery_postcode,
             delivery_country = EXCLUDED.delivery_country,
             delivery_phone = EXCLUDED.delivery_phone
         WHERE o.shopify_updated_at IS NULL OR o.shopify_updated_at <= EXCLUDED.shopify_updated_at
         RETURNING id, xmax = 0",
    )
    .bind(order.shopify_id)
    .bind(order.version)
    .bind(&order.reference)
    .bind(customer_id)
    .bind(&order.email)
    .bind(order.status)
    .bind(order.payment_state)
    .bind(order.paid_at)
    .bind(&order.payment_method)
    .bind(&order.shipping_method)
    .bind(&order.currency)
    .bind(order.total.as_str())
    .bind(order.subtotal.as_ref().map(Amount::as_str))
    .bind(order.discount_total.as_ref().map(Amount::as_str))
    .bind(order.shipping_total.as_ref().map(Amount::as_str))
    .bind(order.tax_total.as_ref().map(Amount::as_str))
    .bind(field(|a| &a.first_name))
    .bind(field(|a| &a.last_name))
    .bind(field(|a| &a.company))
    .bind(field(|a| &a.address1))
    .bind(field(|a| &a.address2))
    .bind(field(|a| &a.city))
    .bind(field(|a| &a.province))
    .bind(field(|a| &a.zip))
    .bind(field(|a| &a.country))
    .bind(field(|a| &a.phone))
    .bind(order.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, created)) = written else {
        return Ok(Applied::older("order", order.shopify_id));
    };
    write_items(conn, id, &order.items).await?;
    Ok(Applied::written("order", id, created).waking(order.shopify_id))
}

/// The buyer, found or created by email; its name and phone follow Shopify's, and its
/// default address is Shopify's default address.
async fn upsert_buyer(conn: &mut PgConnection, buyer: &Buyer) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customers AS c (email, firstname, lastname, phone, shopify_id, created_at)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))
         ON CONFLICT (lower(email)) DO UPDATE SET
             firstname = coalesce(EXCLUDED.firstname, c.firstname),
             lastname = coalesce(EXCLUDED.lastname, c.lastname),
             phone = coalesce(EXCLUDED.phone, c.phone),
             shopify_id = coalesce(EXCLUDED.shopify_id, c.shopify_id)
         RETURNING id",
    )
    .bind(&buyer.email)
    .bind(&buyer.firstname)
    .bind(&buyer.lastname)
    .bind(&buyer.phone)
    .bind(buyer.shopify_id)
    .bind(buyer.created_at)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(address) = &buyer.default_address {
        sqlx::query(
            "INSERT INTO customer_addresses AS a (customer_id, is_default, company, address1,
                                                  address2, city, province, postcode, country, phone)
             VALUES ($1, true, $2, coalesce($3, ''), $4, $5, $6, $7, $8, $9)
             ON CONFLICT (customer_id) WHERE is_default DO UPDATE SET
                 company = EXCLUDED.company, address1 = EXCLUDED.address1,
                 address2 = EXCLUDED.address2, city = EXCLUDED.city,
                 province = EXCLUDED.province, postcode = EXCLUDED.postcode,
                 country = EXCLUDED.country, phone = EXCLUDED.phone
             WHERE (a.company, a.address1, a.address2, a.city, a.province, a.postcode,
                    a.country, a.phone)
                   IS DISTINCT FROM
                   (EXCLUDED.company, EXCLUDED.address1, EXCLUDED.address2, EXCLUDED.city,
                    EXCLUDED.province, EXCLUDED.postcode, EXCLUDED.country, EXCLUDED.phone)",
        )
        .bind(id)
        .bind(&address.company)
        .bind(&address.address1)
        .bind(&address.address2)
        .bind(&address.city)
        .bind(&address.province)
        .bind(&address.zip)
        .bind(&address.country)
        .bind(&address.phone)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// The order's items become exactly Shopify's line items (by line item id), linked to the
/// products and options that came from Shopify when they are known.
async fn write_items(
    conn: &mut PgConnection,
    order_id: i64,
    items: &[Item],
) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = items.iter().map(|i| i.shopify_id).collect();
    sqlx::query(
        "WITH line AS (
             SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[],
                                  $6::text[], $7::int[], $8::numeric[])
                 AS l(shopify_id, product, variant, sku, name, quantity, price)
         ), gone AS (
             DELETE FROM order_items i
             WHERE i.order_id = $1 AND (i.shopify_id IS NULL OR i.shopify_id <> ALL ($2))
         )
         INSERT INTO order_items AS i (order_id, shopify_id, product_id, option_id, sku, name,
                                       quantity, price)
         SELECT $1, l.shopify_id, p.id, po.id, l.sku, l.name, l.quantity, l.price
         FROM line l
         LEFT JOIN products p ON p.shopify_id = l.product
         LEFT JOIN product_options po ON po.shopify_id = l.variant
         ON CONFLICT (shopify_id) DO UPDATE SET
             order_id = EXCLUDED.order_id, product_id = EXCLUDED.product_id,
             option_id = EXCLUDED.option_id, sku = EXCLUDED.sku, name = EXCLUDED.name,
             quantity = EXCLUDED.quantity, price = EXCLUDED.price
         WHERE (i.order_id, i.product_id, i.option_id, i.sku, i.name, i.quantity, i.price)
               IS DISTINCT FROM
               (EXCLUDED.order_id, EXCLUDED.product_id, EXCLUDED.option_id, EXCLUDED.sku,
                EXCLUDED.name, EXCLUDED.quantity, EXCLUDED.price)",
    )
    .bind(order_id)
    .bind(&ids)
    .bind(items.iter().map(|i| i.product).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.variant).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.sku.as_str()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.quantity).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.price.as_str()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_status_follows_cancellation_refund_fulfillment_then_payment() {
        assert_eq!(
            order_status(true, Some("paid"), Some("fulfilled")),
            "canceled"
        );
        assert_eq!(
            order_status(false, Some("refunded"), Some("fulfilled")),
            "refunded"
        );
        assert_eq!(
            order_status(false, Some("paid"), Some("fulfilled")),
            "shipped"
        );
        assert_eq!(
            order_status(false, Some("pending"), Some("partial")),
            "processing"
        );
        assert_eq!(order_status(false, Some("paid"), None), "processing");
        assert_eq!(order_status(false, Some("authorized"), None), "pending");
        assert_eq!(order_status(false, None, None), "pending");
    }

    #[test]
    fn payment_state_is_confirmed_only_once_paid() {
        assert_eq!(payment_state(Some("paid")), "confirmed");
        assert_eq!(payment_state(Some("partially_refunded")), "confirmed");
        assert_eq!(payment_state(Some("refunded")), "refunded");
        assert_eq!(payment_state(Some("voided")), "failed");
        assert_eq!(payment_state(Some("partially_paid")), "pending");
        assert_eq!(payment_state(None), "pending");
    }
}
