//! Where a Shopify fulfillment becomes rows: a `shipments` row with carrier and tracking,
//! its `shipment_items` from the order's line items, and the order moved on to `shipped`
//! or `delivered`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::mapping::{Applied, Version};
use super::wire::{self, present};

#[derive(Debug)]
pub struct Shipment {
    pub shopify_id: i64,
    pub order: i64,
    pub version: DateTime<Utc>,
    pub status: &'static str,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// (order line item id, quantity)
    pub lines: Vec<(i64, i32)>,
}

/// The shipment status for Shopify's fulfillment `status` and `shipment_status`: cancelled →
/// `canceled`; error or failure → `failed`; delivered → `delivered`; success (in transit,
/// out for delivery …) → `shipped`; pending or open → `pending`.
pub fn shipment_status(status: Option<&str>, shipment_status: Option<&str>) -> &'static str {
    match (status, shipment_status) {
        (Some("cancelled"), _) => "canceled",
        (Some("error" | "failure"), _) | (_, Some("failure")) => "failed",
        (_, Some("delivered")) => "delivered",
        (Some("success"), _) => "shipped",
        _ => "pending",
    }
}

pub fn map(fulfillment: wire::Fulfillment, version: &Version) -> Shipment {
    Shipment {
        shopify_id: fulfillment.id,
        order: fulfillment.order_id,
        version: version.of(fulfillment.updated_at),
        status: shipment_status(
            fulfillment.status.as_deref(),
            fulfillment.shipment_status.as_deref(),
        ),
        carrier: present(fulfillment.tracking_company),
        tracking_number: present(fulfillment.tracking_number).or_else(|| {
            fulfillment
                .tracking_numbers
                .into_iter()
                .find_map(|n| present(Some(n)))
        }),
        tracking_url: present(fulfillment.tracking_url).or_else(|| {
            fulfillment
                .tracking_urls
                .into_iter()
                .find_map(|u| present(Some(u)))
        }),
        created_at: fulfillment.created_at.map(|t| t.to_utc()),
        lines: fulfillment
            .line_items
            .into_iter()
            .filter(|line| line.quantity > 0)
            .map(|line| (line.id, line.quantity))
            .collect(),
    }
}

/// Writes the shipment unless its order has not been received (it then waits) or the stored
/// version is newer; what Shopify has is recorded as its tracking number there. Lines of items the order does not have are left out.
pub async fn apply(conn: &mut PgConnection, shipment: &Shipment) -> Result<Applied, sqlx::Error> {
    let order_id: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE shopify_id = $1")
        .bind(shipment.order)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(order_id) = order_id else {
        return Ok(Applied::WaitingForOrder(shipment.order));
    };
    // A fulfillment made from one of the shop's shipments (pushTracking) whose id the shop
    // has not recorded yet: that shipment is this fulfillment, found by its tracking number.
    sqlx::query(
        "UPDATE shipments SET shopify_id = $1
         WHERE id = (SELECT id FROM shipments
                     WHERE order_id = $2 AND shopify_id IS NULL AND tracking_number = $3
                     ORDER BY id LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM shipments WHERE shopify_id = $1)",
    )
    .bind(shipment.shopify_id)
    .bind(order_id)
    .bind(&shipment.tracking_number)
    .execute(&mut *conn)
    .await?;
    let written: Option<(i64, bool)> = sqlx::query_as(
        "INSERT INTO shipments AS s (shopify_id, shopify_updated_at, order_id, status, carrier,
                                     tracking_number, shopify_tracking_number, tracking_url,
                                     shipped_at, delivered_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7,
                 CASE WHEN $4 IN ('shipped', 'delivered') THEN coalesce($8, $2) END,
                 CASE WHEN $4 = 'delivered' THEN $2 END,
                 coalesce($8, now()))
         ON CONFLICT (shopify_id) DO UPDATE SET
             shopify_updated_at = EXCLUDED.shopify_updated_at, order_id = EXCLUDED.order_id,
             status = EXCLUDED.status, carrier = EXCLUDED.carrier,
             tracking_number = EXCLUDED.tracking_number,
             shopify_tracking_number = EXCLUDED.tracking_number,
             tracking_url = EXCLUDED.tracking_url,
             -- The first time it was seen shipped, and delivered.
             shipped_at = coalesce(s.shipped_at, EXCLUDED.shipped_at),
             delivered_at = coalesce(s.delivered_at, EXCLUDED.delivered_at)
         WHERE s.shopify_updated_at IS NULL OR s.shopify_updated_at <= EXCLUDED.shopify_updated_at
         RETURNING id, xmax = 0",
    )
    .bind(shipment.shopify_id)
    .bind(shipment.version)
    .bind(order_id)
    .bind(shipment.status)
    .bind(&shipment.carrier)
    .bind(&shipment.tracking_number)
    .bind(&shipment.tracking_url)
    .bind(shipment.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, created)) = written else {
        return Ok(Applied::older("shipment", shipment.shopify_id));
    };
    let (line_items, quantities): (Vec<i64>, Vec<i32>) = shipment.lines.iter().copied().unzip();
    sqlx::query(
        "WITH line AS (
             SELECT oi.id AS order_item_id, l.quantity
             FROM unnest($3::bigint[], $4::int[]) AS l(line_item, quantity)
             JOIN order_items oi ON oi.shopify_id = l.line_item AND oi.order_id = $2
         ), gone AS (
             DELETE FROM shipment_items si
             WHERE si.shipment_id = $1
               AND si.order_item_id NOT IN (SELECT order_item_id FROM line)
         )
         INSERT INTO shipment_items AS si (shipment_id, order_item_id, quantity)
         SELECT $1, order_item_id, quantity FROM line
         ON CONFLICT (shipment_id, order_item_id) DO UPDATE SET quantity = EXCLUDED.quantity
         WHERE si.quantity <> EXCLUDED.quantity",
    )
    .bind(id)
    .bind(order_id)
    .bind(&line_items)
    .bind(&quantities)
    .execute(&mut *conn)
    .await?;
    // The order follows its shipments forward, never back.
    sqlx::query(
        "UPDATE orders SET status = $2
         WHERE id = $1 AND status = ANY (CASE $2
             WHEN 'shipped' THEN ARRAY['pending', 'processing']
             WHEN 'delivered' THEN ARRAY['pending', 'processing', 'shipped']
             ELSE ARRAY[]::text[] END)",
    )
    .bind(order_id)
    .bind(shipment.status)
    .execute(&mut *conn)
    .await?;
    Ok(Applied::written("shipment", id, created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipment_status_reads_both_shopify_fields() {
        assert_eq!(shipment_status(Some("pending"), None), "pending");
        assert_eq!(shipment_status(Some("open"), None), "pending");
        assert_eq!(
            shipment_status(Some("success"), Some("in_transit")),
            "shipped"
        );
        assert_eq!(
            shipment_status(Some("success"), Some("delivered")),
            "delivered"
        );
        assert_eq!(shipment_status(Some("success"), Some("failure")), "failed");
        assert_eq!(
            shipment_status(Some("cancelled"), Some("delivered")),
            "canceled"
        );
        assert_eq!(shipment_status(Some("error"), None), "failed");
    }
}
