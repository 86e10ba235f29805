//! A stand-in for a store's GraphQL Admin API, over HTTPS on loopback (its certificate is
//! made here; the app trusts it through `OUTBOUND_CA_FILE`). It checks the access token,
//! answers the queries and mutations shopbridge sends (told apart by operation name), pages
//! orders and products by id, charges each query's cost to a leaky bucket as Shopify does
//! (the requested cost must be available; what was not used is given back) and answers
//! THROTTLED when it is not, and keeps webhook subscriptions and fulfillments.
//!
//! Shared with `benches/shopify_import.rs`, so it uses nothing of the tests' helpers.

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use shopbridge::configuration::TlsSettings;

pub const TOKEN: &str = "shpat_0123456789abcdef0123456789abcdef";
pub const API_PATH: &str = "/admin/api/2026-10/graphql.json";

pub struct StandIn {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

/// The certificate every stand-in of this process serves (for `localhost` and
/// `127.0.0.1`), made once.
fn certificate() -> &'static TlsSettings {
    static CERTIFICATE: OnceLock<TlsSettings> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("shopbridge-standin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let tls = TlsSettings {
            cert_path: dir.join("cert.pem"),
            key_path: dir.join("key.pem"),
        };
        std::fs::write(&tls.cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&tls.key_path, cert.key_pair.serialize_pem()).unwrap();
        tls
    })
}

/// The PEM file of the stand-ins' certificate, for `OUTBOUND_CA_FILE`.
pub fn ca_file() -> PathBuf {
    certificate().cert_path.clone()
}

pub struct Bucket {
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
    at: Instant,
}

impl Bucket {
    /// Empty from now on (another app of the store spent it).
    pub fn drain(&mut self) {
        self.available = 0.0;
        self.at = Instant::now();
    }

    fn refill(&mut self) {
        let now = Instant::now();
        self.available = (self.available
            + self.restore_rate * now.duration_since(self.at).as_secs_f64())
        .min(self.maximum);
        self.at = now;
    }
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub topic: String,
    pub uri: String,
}

pub struct State {
    pub token: String,
    pub name: String,
    pub domain: String,
    /// Orders by id, as the API answers them, `lineItems` a plain list of every line.
    pub orders: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    pub subscriptions: Vec<Subscription>,
    /// Every subscription made (deleted ones too).
    pub subscriptions_created: usize,
    /// Fulfillments made: id, order id, tracking number, lines (fulfillment order line id,
    /// quantity).
    pub fulfillments: Vec<Value>,
    pub tracking_updates: Vec<Value>,
    pub bucket: Bucket,
    /// Points charged (actual costs).
    pub spent: f64,
    pub throttled: usize,
    pub requests: usize,
    /// Each answer waits this long (a real store answers in 100 ms or more).
    pub latency: Duration,
    /// Statuses answered to the next requests, whatever they are.
    pub forced: VecDeque<u16>,
    /// Operation names, in the order they came.
    pub operations: Vec<String>,
    /// An operation answered with Shopify's INTERNAL_SERVER_ERROR once this many of it went
    /// through, as in an outage.
    pub failing: Option<(&'static str, usize)>,
    next_id: i64,
}

impl State {
    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn count(&self, operation: &str) -> usize {
        self.operations.iter().filter(|o| *o == operation).count()
    }
}

/// An order as the Admin API answers it, with `lines` line items of quantity 1.
pub fn order(id: i64, lines: usize, updated_at: &str) -> Value {
    json!({
        "id": format!("gid://shopify/Order/{id}"),
        "name": format!("#{id}"),
        "email": format!("buyer{}@example.com", id % 500),
        "createdAt": "2025-06-01T10:00:00Z",
        "updatedAt": updated_at,
        "processedAt": "2025-06-01T10:00:00Z",
        "cancelledAt": null,
        "currencyCode": "EUR",
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "paymentGatewayNames": ["shopify_payments"],
        "totalPriceSet": {"shopMoney": {"amount": format!("{}.00", 10 * lines)}},
        "subtotalPriceSet": {"shopMoney": {"amount": format!("{}.00", 10 * lines)}},
        "totalDiscountsSet": {"shopMoney": {"amount": "0.00"}},
        "totalTaxSet": {"shopMoney": {"amount": "0.00"}},
        "totalShippingPriceSet": {"shopMoney": {"amount": "0.00"}},
        "shippingLine": {"title": "Standard"},
        "shippingAddress": {"firstName": "Ada", "lastName": "Lovelace", "company": null,
            "address1": "1 Main St", "address2": null, "city": "Athens", "province": null,
            "zip": "10558", "country": "Greece", "phone": null},
        "customer": {"id": format!("gid://shopify/Customer/{}", 1_000_000 + id % 500),
            "email": format!("buyer{}@example.com", id % 500), "firstName": "Ada",
            "lastName": "Lovelace", "phone": null, "createdAt": "2025-01-01T00:00:00Z",
            "defaultAddress": null},
        "lineItems": (0..lines).map(|n| json!({
            "id": format!("gid://shopify/LineItem/{}", id * 100 + n as i64),
            "sku": format!("SKU-{n}"), "name": format!("Item {n}"), "title": format!("Item {n}"),
            "quantity": 1,
            "originalUnitPriceSet": {"shopMoney": {"amount": "10.00"}},
            "product": null, "variant": null
        })).collect::<Vec<_>>()
    })
}

/// A product as the Admin API answers it, with `variants` variants.
pub fn product(id: i64, variants: usize) -> Value {
    json!({
        "id": format!("gid://shopify/Product/{id}"),
        "title": format!("Product {id}"), "descriptionHtml": "<p>Soft</p>", "vendor": "Acme",
        "productType": "Shirts", "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-06-01T00:00:00Z", "publishedAt": "2025-01-01T00:00:00Z",
        "status": "ACTIVE", "handle": format!("product-{id}"), "tags": ["cotton"],
        "options": [{"name": "Size", "position": 1}],
        "featuredImage": {"url": format!("https://cdn.example.com/{id}.jpg")},
        "variants": (0..variants).map(|n| json!({
            "id": format!("gid://shopify/ProductVariant/{}", id * 1000 + n as i64),
            "sku": format!("P{id}-{n}"), "price": "19.90", "inventoryQuantity": 5,
            "selectedOptions": [{"name": "Size", "value": format!("S{n}")}],
            "inventoryItem": {"tracked": true}
        })).collect::<Vec<_>>()
    })
}

fn gid_number(gid: &str) -> i64 {
    gid.rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The ids after `N` in a `query: "id:>N …"` argument.
fn after_id(query: &str) -> i64 {
    query
        .split_whitespace()
        .find_map(|term| term.strip_prefix("id:>"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A page of a plain list, from the offset a cursor holds.
fn page(list: &[Value], first: usize, after: Option<&str>) -> Value {
    let start: usize = after.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + first).min(list.len());
    json!({
        "nodes": list[start.min(end)..end].to_vec(),
        "pageInfo": {"hasNextPage": end < list.len(), "endCursor": end.to_string()}
    })
}

/// The operation's data and its actual cost; requested cost is taken before.
fn answer(state: &mut State, operation: &str, variables: &Value) -> (Value, f64) {
    let first = |name: &str| variables[name].as_u64().unwrap_or(0) as usize;
    match operation {
        "Shop" => (
            json!({"shop": {"name": state.name, "myshopifyDomain": state.domain}}),
            1.0,
        ),
        "Counts" => (
            json!({"ordersCount": {"count": state.orders.len()},
                   "productsCount": {"count": state.products.len()}}),
            2.0,
        ),
        "Orders" => {
            let after = after_id(variables["query"].as_str().unwrap_or(""));
            let lines = first("lines");
            let nodes: Vec<Value> = state
                .orders
                .range(after + 1..)
                .take(first("first"))
                .map(|(_, order)| {
                    let mut order = order.clone();
                    let all = order["lineItems"].as_array().cloned().unwrap_or_default();
                    order["lineItems"] = page(&all, lines, None);
                    order
                })
                .collect();
            let cost = 2.0
                + nodes
                    .iter()
                    .map(|o| {
                        15.0 + 2.0 + 5.0 * o["lineItems"]["nodes"].as_array().unwrap().len() as f64
                    })
                    .sum::<f64>();
            (json!({"orders": {"nodes": nodes}}), cost)
        }
        "OrderLines" => {
            let id = gid_number(variables["id"].as_str().unwrap_or(""));
            let all = state
                .orders
                .get(&id)
                .map(|o| o["lineItems"].as_array().cloned().unwrap_or_default());
            match all {
                Some(all) => {
                    let lines = page(&all, first("first"), variables["after"].as_str());
                    let cost = 3.0 + 5.0 * lines["nodes"].as_array().unwrap().len() as f64;
                    (json!({"order": {"lineItems": lines}}), cost)
                }
                None => (json!({"order": null}), 1.0),
            }
        }
        "Products" => {
            let after = after_id(variables["query"].as_str().unwrap_or(""));
            let nodes: Vec<Value> = state
                .products
                .range(after + 1..)
                .take(first("first"))
                .map(|(_, product)| {
                    let mut product = product.clone();
                    let all = product["variants"].as_array().cloned().unwrap_or_default();
                    product["variants"] = page(&all, first("variants"), None);
                    product
                })
                .collect();
            let cost = 2.0
                + nodes
                    .iter()
                    .map(|p| 5.0 + 3.0 * p["variants"]["nodes"].as_array().unwrap().len() as f64)
                    .sum::<f64>();
            (json!({"products": {"nodes": nodes}}), cost)
        }
        "ProductVariants" => {
            let id = gid_number(variables["id"].as_str().unwrap_or(""));
            let all = state
                .products
                .get(&id)
                .map(|p| p["variants"].as_array().cloned().unwrap_or_default());
            match all {
                Some(all) => {
                    let variants = page(&all, first("first"), variables["after"].as_str());
                    let cost = 3.0 + 3.0 * variants["nodes"].as_array().unwrap().len() as f64;
                    (json!({"product": {"variants": variants}}), cost)
                }
                None => (json!({"product": null}), 1.0),
            }
        }
        "Subscriptions" => {
            let all: Vec<Value> = state
                .subscriptions
                .iter()
                .map(|s| json!({"id": s.id, "topic": s.topic, "uri": s.uri}))
                .collect();
            let listed = page(&all, 100, variables["after"].as_str());
            let cost = 2.0 + listed["nodes"].as_array().unwrap().len() as f64;
            (json!({"webhookSubscriptions": listed}), cost)
        }
        "SubscriptionCreate" => {
            let id = format!("gid://shopify/WebhookSubscription/{}", state.new_id());
            state.subscriptions.push(Subscription {
                id: id.clone(),
                topic: variables["topic"].as_str().unwrap_or_default().to_owned(),
                uri: variables["uri"].as_str().unwrap_or_default().to_owned(),
            });
            state.subscriptions_created += 1;
            (
                json!({"webhookSubscriptionCreate": {"webhookSubscription": {"id": id},
                                                     "userErrors": []}}),
                10.0,
            )
        }
        "SubscriptionDelete" => {
            let id = variables["id"].as_str().unwrap_or_default();
            state.subscriptions.retain(|s| s.id != id);
            (
                json!({"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": id,
                                                     "userErrors": []}}),
                10.0,
            )
        }
        "OrderFulfillment" => {
            let id = gid_number(variables["id"].as_str().unwrap_or(""));
            let Some(order) = state.orders.get(&id) else {
                return (json!({"order": null}), 1.0);
            };
            let made: Vec<&Value> = state
                .fulfillments
                .iter()
                .filter(|f| f["order"] == id)
                .collect();
            let fulfilled = |line: i64| -> i64 {
                made.iter()
                    .flat_map(|f| f["lines"].as_array().cloned().unwrap_or_default())
                    .filter(|l| l[0] == line)
                    .map(|l| l[1].as_i64().unwrap_or(0))
                    .sum()
            };
            let lines: Vec<Value> = order["lineItems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|line| {
                    let line_id = gid_number(line["id"].as_str().unwrap_or(""));
                    let remaining = line["quantity"].as_i64().unwrap_or(0) - fulfilled(line_id);
                    json!({"id": format!("gid://shopify/FulfillmentOrderLineItem/{line_id}"),
                           "remainingQuantity": remaining, "lineItem": {"id": line["id"]}})
                })
                .collect();
            let open = lines
                .iter()
                .any(|l| l["remainingQuantity"].as_i64() > Some(0));
            let fulfillments: Vec<Value> = made
                .iter()
                .map(|f| {
                    json!({"id": format!("gid://shopify/Fulfillment/{}", f["id"]),
                               "trackingInfo": [{"number": f["number"]}]})
                })
                .collect();
            (
                json!({"order": {
                    "fulfillments": fulfillments,
                    "fulfillmentOrders": {"nodes": [{
                        "id": format!("gid://shopify/FulfillmentOrder/{id}"),
                        "status": if open { "OPEN" } else { "CLOSED" },
                        "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}},
                        "lineItems": {"nodes": lines}
                    }]}
                }}),
                10.0,
            )
        }
        "FulfillmentCreate" => {
            let input = &variables["fulfillment"];
            let by_order = input["lineItemsByFulfillmentOrder"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let order = by_order
                .first()
                .map(|fo| gid_number(fo["fulfillmentOrderId"].as_str().unwrap_or("")))
                .unwrap_or(0);
            let lines: Vec<Value> = match by_order
                .first()
                .map(|fo| &fo["fulfillmentOrderLineItems"])
            {
                Some(Value::Array(lines)) => lines
                    .iter()
                    .map(|l| json!([gid_number(l["id"].as_str().unwrap_or("")), l["quantity"]]))
                    .collect(),
                _ => state.orders.get(&order).map_or(vec![], |o| {
                    o["lineItems"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|l| json!([gid_number(l["id"].as_str().unwrap_or("")), l["quantity"]]))
                        .collect()
                }),
            };
            let id = 5_000_000_000 + state.new_id();
            state.fulfillments.push(json!({
                "id": id, "order": order, "number": input["trackingInfo"]["number"],
                "company": input["trackingInfo"]["company"], "lines": lines
            }));
            (
                json!({"fulfillmentCreate": {
                    "fulfillment": {"id": format!("gid://shopify/Fulfillment/{id}")},
                    "userErrors": []}}),
                10.0,
            )
        }
        "TrackingUpdate" => {
            state.tracking_updates.push(json!({
                "id": gid_number(variables["id"].as_str().unwrap_or("")),
                "number": variables["tracking"]["number"]
            }));
            (
                json!({"fulfillmentTrackingInfoUpdate": {
                    "fulfillment": {"id": variables["id"]}, "userErrors": []}}),
                10.0,
            )
        }
        other => panic!("the stand-in does not know {other}"),
    }
}

/// What shopbridge asks for each operation, as Shopify would compute it from the query.
fn requested(operation: &str, variables: &Value) -> f64 {
    let first = |name: &str| variables[name].as_f64().unwrap_or(0.0);
    match operation {
        "Orders" => 2.0 + first("first") * (15.0 + 2.0 + 5.0 * first("lines")),
        "OrderLines" => 1.0 + 2.0 + first("first") * 5.0,
        "Products" => 2.0 + first("first") * (3.0 + 2.0 + 3.0 * first("variants")),
        "ProductVariants" => 1.0 + 2.0 + first("first") * 3.0,
        "Subscriptions" => 102.0,
        "OrderFulfillment" => 100.0,
        "Shop" => 1.0,
        "Counts" => 2.0,
        _ => 10.0,
    }
}

async fn graphql(
    request: HttpRequest,
    body: web::Json<Value>,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let latency = state.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut state = state.lock().unwrap();
    state.requests += 1;
    if let Some(status) = state.forced.pop_front() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(json!({"errors": "forced"}));
    }
    let token = request
        .headers()
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(state.token.as_str()) {
        return HttpResponse::Unauthorized().json(json!({
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }));
    }
    let query = body["query"].as_str().unwrap_or_default();
    let operation = query
        .split_whitespace()
        .skip_while(|w| *w != "query" && *w != "mutation")
        .nth(1)
        .unwrap_or_default()
        .split('(')
        .next()
        .unwrap_or_default()
        .to_owned();
    let variables = body["variables"].clone();
    let asked = requested(&operation, &variables);
    state.bucket.refill();
    let status = |state: &State| {
        json!({"maximumAvailable": state.bucket.maximum,
               "currentlyAvailable": state.bucket.available,
               "restoreRate": state.bucket.restore_rate})
    };
    if asked > state.bucket.available {
        state.throttled += 1;
        return HttpResponse::Ok().json(json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": asked, "actualQueryCost": null,
                                    "throttleStatus": status(&state)}}
        }));
    }
    if let Some((failing, after)) = state.failing {
        if failing == operation && state.count(&operation) >= after {
            return HttpResponse::Ok().json(json!({"errors": [{
                "message": "Internal error. Looks like something went wrong on our end.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}));
        }
    }
    state.operations.push(operation.clone());
    let (data, actual) = answer(&mut state, &operation, &variables);
    let actual = actual.min(asked);
    state.bucket.available -= actual;
    state.spent += actual;
    HttpResponse::Ok().json(json!({
        "data": data,
        "extensions": {"cost": {"requestedQueryCost": asked, "actualQueryCost": actual,
                                "throttleStatus": status(&state)}}
    }))
}

impl StandIn {
    /// A store named `Stand-in Store` with an empty bucket of `maximum` points refilled at
    /// `restore_rate` a second, full at the start.
    pub async fn start(maximum: f64, restore_rate: f64) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            token: TOKEN.into(),
            name: "Stand-in Store".into(),
            domain: "stand-in.myshopify.com".into(),
            orders: BTreeMap::new(),
            products: BTreeMap::new(),
            subscriptions: Vec::new(),
            subscriptions_created: 0,
            failing: None,
            fulfillments: Vec::new(),
            tracking_updates: Vec::new(),
            bucket: Bucket {
                maximum,
                available: maximum,
                restore_rate,
                at: Instant::now(),
            },
            spent: 0.0,
            throttled: 0,
            requests: 0,
            latency: Duration::ZERO,
            forced: VecDeque::new(),
            operations: Vec::new(),
            next_id: 0,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = shopbridge::http::tls::server_config(certificate()).unwrap();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(1 << 20))
                .route(API_PATH, web::post().to(graphql))
        })
        .workers(2)
        .disable_signals()
        .listen_rustls_0_23(listener, config)
        .unwrap()
        .run();
        tokio::spawn(server);
        StandIn {
            url: format!("https://localhost:{port}"),
            state,
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// `count` orders with ids from `first_id` on, `lines` line items each (every
    /// `long_every`-th with `long_lines`).
    pub fn add_orders(&self, first_id: i64, count: i64, lines: usize, long: (i64, usize)) {
        let mut state = self.state();
        for id in first_id..first_id + count {
            let lines = if long.0 > 0 && id % long.0 == 0 {
                long.1
            } else {
                lines
            };
            state
                .orders
                .insert(id, order(id, lines, "2025-06-01T10:00:00Z"));
        }
    }
}
