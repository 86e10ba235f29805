//! Test harness: the real application on port 0, against a fresh database per test.
//!
//! With `DATABASE_URL` set, test databases are created on that server. Without it, the
//! harness starts one private cluster for the whole run (the same embedded cluster code
//! `serve` uses, in a temporary directory) and stops and removes it when the run ends.
//! Every test database is a copy of one template migrated once per run.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use reqwest::Client;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

use shopbridge::configuration::{
    AdminTokens, DatabaseSettings, DatabaseSource, DeliverySettings, EmailSettings, HttpSettings,
    OnDelete, OneSettings, OutboundSettings, RfmcubePushSettings, RfmcubeSettings, Settings,
    ShopifySettings, VaultSettings, WaymoreSettings, WorkflowSettings,
};
use shopbridge::outbound::address::{Allowlist, Lookup, SystemLookup};
use shopbridge::retry::RetryPolicy;
use shopbridge::secrets::vault::{SecretKey, Vault};
use shopbridge::secrets::{BasicCredentials, SecretSet, SigningSecrets};

/// Keys the test app accepts for Rfmcube: two, as during a key rotation.
pub const API_KEY: &str = "test-key-current";
pub const OLD_API_KEY: &str = "test-key-previous";
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// What ONe presents with HTTP Basic: two pairs, as during a password rotation.
pub const ONE_CREDENTIALS: (&str, &str) = ("one-webhook", "correct horse battery");
pub const OLD_ONE_CREDENTIALS: (&str, &str) = ("one-webhook", "previous: password");
/// Shopify's webhook signing secrets: two, as during a rotation.
pub const SHOPIFY_SECRET: &str = "shpss_test_current";
pub const OLD_SHOPIFY_SECRET: &str = "shpss_test_previous";
/// What the test apps seal their secrets with (base64 of 32 bytes).
pub const SECRET_KEY: &str = "dGVzdC1zZWNyZXQta2V5LW9mLXRoaXJ0eS10d28hISE=";
/// Where the tests' partners listen, opened to the webhook client.
pub const LOOPBACK: &str = "127.0.0.1, localhost";
use shopbridge::db;
use shopbridge::db::embedded::{EmbeddedOptions, EmbeddedPostgres};
use shopbridge::startup::Application;

struct TestServer {
    /// Options for the maintenance database; test databases differ only in name.
    admin: PgConnectOptions,
    template: String,
}

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
/// The run's private cluster, taken and stopped at process exit.
static CLUSTER: Mutex<Option<(EmbeddedPostgres, PathBuf)>> = Mutex::new(None);

extern "C" fn stop_cluster_at_exit() {
    let cluster = CLUSTER.lock().ok().and_then(|mut c| c.take());
    if let Some((cluster, dir)) = cluster {
        cluster.stop();
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn server() -> &'static TestServer {
    SERVER
        .get_or_init(|| async {
            let _ = env_logger::builder().is_test(true).try_init();
            let admin = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
                Some(url) => PgConnectOptions::from_str(&url).expect("DATABASE_URL is valid"),
                None => start_private_cluster().await,
            };
            let template = format!("shopbridge_template_{}", Uuid::new_v4().simple());
            create_database(&admin, &template, None).await;
            let pool = db::pool(admin.clone().database(&template), 2)
                .await
                .unwrap();
            db::migrate(
                &mut pool.acquire().await.unwrap(),
                &shopbridge::shop::Mapping::Reference,
            )
            .await
            .expect("migrations apply to the template");
            pool.close().await;
            TestServer { admin, template }
        })
        .await
}

async fn start_private_cluster() -> PgConnectOptions {
    // Under the system temp dir: it must be reachable by the unprivileged cluster user.
    let dir = tempfile::Builder::new()
        .prefix("shopbridge-test-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let cluster = EmbeddedPostgres::start(EmbeddedOptions {
        dir: dir.clone(),
        bin_dir: None,
        ephemeral: true,
    })
    .await
    .expect("the test PostgreSQL cluster starts");
    let admin = cluster.connect_options("postgres");
    *CLUSTER.lock().unwrap() = Some((cluster, dir));
    // SAFETY: registers a plain function with no arguments; it runs once at exit.
    unsafe {
        nix::libc::atexit(stop_cluster_at_exit);
    }
    admin
}

async fn create_database(admin: &PgConnectOptions, name: &str, template: Option<&str>) {
    let mut conn = admin
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect to the maintenance database: {e}{}", cluster_log()));
    // A file copy, not the default WAL-logged copy: the template is not written to the WAL
    // again for every test, which keeps the run's WAL, and a crash recovery, short.
    let sql = match template {
        Some(template) => {
            format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY"#)
        }
        None => format!(r#"CREATE DATABASE "{name}""#),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("create database: {e}{}", cluster_log()));
    conn.close().await.unwrap();
}

/// The end of the private cluster's log, for a failure that may be the cluster's own.
fn cluster_log() -> String {
    let dir = CLUSTER
        .lock()
        .ok()
        .and_then(|c| c.as_ref().map(|(_, dir)| dir.clone()));
    let Some(log) = dir.and_then(|dir| std::fs::read_to_string(dir.join("postgres.log")).ok())
    else {
        return String::new();
    };
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    format!("\nthe test cluster's log ends:\n{tail}")
}

/// Drops the test's database when the test's runtime ends, so a run holds a few test
/// databases at a time, not hundreds: a task that never finishes owns the guard, and
/// the runtime drops it with every other task when the test returns or panics.
fn drop_at_the_end_of_the_test(admin: &PgConnectOptions, name: String) {
    static DROPPER: std::sync::OnceLock<std::sync::mpsc::Sender<String>> =
        std::sync::OnceLock::new();
    struct Guard(String);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(dropper) = DROPPER.get() {
                let _ = dropper.send(std::mem::take(&mut self.0));
            }
        }
    }
    DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let admin = admin.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for name in rx {
                runtime.block_on(async {
                    // The run may be ending and the cluster with it: nothing to report.
                    if let Ok(mut conn) = admin.connect().await {
                        let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await;
                        let _ = conn.close().await;
                    }
                });
            }
        });
        tx
    });
    let guard = Guard(name);
    tokio::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
}

/// Connection options for a new, empty database (no migrations).
pub async fn fresh_empty_database() -> PgConnectOptions {
    let server = server().await;
    let name = format!("test_{}", Uuid::new_v4().simple());
    create_database(&server.admin, &name, None).await;
    drop_at_the_end_of_the_test(&server.admin, name.clone());
    db::with_search_path(server.admin.clone().database(&name))
}

/// Connection options for a new database with every migration applied.
pub async fn fresh_database() -> PgConnectOptions {
    let server = server().await;
    let name = format!("test_{}", Uuid::new_v4().simple());
    create_database(&server.admin, &name, Some(&server.template)).await;
    drop_at_the_end_of_the_test(&server.admin, name.clone());
    db::with_search_path(server.admin.clone().database(&name))
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub pool: PgPool,
    pub client: Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }
}

/// Waymore at `base` (a fake on loopback), with short timeouts and retries for tests.
pub fn waymore_settings(base: &str) -> WaymoreSettings {
    WaymoreSettings {
        auth_url: format!("{base}/api/authenticate").parse().unwrap(),
        data_url: format!("{base}/api/data").parse().unwrap(),
        events_url: format!("{base}/api/event").parse().unwrap(),
        signup_url: "https://www.routee.net/".into(),
        shop_domain: "shop.test".into(),
        batch_size: 100,
        timeout: std::time::Duration::from_millis(800),
        max_attempts: 6,
        retry_base: std::time::Duration::from_millis(10),
        cart_url: "https://shop.test/cart".into(),
        export_concurrency: 4,
    }
}

/// Rfmcube's push API at `base` (a stand-in on loopback), unconfigured, with the test
/// window: 60 requests a second rather than a minute, short retries and polls.
pub fn rfmcube_push_settings(base: &str) -> RfmcubePushSettings {
    RfmcubePushSettings {
        api_key: None,
        url: base.parse().unwrap(),
        max_bytes: 1024 * 1024,
        batch_size: 100,
        rate_limit: 60,
        rate_window: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_secs(2),
        poll: std::time::Duration::from_millis(20),
        concurrency: 4,
        max_attempts: 5,
        retry_base: std::time::Duration::from_millis(10),
        on_delete: OnDelete::Delete,
    }
}

/// Deliveries for tests: short retries, and a poll of a minute, so a test that passes
/// shows delivery was driven by notifications and wake-ups, not by the timer.
pub fn delivery_settings() -> DeliverySettings {
    DeliverySettings {
        concurrency: 16,
        retry: RetryPolicy {
            max_attempts: u32::MAX,
            base: std::time::Duration::from_millis(10),
            cap: std::time::Duration::from_secs(1),
        },
        probe_every: std::time::Duration::from_secs(1),
        poll: std::time::Duration::from_secs(60),
        retention: std::time::Duration::from_secs(7 * 86400),
        timeout: std::time::Duration::from_millis(800),
        drain_timeout: std::time::Duration::from_secs(10),
    }
}

/// Default test settings: port 0 on loopback, the given database, Waymore nowhere, keys
/// the tests know. A section not named here keeps its default.
pub fn test_settings(db: PgConnectOptions) -> Settings {
    let mut settings = Settings::from_lookup(|_| None).expect("the defaults are valid");
    settings.database = DatabaseSettings {
        source: DatabaseSource::Url(Box::new(db)),
        max_connections: 5,
    };
    settings.http = HttpSettings {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        max_body_bytes: 64 * 1024,
        max_queued_requests: 64,
        queue_timeout: std::time::Duration::from_secs(2),
        body_read_timeout: std::time::Duration::from_secs(10),
    };
    settings.rfmcube = RfmcubeSettings {
        api_keys: SecretSet::parse(&format!("{API_KEY},{OLD_API_KEY}")),
    };
    settings.rfmcube_push = rfmcube_push_settings("http://127.0.0.1:9/v1");
    settings.waymore = waymore_settings("http://127.0.0.1:9");
    settings.delivery = delivery_settings();
    settings.one = OneSettings {
        credentials: BasicCredentials::parse(&format!(
            "{}:{},{}:{}",
            ONE_CREDENTIALS.0, ONE_CREDENTIALS.1, OLD_ONE_CREDENTIALS.0, OLD_ONE_CREDENTIALS.1
        ))
        .unwrap(),
        retention: std::time::Duration::from_secs(30 * 86400),
    };
    settings.shopify = ShopifySettings {
        secrets: SigningSecrets::parse(&format!("{SHOPIFY_SECRET},{OLD_SHOPIFY_SECRET}")),
        store_url: None,
        apply_concurrency: 2,
        retention: std::time::Duration::from_secs(30 * 86400),
        retry: RetryPolicy {
            max_attempts: 3,
            base: std::time::Duration::from_millis(10),
            cap: std::time::Duration::from_secs(1),
        },
        public_url: Some("https://bridge.example.com/".parse().unwrap()),
        admin_timeout: std::time::Duration::from_secs(5),
        import_attempts: 5,
    };
    // The partners the tests play run on loopback.
    settings.outbound = OutboundSettings {
        allowlist: Allowlist::parse(LOOPBACK).unwrap(),
        // The stand-in stores' certificate.
        ca_file: Some(crate::shopify::standin::ca_file()),
    };
    settings.admin_tokens = AdminTokens(SecretSet::parse(ADMIN_TOKEN));
    settings.vault = VaultSettings {
        key: Some(SecretKey::parse(SECRET_KEY).unwrap()),
        key_file: "/nonexistent/secret.key".into(),
        previous: None,
    };
    settings.email = EmailSettings {
        smtp_url: None,
        from: None,
        ca_file: None,
        pool_size: 4,
        timeout: std::time::Duration::from_secs(5),
        templates_dir: None,
    };
    settings.workflows = WorkflowSettings {
        retry_budget: 3,
        vapid_subject: "mailto:owner@shop.test".into(),
        shop_name: "Test Shop".into(),
        shop_url: "https://shop.test/".into(),
    };
    settings
}

/// The vault the test apps seal their secrets with.
pub fn test_vault() -> Vault {
    Vault::new(SecretKey::parse(SECRET_KEY).unwrap(), None)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(fresh_database().await, |_| {}).await
}

/// The application against `db`, with `customize` applied to the test settings.
pub async fn spawn_app_on(db: PgConnectOptions, customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_resolving(db, customize, Arc::new(SystemLookup)).await
}

/// [`spawn_app_on`], resolving the hosts of webhook URLs with `lookup`.
pub async fn spawn_app_resolving(
    db: PgConnectOptions,
    customize: impl FnOnce(&mut Settings),
    lookup: Arc<dyn Lookup>,
) -> TestApp {
    let mut settings = test_settings(db.clone());
    customize(&mut settings);
    let pool = db::pool(db.clone(), settings.database.max_connections)
        .await
        .unwrap();
    let app = Application::build_with(&settings, pool.clone(), lookup)
        .await
        .expect("application builds");
    let test_app = TestApp::of(&app, pool);
    tokio::spawn(app.run_until_stopped());
    test_app
}

impl TestApp {
    /// How tests reach `app`, which serves on `pool`.
    pub fn of(app: &Application, pool: PgPool) -> TestApp {
        let port = app.port();
        let scheme = if app.is_https() { "https" } else { "http" };
        TestApp {
            address: format!("{scheme}://localhost:{port}"),
            port,
            pool,
            // A stuck server fails the test instead of hanging the run.
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }
}

/// Asserts the contract's error envelope with `code`, and returns its message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers().get("content-type").cloned();
    let body = response.text().await.unwrap();
    assert!(
        content_type.is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "JSON error body expected, got: {body}"
    );
    let json: Value = serde_json::from_str(&body).expect("error body is JSON");
    assert_eq!(json["success"], Value::Bool(false), "{body}");
    assert_eq!(json["error"]["code"], code, "{body}");
    let message = json["error"]["message"]
        .as_str()
        .expect("message is a string");
    assert!(!message.is_empty());
    message.to_owned()
}
