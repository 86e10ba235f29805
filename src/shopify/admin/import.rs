//! The order history (`shopify.orders`) and the catalog (`shopify.products`), as pull jobs:
//! pages of the store's objects in the order of their ids (`sortKey: ID`, `query: "id:>N"`),
//! so the position a crash resumes from is the last id written, not a cursor that expires.
//! Each page goes through the webhooks' mapping and writing, so an order imported and a
//! webhook for it make one row (the newer `updatedAt` wins either way).
//!
//! Why pages rather than a bulk operation: a page is written as soon as it is read and the
//! job resumes from it, the store's query budget is the only limit (and it is shared with
//! every other query, where a bulk operation holds the store's single bulk slot for its
//! whole run and hands its result over as one file from another host).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

use super::client::{AdminApi, AdminError};
use super::graphql::{self, Listed};
use super::{hold, Store, DESTINATION};
use crate::jobs::pull::{Fetched, PullDefinition};
use crate::jobs::{Job, PartError, StagePlan};
use crate::outbound::Client;
use crate::shopify::mapping::{self, Version};
use crate::shopify::{inbox, orders, products};

pub const ORDERS: &str = "orders";
pub const PRODUCTS: &str = "products";

/// Reads a store's pages: the HTTP client and the database (the query budget, holds).
#[derive(Clone)]
pub struct Reader {
    pool: PgPool,
    http: Client,
}

impl Reader {
    pub fn new(pool: PgPool, http: Client) -> Self {
        Reader { pool, http }
    }

    async fn api(&self, destination: &serde_json::Value) -> Result<AdminApi, PartError> {
        let store = Store::deserialize(destination).map_err(|e| PartError {
            permanent: true,
            message: format!("the shopify destination's config: {e}"),
        })?;
        store
            .api(&self.http, &self.pool)
            .await
            .map_err(|message| PartError {
                permanent: true,
                message,
            })
    }

    /// The objects a list query answers, each with the rest of its own list read, as their
    /// webhooks carry them.
    async fn list<D: DeserializeOwned, L: Listed>(
        &self,
        api: &AdminApi,
        (query, cost): (&str, i64),
        variables: serde_json::Value,
        nodes: fn(D) -> Vec<L>,
    ) -> Result<Vec<L::Wire>, PartError> {
        let read = async {
            let data: D = api.query(query, variables, cost as f64).await?;
            let mut read = Vec::new();
            for mut node in nodes(data) {
                let more = rest_of(api, &mut node).await?;
                read.push(node.into_wire(more));
            }
            Ok(read)
        };
        match read.await {
            Ok(read) => Ok(read),
            Err(error) => Err(self.failed(error).await),
        }
    }

    /// What a failed query means for the job: a refused token (or a store URL the guard
    /// refuses) holds the destination, and with it the job, until the integration is
    /// configured again.
    async fn failed(&self, error: AdminError) -> PartError {
        let message = error.to_string();
        match error {
            AdminError::Unauthorized(_) | AdminError::Forbidden(_) => {
                let reason = match error {
                    AdminError::Forbidden(_) => message,
                    _ => format!("Shopify refused the Admin API access token: {message}"),
                };
                if let Err(e) = hold(&self.pool, &reason).await {
                    log::error!("holding the shopify destination: {e}");
                }
                PartError {
                    permanent: false,
                    message: reason,
                }
            }
            AdminError::Refused(_) => PartError {
                permanent: true,
                message,
            },
            AdminError::Transient(_) | AdminError::Unreachable(_) | AdminError::Database(_) => {
                PartError {
                    permanent: false,
                    message,
                }
            }
        }
    }
}

/// The `query` argument for the objects after id `after`, and since `since` if given.
fn search(after: i64, since: Option<DateTime<Utc>>) -> String {
    match since {
        Some(since) => format!("id:>{after} AND created_at:>='{}'", since.to_rfc3339()),
        None => format!("id:>{after}"),
    }
}

/// One stage over the store's ids, as many objects as the store counted when connected
/// (`column` of `shopify_store`).
async fn plan(
    conn: &mut PgConnection,
    stage: &'static str,
    column: &str,
) -> Result<Vec<StagePlan>, sqlx::Error> {
    let total: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {column} FROM shopify_store"
    )))
    .fetch_optional(conn)
    .await?;
    Ok(vec![StagePlan {
        stage,
        upper: i64::MAX,
        total: total.unwrap_or(0),
    }])
}

/// The rest of `node`'s own list past its first page (an order's line items, a product's
/// variants), page after page.
async fn rest_of<L: Listed>(api: &AdminApi, node: &mut L) -> Result<Vec<L::Item>, AdminError> {
    let (query, cost) = L::REST;
    let id = node.id().global(L::KIND);
    let mut after = node.rest_after();
    let mut items = Vec::new();
    while let Some(cursor) = after {
        let data: L::Rest = api
            .query(
                query,
                json!({"id": id, "after": cursor, "first": graphql::MORE_PER_PAGE}),
                cost as f64,
            )
            .await?;
        let Some(mut page) = L::rest_page(data) else {
            break;
        };
        after = page.take_next_cursor();
        items.extend(page.nodes);
    }
    Ok(items)
}

/// A page as the runner takes it: the objects `read`, mapped (those that cannot be, left
/// out), the last id read and how many were read; `None` when nothing was.
fn fetched<W, P>(
    read: Vec<W>,
    id: fn(&W) -> i64,
    map: impl FnMut(W) -> Option<P>,
) -> Option<Fetched<Vec<P>>> {
    let last = read.iter().map(id).max()?;
    let count = read.len() as i64;
    let page = read.into_iter().filter_map(map).collect();
    Some(Fetched { page, last, count })
}

/// The version an imported object is written with: its own `updatedAt`.
fn version() -> Version {
    Version {
        triggered_at: None,
        received_at: Utc::now(),
    }
}

/// Orders per page: the most whose requested cost stays within Shopify's 1000 per query.
pub const ORDERS_PER_PAGE: u32 = 14;
const _: () = assert!(graphql::orders_cost(ORDERS_PER_PAGE as i64) <= graphql::MAX_QUERY_COST);
const _: () = assert!(graphql::orders_cost(ORDERS_PER_PAGE as i64 + 1) > graphql::MAX_QUERY_COST);
/// Products per page, likewise.
pub const PRODUCTS_PER_PAGE: u32 = 15;
const _: () = assert!(graphql::products_cost(PRODUCTS_PER_PAGE as i64) <= graphql::MAX_QUERY_COST);
const _: () =
    assert!(graphql::products_cost(PRODUCTS_PER_PAGE as i64 + 1) > graphql::MAX_QUERY_COST);

/// The order history, with the customers the orders name.
pub struct OrderHistory {
    reader: Reader,
}

impl OrderHistory {
    pub fn new(reader: Reader) -> Self {
        OrderHistory { reader }
    }
}

impl Job for OrderHistory {
    const KIND: &'static str = "shopify.orders";

    fn destination(&self) -> Option<&'static str> {
        Some(DESTINATION)
    }

    async fn plan(&self, conn: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        plan(conn, ORDERS, "orders_total").await
    }
}

impl PullDefinition for OrderHistory {
    type Page = Vec<orders::Order>;

    async fn fetch(
        &self,
        _stage: &str,
        after: i64,
        size: i64,
        destination: &serde_json::Value,
    ) -> Result<Option<Fetched<Self::Page>>, PartError> {
        let api = self.reader.api(destination).await?;
        let since: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT orders_since FROM shopify_store")
                .fetch_optional(&self.reader.pool)
                .await
                .map_err(database)?
                .flatten();
        let read = self
            .reader
            .list(
                &api,
                (graphql::ORDERS, graphql::orders_cost(size)),
                json!({"first": size, "query": search(after, since),
                       "lines": graphql::LINES_PER_ORDER}),
                |data: graphql::OrdersData| data.orders.nodes,
            )
            .await?;
        let version = version();
        Ok(fetched(
            read,
            |order| order.id,
            |order| {
                let id = order.id;
                orders::map(order, &version)
                    .map_err(|e| log::warn!("Shopify order {id} is not imported: {e}"))
                    .ok()
            },
        ))
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        _stage: &str,
        page: &Self::Page,
    ) -> Result<(), sqlx::Error> {
        for order in page {
            let mut savepoint = conn.begin().await?;
            match orders::apply(&mut savepoint, order).await {
                Ok(_) => savepoint.commit().await?,
                Err(error) => skip(savepoint, "order", order.shopify_id, error).await?,
            }
        }
        // Fulfillment webhooks that came before their order are due now.
        let ids: Vec<i64> = page.iter().map(|order| order.shopify_id).collect();
        inbox::wake_waiting(conn, &ids).await
    }
}

/// The catalog: products with their variants.
pub struct Catalog {
    reader: Reader,
}

impl Catalog {
    pub fn new(reader: Reader) -> Self {
        Catalog { reader }
    }
}

impl Job for Catalog {
    const KIND: &'static str = "shopify.products";

    fn destination(&self) -> Option<&'static str> {
        Some(DESTINATION)
    }

    async fn plan(&self, conn: &mut PgConnection) -> Result<Vec<StagePlan>, sqlx::Error> {
        plan(conn, PRODUCTS, "products_total").await
    }
}

impl PullDefinition for Catalog {
    type Page = Vec<products::Product>;

    async fn fetch(
        &self,
        _stage: &str,
        after: i64,
        size: i64,
        destination: &serde_json::Value,
    ) -> Result<Option<Fetched<Self::Page>>, PartError> {
        let api = self.reader.api(destination).await?;
        let store_url = destination["store_url"].as_str().map(str::to_owned);
        let read = self
            .reader
            .list(
                &api,
                (graphql::PRODUCTS, graphql::products_cost(size)),
                json!({"first": size, "query": search(after, None),
                       "variants": graphql::VARIANTS_PER_PRODUCT}),
                |data: graphql::ProductsData| data.products.nodes,
            )
            .await?;
        let version = version();
        Ok(fetched(
            read,
            |product| product.id,
            |product| Some(products::map(product, &version, store_url.as_deref())),
        ))
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        _stage: &str,
        page: &Self::Page,
    ) -> Result<(), sqlx::Error> {
        for product in page {
            let mut savepoint = conn.begin().await?;
            match products::apply(&mut savepoint, product).await {
                Ok(_) => savepoint.commit().await?,
                Err(error) => skip(savepoint, "product", product.shopify_id, error).await?,
            }
        }
        Ok(())
    }
}

/// An object whose content the shop's tables refuse (as a webhook's would be, for good) is
/// left out with a warning; any other error fails the page, which is written again.
async fn skip(
    savepoint: sqlx::Transaction<'_, sqlx::Postgres>,
    what: &str,
    id: i64,
    error: sqlx::Error,
) -> Result<(), sqlx::Error> {
    if !mapping::refuses_content(&error) {
        return Err(error);
    }
    savepoint.rollback().await?;
    log::warn!("Shopify {what} {id} is not imported: {error}");
    Ok(())
}

fn database(error: sqlx::Error) -> PartError {
    PartError {
        permanent: false,
        message: format!("the database: {error}"),
    }
}
