//! `pushTracking`: the `shopify` destination takes the shop's `shipment.*` events, whoever
//! wrote the shipment, and gives Shopify the tracking number of each shipment of a Shopify
//! order, in order per order, retried like every delivery:
//!
//! - a shipment Shopify does not know yet becomes a fulfillment (its order's open
//!   fulfillment orders, its items when it lists them) with its tracking, and takes the
//!   fulfillment's id;
//! - a shipment Shopify knows (made here, or from a fulfillment webhook) whose tracking
//!   number changed gets it updated there.
//!
//! Sent once: what Shopify has is `shipments.shopify_tracking_number`, and before creating,
//! the order's fulfillments are looked at for one with the same number (a send whose answer
//! was lost). The `fulfillments/*` webhook Shopify sends back lands on the same shipment:
//! it carries the fulfillment's id, or the applier adopts the shipment by its number.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;

use super::client::{AdminApi, AdminError};
use super::graphql::{self, Gid};
use super::Store;
use crate::delivery::kind::{Delivery, DestinationKind, Outcome, Problem, Sending, Target};
use crate::outbound::Client;

pub const KIND: &str = "shopify";

/// The events it takes.
pub const EVENTS: [&str; 2] = ["shipment.created", "shipment.updated"];

pub struct TrackingKind {
    pool: PgPool,
    http: Client,
    timeout: Duration,
}

impl TrackingKind {
    /// `timeout` bounds one request to the store.
    pub fn new(pool: PgPool, http: Client, timeout: Duration) -> Self {
        TrackingKind {
            pool,
            http,
            timeout,
        }
    }
}

impl DestinationKind for TrackingKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String> {
        let store = Store::deserialize(config)
            .map_err(|e| format!("the shopify destination without a store: {e}"))?;
        Ok(Arc::new(StoreTarget {
            pool: self.pool.clone(),
            http: self.http.clone(),
            store,
        }))
    }

    /// The budget's wait, then up to three requests.
    fn timeout(&self) -> Duration {
        self.timeout * 3 + Duration::from_secs(20)
    }

    fn address(&self, config: &serde_json::Value) -> Option<String> {
        config.get("store_url")?.as_str().map(str::to_owned)
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["access_token"]
    }

    /// Connecting the store makes it; removing the integration unmakes it.
    fn managed(&self) -> bool {
        true
    }

    /// Every request waits for the store's query budget first.
    fn paced(&self) -> bool {
        true
    }
}

struct StoreTarget {
    pool: PgPool,
    http: Client,
    store: Store,
}

/// A shipment as it is now, with what Shopify knows of it.
#[derive(sqlx::FromRow)]
struct Shipment {
    id: i64,
    order_shopify_id: Option<i64>,
    shopify_id: Option<i64>,
    tracking_number: Option<String>,
    carrier: Option<String>,
    tracking_url: Option<String>,
    shopify_tracking_number: Option<String>,
    /// The order's line item ids and quantities it ships, if it lists them.
    line_items: Vec<i64>,
    quantities: Vec<i32>,
}

impl Target for StoreTarget {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            if !self.store.push_tracking {
                return Outcome::Superseded;
            }
            let Ok(id) = delivery.entity_id.parse::<i64>() else {
                return Outcome::unsendable("the shipment id is not a number");
            };
            let shipment = match load(&self.pool, id).await {
                Ok(Some(shipment)) => shipment,
                Ok(None) => return Outcome::Superseded,
                Err(error) => return retry(format!("the database: {error}")),
            };
            let (Some(order), Some(number)) =
                (shipment.order_shopify_id, shipment.tracking_number.clone())
            else {
                // Not a Shopify order, or nothing to track yet.
                return Outcome::Superseded;
            };
            if shipment.shopify_tracking_number.as_deref() == Some(number.as_str()) {
                return Outcome::Superseded;
            }
            let api = match self.store.api(&self.http, &self.pool).await {
                Ok(api) => api,
                Err(error) => return Outcome::Misconfigured(problem(error)),
            };
            let sent = match shipment.shopify_id {
                Some(fulfillment) => update(&api, fulfillment, &shipment, &number).await,
                None => create(&api, order, &shipment, &number).await,
            };
            match sent {
                Ok(fulfillment) => {
                    match record(&self.pool, shipment.id, fulfillment, &number).await {
                        Ok(()) => Outcome::Delivered(200),
                        Err(error) => retry(format!("the database: {error}")),
                    }
                }
                Err(AdminError::Unauthorized(message)) => Outcome::Misconfigured(problem(format!(
                    "Shopify refused the Admin API access token: {message}"
                ))),
                Err(forbidden @ AdminError::Forbidden(_)) => {
                    Outcome::Misconfigured(problem(forbidden.to_string()))
                }
                Err(AdminError::Refused(message)) => Outcome::Refused(problem(message)),
                Err(error) => retry(error.to_string()),
            }
        })
    }
}

fn problem(error: String) -> Problem {
    Problem {
        status: None,
        error,
    }
}

fn retry(error: String) -> Outcome {
    Outcome::Retry {
        problem: problem(error),
        retry_after: None,
    }
}

async fn load(pool: &PgPool, id: i64) -> Result<Option<Shipment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, o.shopify_id AS order_shopify_id, s.shopify_id, s.tracking_number,
                s.carrier, s.tracking_url, s.shopify_tracking_number,
                coalesce(array_agg(oi.shopify_id ORDER BY oi.id)
                         FILTER (WHERE oi.shopify_id IS NOT NULL), '{}') AS line_items,
                coalesce(array_agg(si.quantity ORDER BY oi.id)
                         FILTER (WHERE oi.shopify_id IS NOT NULL), '{}') AS quantities
         FROM shipments s
         JOIN orders o ON o.id = s.order_id
         LEFT JOIN shipment_items si ON si.shipment_id = s.id
         LEFT JOIN order_items oi ON oi.id = si.order_item_id
         WHERE s.id = $1
         GROUP BY s.id, o.shopify_id",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

fn tracking_input(shipment: &Shipment, number: &str) -> serde_json::Value {
    json!({"number": number, "company": shipment.carrier, "url": shipment.tracking_url})
}

/// A fulfillment of `order` for the shipment, with its tracking: its id.
async fn create(
    api: &AdminApi,
    order: i64,
    shipment: &Shipment,
    number: &str,
) -> Result<i64, AdminError> {
    let data: graphql::OrderFulfillmentData = api
        .query(
            graphql::ORDER_FULFILLMENT,
            json!({"id": Gid::of("Order", order)}),
            graphql::ORDER_FULFILLMENT_COST as f64,
        )
        .await?;
    let order_data = data
        .order
        .ok_or_else(|| AdminError::Refused(format!("Shopify has no order {order}")))?;
    // Made by an earlier send whose answer was lost.
    if let Some(made) = order_data.fulfillments.iter().find(|f| {
        f.tracking_info
            .iter()
            .any(|t| t.number.as_deref() == Some(number))
    }) {
        return Ok(made.id.0);
    }
    let wanted: Vec<(i64, i32)> = shipment
        .line_items
        .iter()
        .copied()
        .zip(shipment.quantities.iter().copied())
        .collect();
    // One fulfillment ships from one location: the first open fulfillment order with any
    // of the shipment's items (or any, when it lists none) decides which.
    let open: Vec<(&graphql::FulfillmentOrder, Option<Vec<serde_json::Value>>)> = order_data
        .fulfillment_orders
        .nodes
        .iter()
        .filter(|fo| matches!(fo.status.as_str(), "OPEN" | "IN_PROGRESS"))
        .filter_map(|fo| {
            if wanted.is_empty() {
                return Some((fo, None));
            }
            let lines: Vec<serde_json::Value> = fo
                .line_items
                .nodes
                .iter()
                .filter_map(|line| {
                    let (_, quantity) = wanted.iter().find(|(id, _)| *id == line.line_item.id.0)?;
                    let quantity = (*quantity).min(line.remaining_quantity);
                    (quantity > 0).then(|| json!({"id": line.id, "quantity": quantity}))
                })
                .collect();
            (!lines.is_empty()).then_some((fo, Some(lines)))
        })
        .collect();
    let location = open.first().and_then(|(fo, _)| fo.location());
    let by_order: Vec<serde_json::Value> = open
        .into_iter()
        .filter(|(fo, _)| fo.location() == location)
        .map(|(fo, lines)| match lines {
            Some(lines) => json!({"fulfillmentOrderId": fo.id, "fulfillmentOrderLineItems": lines}),
            None => json!({"fulfillmentOrderId": fo.id}),
        })
        .collect();
    if by_order.is_empty() {
        return Err(AdminError::Refused(format!(
            "order {order} has nothing left to fulfill for shipment {}",
            shipment.id
        )));
    }
    let data: graphql::FulfillmentCreateData = api
        .query(
            graphql::FULFILLMENT_CREATE,
            json!({"fulfillment": {
                "lineItemsByFulfillmentOrder": by_order,
                "trackingInfo": tracking_input(shipment, number),
                "notifyCustomer": false,
            }}),
            graphql::MUTATION_COST as f64,
        )
        .await?;
    data.fulfillment_create
        .made()
        .map_err(AdminError::Refused)?
        .fulfillment
        .map(|f| f.id.0)
        .ok_or_else(|| AdminError::Refused("fulfillmentCreate made no fulfillment".into()))
}

/// The fulfillment's tracking, changed to the shipment's: the fulfillment's id.
async fn update(
    api: &AdminApi,
    fulfillment: i64,
    shipment: &Shipment,
    number: &str,
) -> Result<i64, AdminError> {
    let data: graphql::TrackingUpdateData = api
        .query(
            graphql::TRACKING_UPDATE,
            json!({"id": Gid::of("Fulfillment", fulfillment),
                   "tracking": tracking_input(shipment, number)}),
            graphql::MUTATION_COST as f64,
        )
        .await?;
    data.fulfillment_tracking_info_update
        .made()
        .map_err(AdminError::Refused)?;
    Ok(fulfillment)
}

/// Shopify has `number` in `fulfillment`, which is the shipment's. Written without an
/// event: the shipment triggers do not watch these columns.
async fn record(
    pool: &PgPool,
    shipment: i64,
    fulfillment: i64,
    number: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE shipments
         SET shopify_id = coalesce(shopify_id, $2), shopify_tracking_number = $3
         WHERE id = $1
           AND NOT EXISTS (SELECT 1 FROM shipments o WHERE o.shopify_id = $2 AND o.id <> $1)",
    )
    .bind(shipment)
    .bind(fulfillment)
    .bind(number)
    .execute(pool)
    .await?;
    Ok(())
}
