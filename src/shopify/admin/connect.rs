//! Connecting a store: the token is checked (`shop`), the webhook subscriptions the
//! switches need are made to be exactly those shopbridge has there (created when missing,
//! deleted when no longer needed, never twice), the store and its destination are recorded,
//! and the imports a switch turned on start. Removing the integration deletes the
//! subscriptions again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::client::{AdminApi, AdminError};
use super::graphql::{self, Subscription};
use super::import::{Catalog, OrderHistory, ORDERS_PER_PAGE, PRODUCTS_PER_PAGE};
use super::{tracking, Admin, Store, DESTINATION};
use crate::delivery::destinations::{self, DestinationError, DestinationName};
use crate::events::EventPattern;
use crate::jobs::{self, Job, JobState, StartError};
use crate::shopify::topic::Endpoint;

/// The integration's three switches, and the order history's lower date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Switches {
    pub import_orders: bool,
    pub sync_products: bool,
    pub push_tracking: bool,
    pub orders_since: Option<DateTime<Utc>>,
}

impl Switches {
    /// The webhook topics they need, each with the URL that receives it.
    pub fn topics(&self) -> Vec<(&'static str, Endpoint)> {
        let wanted = |topic: &str| match topic.split_once('/').map(|(subject, _)| subject) {
            Some("orders") => self.import_orders,
            Some("fulfillments") => self.import_orders || self.push_tracking,
            _ => self.sync_products,
        };
        [Endpoint::Orders, Endpoint::Products]
            .into_iter()
            .flat_map(|endpoint| {
                endpoint
                    .topics()
                    .iter()
                    .map(move |topic| (*topic, endpoint))
            })
            .filter(|(topic, _)| wanted(topic))
            .collect()
    }
}

/// What can be imported again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    Orders,
    Products,
}

impl Import {
    pub fn parse(name: &str) -> Option<Import> {
        match name {
            "orders" => Some(Import::Orders),
            "products" => Some(Import::Products),
            _ => None,
        }
    }
}

/// `orders/create` as the Admin API names it: `ORDERS_CREATE`.
pub fn topic_enum(topic: &str) -> String {
    topic.replace('/', "_").to_ascii_uppercase()
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// 401/403: the token is wrong, revoked, or lacks a scope.
    #[error("Shopify refused the Admin API access token: {0}")]
    Unauthorized(String),
    /// The store URL leads nowhere, or to an address the outbound guard refuses.
    #[error("{0}")]
    StoreUrl(String),
    /// Subscriptions are needed, and Shopify would not know where to send them.
    #[error(
        "PUBLIC_URL is not set: Shopify's webhook subscriptions need shopbridge's public \
         https address"
    )]
    NoPublicUrl,
    #[error("Shopify: {0}")]
    Upstream(String),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AdminError> for ConnectError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Unauthorized(message) => ConnectError::Unauthorized(message),
            // When connecting, a store URL that leads nowhere is the owner's to fix.
            wrong @ (AdminError::Forbidden(_) | AdminError::Unreachable(_)) => {
                ConnectError::StoreUrl(wrong.to_string())
            }
            AdminError::Database(e) => ConnectError::Database(e),
            other => ConnectError::Upstream(other.to_string()),
        }
    }
}

/// Every webhook subscription of the app in the store.
async fn subscriptions(api: &AdminApi) -> Result<Vec<Subscription>, AdminError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data: graphql::SubscriptionsData = api
            .query(
                graphql::WEBHOOK_SUBSCRIPTIONS,
                json!({"after": after}),
                graphql::WEBHOOK_SUBSCRIPTIONS_COST as f64,
            )
            .await?;
        let page = data.webhook_subscriptions;
        all.extend(page.nodes);
        match page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = Some(cursor),
            _ => return Ok(all),
        }
    }
}

/// What connecting changes at the store: the subscriptions it keeps (topic → id), those it
/// made, and those no longer wanted.
#[derive(Default)]
struct SubscriptionChange {
    kept: BTreeMap<String, String>,
    made: Vec<String>,
    unwanted: Vec<String>,
}

/// Creates the subscriptions pointing at `base`'s intake URLs that `wanted` lacks and finds
/// those it no longer wants, deleting none yet. A creation that fails deletes the ones this
/// call made before it, so nothing it made is left at the store.
async fn create_missing(
    api: &AdminApi,
    base: &reqwest::Url,
    wanted: &[(&'static str, Endpoint)],
) -> Result<SubscriptionChange, AdminError> {
    let base = base.as_str().trim_end_matches('/');
    let uri = |endpoint: Endpoint| format!("{base}{}", endpoint.path());
    let ours_prefix = format!("{base}/shopify/webhooks/");
    let existing: Vec<Subscription> = subscriptions(api)
        .await?
        .into_iter()
        .filter(|s| {
            s.uri
                .as_deref()
                .is_some_and(|u| u.starts_with(&ours_prefix))
        })
        .collect();
    let mut change = SubscriptionChange::default();
    for (topic, endpoint) in wanted {
        let (name, target) = (topic_enum(topic), uri(*endpoint));
        let found = existing
            .iter()
            .find(|s| s.topic == name && s.uri.as_deref() == Some(target.as_str()));
        let id = match found {
            Some(subscription) => subscription.id.clone(),
            None => match create(api, &name, &target).await {
                Ok(id) => {
                    change.made.push(id.clone());
                    id
                }
                Err(error) => {
                    undo(api, &change.made).await;
                    return Err(error);
                }
            },
        };
        change.kept.insert((*topic).to_owned(), id);
    }
    change.unwanted = existing
        .into_iter()
        .map(|s| s.id)
        .filter(|id| !change.kept.values().any(|kept| kept == id))
        .collect();
    Ok(change)
}

async fn create(api: &AdminApi, topic: &str, uri: &str) -> Result<String, AdminError> {
    let data: graphql::SubscriptionCreateData = api
        .query(
            graphql::WEBHOOK_SUBSCRIPTION_CREATE,
            json!({"topic": topic, "uri": uri}),
            graphql::MUTATION_COST as f64,
        )
        .await?;
    Ok(data
        .webhook_subscription_create
        .made()
        .map_err(AdminError::Refused)?
        .webhook_subscription
        .ok_or_else(|| AdminError::Refused(format!("{topic}: no subscription made")))?
        .id)
}

async fn delete(api: &AdminApi, ids: &[String]) -> Result<(), AdminError> {
    for id in ids {
        let data: graphql::SubscriptionDeleteData = api
            .query(
                graphql::WEBHOOK_SUBSCRIPTION_DELETE,
                json!({"id": id}),
                graphql::MUTATION_COST as f64,
            )
            .await?;
        data.webhook_subscription_delete
            .made()
            .map_err(AdminError::Refused)?;
    }
    Ok(())
}

/// Deletes the subscriptions a connect that failed made; what cannot be deleted is said in
/// the log (the next connect adopts or deletes it).
async fn undo(api: &AdminApi, made: &[String]) {
    if let Err(error) = delete(api, made).await {
        log::warn!("the subscriptions a failed connect made were not all deleted: {error}");
    }
}

/// Makes the subscriptions pointing at `base`'s intake URLs exactly `wanted`: creates the
/// missing ones, deletes the others. Topic → subscription id.
async fn sync_subscriptions(
    api: &AdminApi,
    base: &reqwest::Url,
    wanted: &[(&'static str, Endpoint)],
) -> Result<BTreeMap<String, String>, AdminError> {
    let change = create_missing(api, base, wanted).await?;
    delete(api, &change.unwanted).await?;
    Ok(change.kept)
}

impl Admin {
    /// Connects the store at `store_url` with `token` as `switches` say, `before` being what
    /// they were (None: not connected); the destination's id. Everything is read from the
    /// store before anything is made there; a connect that fails after making subscriptions
    /// deletes them again, and deletes the unwanted ones only once the store is recorded.
    pub async fn connect(
        &self,
        store: Store,
        switches: &Switches,
        before: Option<&Switches>,
    ) -> Result<i64, ConnectError> {
        let api = store
            .api(&self.http, &self.pool)
            .await
            .map_err(ConnectError::Upstream)?;
        let shop: graphql::ShopData = api
            .query(graphql::SHOP, json!({}), graphql::SHOP_COST as f64)
            .await?;
        let since = switches.orders_since.map(|since| since.to_rfc3339());
        let counts: graphql::CountsData = api
            .query(
                graphql::COUNTS,
                json!({"orders": since.map_or(String::new(), |s| format!("created_at:>='{s}'"))}),
                graphql::COUNTS_COST as f64,
            )
            .await?;
        let wanted = switches.topics();
        if self.public_url.is_none() && !wanted.is_empty() {
            return Err(ConnectError::NoPublicUrl);
        }
        self.leave_previous_store(&store).await;
        let change = match &self.public_url {
            Some(base) => create_missing(&api, base, &wanted).await?,
            None => SubscriptionChange::default(),
        };
        let recorded = self
            .record(&store, &shop, &counts, &change.kept, switches, before)
            .await;
        let id = match recorded {
            Ok(id) => id,
            Err(error) => {
                undo(&api, &change.made).await;
                return Err(error);
            }
        };
        // Left in place, an unwanted subscription's webhooks are stored as ignored; the
        // next connect deletes it.
        if let Err(error) = delete(&api, &change.unwanted).await {
            log::warn!("subscriptions no longer wanted were not all deleted: {error}");
        }
        self.orders.wake();
        self.products.wake();
        Ok(id)
    }

    /// Records the connected store, its destination and its imports, in one transaction.
    async fn record(
        &self,
        store: &Store,
        shop: &graphql::ShopData,
        counts: &graphql::CountsData,
        subscriptions: &BTreeMap<String, String>,
        switches: &Switches,
        before: Option<&Switches>,
    ) -> Result<i64, ConnectError> {
        let mut tx = self.pool.begin().await?;
        // Processes configuring together do it one after the other.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbridge.shopify-admin'))")
            .execute(&mut *tx)
            .await?;
        let previous: Option<(String, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT domain, orders_since FROM shopify_store")
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO shopify_store (store_url, name, domain, subscriptions, orders_since,
                                        orders_total, products_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (singleton) DO UPDATE SET
                 store_url = EXCLUDED.store_url, name = EXCLUDED.name,
                 domain = EXCLUDED.domain, subscriptions = EXCLUDED.subscriptions,
                 orders_since = EXCLUDED.orders_since, orders_total = EXCLUDED.orders_total,
                 products_total = EXCLUDED.products_total,
                 connected_at = CASE WHEN shopify_store.domain = EXCLUDED.domain
                                     THEN shopify_store.connected_at ELSE now() END",
        )
        .bind(&store.store_url)
        .bind(&shop.shop.name)
        .bind(&shop.shop.myshopify_domain)
        .bind(sqlx::types::Json(subscriptions))
        .bind(switches.orders_since)
        .bind(counts.orders_count.count)
        .bind(counts.products_count.count)
        .execute(&mut *tx)
        .await?;
        let id = self.configure_destination(&mut tx, store).await?;
        let same_store = previous
            .as_ref()
            .is_some_and(|(domain, _)| *domain == shop.shop.myshopify_domain);
        let same_since = previous
            .as_ref()
            .is_some_and(|(_, since)| *since == switches.orders_since);
        let was = |on: fn(&Switches) -> bool| same_store && before.is_some_and(on);
        let orders_afresh = !was(|s| s.import_orders) || !same_since;
        let products_afresh = !was(|s| s.sync_products);
        self.steer(
            &mut tx,
            OrderHistory::KIND,
            switches.import_orders,
            orders_afresh,
        )
        .await?;
        self.steer(
            &mut tx,
            Catalog::KIND,
            switches.sync_products,
            products_afresh,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Another store (or token) than the one connected before: the subscriptions made there
    /// go, as far as that store still lets them (it may have revoked the token).
    async fn leave_previous_store(&self, store: &Store) {
        let previous = match destinations::config(&self.pool, &self.vault, DESTINATION).await {
            Ok(Some(config)) => serde_json::from_value::<Store>(config).ok(),
            _ => None,
        };
        let Some(previous) = previous
            .filter(|p| p.store_url != store.store_url || p.access_token != store.access_token)
        else {
            return;
        };
        let (Some(base), Ok(api)) = (&self.public_url, previous.api(&self.http, &self.pool).await)
        else {
            return;
        };
        if let Err(error) = sync_subscriptions(&api, base, &[]).await {
            log::warn!(
                "the subscriptions at {} were not deleted: {error}",
                previous.store_url
            );
        }
    }

    /// The `shopify` destination, made or changed to `store`.
    async fn configure_destination(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        store: &Store,
    ) -> Result<i64, DestinationError> {
        let kind = &self.tracking;
        let config = serde_json::to_value(store).expect("a store serialises");
        let events: Vec<EventPattern> = tracking::EVENTS
            .iter()
            .map(|e| EventPattern::try_from((*e).to_owned()).expect("an event name"))
            .collect();
        match destinations::id_of(&mut **tx, DESTINATION).await? {
            Some(id) => {
                destinations::reconfigure_in(
                    tx,
                    &self.vault,
                    DESTINATION,
                    kind.as_ref(),
                    Some(&events),
                    |_| Ok(config),
                )
                .await?;
                Ok(id)
            }
            None => {
                let name = DestinationName::parse(DESTINATION).expect("a valid destination name");
                destinations::add_in(tx, &self.vault, &name, kind.as_ref(), &events, config).await
            }
        }
    }

    /// Starts the import of `kind` when its switch is on and `afresh` (turned on, another
    /// store, another date) or none ran to its end; resumes a failed one when it is on;
    /// cancels it when it is off.
    async fn steer(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        kind: &str,
        on: bool,
        afresh: bool,
    ) -> Result<(), sqlx::Error> {
        if !on || afresh {
            let why = match on {
                true => "the import was started again",
                false => "its switch was turned off",
            };
            jobs::cancel_in(tx, kind, why).await?;
        }
        if !on {
            return Ok(());
        }
        // A job done or under way is left alone; a failed one resumes.
        let latest: Option<JobState> =
            sqlx::query_scalar("SELECT state FROM jobs WHERE kind = $1 ORDER BY id DESC LIMIT 1")
                .bind(kind)
                .fetch_optional(&mut **tx)
                .await?;
        if afresh || matches!(latest, None | Some(JobState::Failed | JobState::Canceled)) {
            let _ = match kind {
                OrderHistory::KIND => {
                    jobs::start_in(tx, self.orders.definition(), ORDERS_PER_PAGE).await?
                }
                _ => jobs::start_in(tx, self.products.definition(), PRODUCTS_PER_PAGE).await?,
            };
        }
        Ok(())
    }

    /// Forgets the store: its subscriptions are deleted there (a token Shopify refuses, or a
    /// store nobody answers for, cannot be asked, and needs not: the app's subscriptions go
    /// with its token or its store), then the imports, the destination and the record here.
    pub async fn disconnect(&self) -> Result<(), ConnectError> {
        let store = destinations::config(&self.pool, &self.vault, DESTINATION).await?;
        let store = store.and_then(|config| serde_json::from_value::<Store>(config).ok());
        if let (Some(store), Some(base)) = (store, &self.public_url) {
            let api = store
                .api(&self.http, &self.pool)
                .await
                .map_err(ConnectError::Upstream)?;
            match sync_subscriptions(&api, base, &[]).await {
                Ok(_) | Err(AdminError::Unauthorized(_) | AdminError::Unreachable(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let mut tx = self.pool.begin().await?;
        for kind in [OrderHistory::KIND, Catalog::KIND] {
            jobs::cancel_in(&mut tx, kind, "the store was disconnected").await?;
        }
        destinations::forget(&mut *tx, DESTINATION).await?;
        sqlx::query("DELETE FROM shopify_store")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts the import of `what` again over the store as it is now (or resumes the
    /// failed one), while a store is connected.
    pub async fn start_import(&self, what: Import) -> Result<jobs::Started, StartError> {
        let started = match what {
            Import::Orders => {
                jobs::start(&self.pool, self.orders.definition(), ORDERS_PER_PAGE).await?
            }
            Import::Products => {
                jobs::start(&self.pool, self.products.definition(), PRODUCTS_PER_PAGE).await?
            }
        };
        self.orders.wake();
        self.products.wake();
        Ok(started)
    }

    /// Whether a store is connected (its token configured).
    pub async fn connected(&self) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM shopify_store)")
            .fetch_one(&self.pool)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_switch_subscribes_its_topics_at_their_url() {
        let none = Switches::default();
        assert!(none.topics().is_empty());
        let tracking = Switches {
            push_tracking: true,
            ..Switches::default()
        };
        assert_eq!(
            tracking.topics(),
            [
                ("fulfillments/create", Endpoint::Orders),
                ("fulfillments/update", Endpoint::Orders)
            ]
        );
        let all = Switches {
            import_orders: true,
            sync_products: true,
            push_tracking: true,
            orders_since: None,
        };
        let topics = all.topics();
        assert_eq!(topics.len(), 11, "{topics:?}");
        assert!(topics.contains(&("products/delete", Endpoint::Products)));
        assert_eq!(
            topic_enum("orders/partially_fulfilled"),
            "ORDERS_PARTIALLY_FULFILLED"
        );
    }
}
