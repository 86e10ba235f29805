//! A stand-in for Rfmcube's push API (seed 002) on loopback: it checks the `api-key`, the
//! connector's platform, the request size and 60 requests per window (a second here, so
//! tests run in seconds), runs imports as processes that complete after a delay (and only
//! then hold their data), and keeps what it was sent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const PUSH_KEY: &str = "rfmcube-connector-key-0001";

pub struct StandIn {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
}

pub struct State {
    pub api_key: String,
    /// The connector was created with "Use the Rfmcube API": else 406.
    pub platform_ok: bool,
    pub max_bytes: usize,
    pub limit: usize,
    pub window: Duration,
    pub process_delay: Duration,
    /// The next import processes that fail.
    pub failing_processes: usize,
    /// Statuses answered to the next requests, whatever they are.
    pub forced: VecDeque<u16>,
    /// When each request it took arrived.
    pub arrivals: Vec<Instant>,
    /// Requests turned away with 429.
    pub throttled: usize,
    pub too_large: usize,
    /// Customers by id (guests by `guest:<email>`), without their orders.
    pub customers: BTreeMap<String, Value>,
    /// Orders by id, as last received.
    pub orders: BTreeMap<String, Value>,
    /// How often each order id arrived (in an import or a merge).
    pub order_arrivals: HashMap<String, usize>,
    /// Each call: its path and body.
    pub calls: Vec<(String, Value)>,
    processes: Vec<Process>,
}

struct Process {
    ready_at: Instant,
    failed: bool,
    applied: bool,
    body: Value,
}

impl StandIn {
    pub async fn start() -> StandIn {
        let state = Arc::new(Mutex::new(State {
            api_key: PUSH_KEY.into(),
            platform_ok: true,
            max_bytes: 10 * 1024 * 1024,
            limit: 60,
            window: Duration::from_secs(1),
            process_delay: Duration::from_millis(50),
            failing_processes: 0,
            forced: VecDeque::new(),
            arrivals: Vec::new(),
            throttled: 0,
            too_large: 0,
            customers: BTreeMap::new(),
            orders: BTreeMap::new(),
            order_arrivals: HashMap::new(),
            calls: Vec::new(),
            processes: Vec::new(),
        }));
        let server = MockServer::start().await;
        Mock::given(path_regex("^/v1/.*"))
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        StandIn { server, state }
    }

    /// The API's base, as `pushUrl` or `RFMCUBE_PUSH_URL` takes it.
    pub fn url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap();
        state.settle();
        state
    }

    /// Calls made to `path` (`merge_order`, `import`, …).
    pub fn calls_to(&self, path: &str) -> Vec<Value> {
        self.state()
            .calls
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The most requests it took in any window.
    pub fn busiest_window(&self) -> usize {
        let state = self.state();
        let arrivals = &state.arrivals;
        (0..arrivals.len())
            .map(|i| {
                arrivals[i..]
                    .iter()
                    .take_while(|at| **at < arrivals[i] + state.window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

impl State {
    /// Imports whose processes completed hold their data from then on.
    fn settle(&mut self) {
        let now = Instant::now();
        let ready: Vec<Value> = self
            .processes
            .iter_mut()
            .filter(|p| !p.applied && !p.failed && p.ready_at <= now)
            .map(|p| {
                p.applied = true;
                p.body.clone()
            })
            .collect();
        for body in ready {
            for customer in body["customers"].as_array().into_iter().flatten() {
                let mut own = customer.clone();
                let orders = own
                    .as_object_mut()
                    .and_then(|o| o.remove("orders"))
                    .unwrap_or(json!([]));
                let key = match customer["id"].as_str() {
                    Some(id) => id.to_owned(),
                    None => format!("guest:{}", customer["email"].as_str().unwrap_or_default()),
                };
                self.customers.insert(key, own);
                for order in orders.as_array().into_iter().flatten() {
                    self.take_order(order);
                }
            }
        }
    }

    fn take_order(&mut self, order: &Value) {
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        *self.order_arrivals.entry(id.clone()).or_default() += 1;
        self.orders.insert(id, order.clone());
    }

    fn answer(&mut self, request: &Request) -> ResponseTemplate {
        self.settle();
        let path = request.url.path().trim_start_matches("/v1/").to_owned();
        let key = request.headers.get("api-key").and_then(|v| v.to_str().ok());
        if key != Some(self.api_key.as_str()) {
            return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid api key"}));
        }
        if !self.platform_ok {
            return ResponseTemplate::new(406)
                .set_body_json(json!({"error": "connector platform is not the Rfmcube API"}));
        }
        let now = Instant::now();
        let in_window = self
            .arrivals
            .iter()
            .rev()
            .take_while(|at| now.duration_since(**at) < self.window)
            .count();
        if in_window >= self.limit {
            self.throttled += 1;
            return ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": "too many requests"}));
        }
        self.arrivals.push(now);
        if request.body.len() > self.max_bytes {
            self.too_large += 1;
            return ResponseTemplate::new(416).set_body_json(json!({"error": "too large"}));
        }
        if let Some(status) = self.forced.pop_front() {
            return ResponseTemplate::new(status)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": "forced"}));
        }
        if let Some(id) = path.strip_prefix("processes/") {
            let Some(process) = id
                .parse::<usize>()
                .ok()
                .and_then(|n| self.processes.get(n.checked_sub(1)?))
            else {
                return ResponseTemplate::new(404);
            };
            let status = match (process.failed, process.ready_at <= now) {
                (true, _) => "failed",
                (false, true) => "completed",
                (false, false) => "running",
            };
            return ResponseTemplate::new(200).set_body_json(json!({
                "processId": id.parse::<u64>().unwrap(), "createdAt": "2020-10-16T22:01:05Z",
                "updatedAt": "2020-10-16T22:01:16Z", "status": status,
                "type": "IMPORT_CUSTOMERS_API", "data": {}
            }));
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        self.calls.push((path.clone(), body.clone()));
        match path.as_str() {
            "import" => {
                let failed = self.failing_processes > 0;
                self.failing_processes = self.failing_processes.saturating_sub(1);
                self.processes.push(Process {
                    ready_at: now + self.process_delay,
                    failed,
                    applied: false,
                    body,
                });
                ResponseTemplate::new(200).set_body_json(json!({"processId": self.processes.len()}))
            }
            "merge_customer" => {
                let customer = body["customer"].clone();
                let id = customer["id"].as_str().unwrap_or_default().to_owned();
                self.customers.insert(id, customer);
                ResponseTemplate::new(200).set_body_json(json!({"success": true}))
            }
            "merge_order" => {
                self.take_order(&body["order"]);
                ResponseTemplate::new(200).set_body_json(json!({"success": true}))
            }
            "delete_customer" => {
                let id = body["id"].as_str().unwrap_or_default().to_owned();
                self.customers.remove(&id);
                self.orders
                    .retain(|_, order| order["customerId"].as_str() != Some(&id));
                ResponseTemplate::new(200).set_body_json(json!({"success": true}))
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().answer(request)
    }
}
