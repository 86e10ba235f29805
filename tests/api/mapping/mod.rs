//! shopbridge over a shop's own tables, through a mapping: a Medusa v2 store's database
//! built from its migrations, read by the Rfmcube pull, captured into the event log, checked
//! and uninstalled.

mod custom;
mod medusa;
mod saleor;

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use shopbridge::configuration::Settings;
use shopbridge::db;
use shopbridge::shop::Mapping;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::events::exec;
use crate::helpers::{fresh_empty_database, spawn_app_on, waymore_settings, TestApp};
use crate::waymore::{admin, connect, export_finished, FakeWaymore};

/// A new database holding `schema` (the shop's own tables), not yet migrated.
pub async fn shop_database(schema: &str) -> PgConnectOptions {
    let options = fresh_empty_database().await;
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema.to_owned()))
        .execute(&mut conn)
        .await
        .expect("the shop's schema is created");
    options
}

/// shopbridge installed over `options` with `mapping`, serving.
pub async fn mapped_app(options: PgConnectOptions, mapping: Mapping) -> TestApp {
    mapped_app_with(options, mapping, |_| {}).await
}

/// [`mapped_app`] with `customize` applied to the test settings.
pub async fn mapped_app_with(
    options: PgConnectOptions,
    mapping: Mapping,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    db::migrate(&mut conn, &mapping)
        .await
        .expect("migrations and the mapping install");
    spawn_app_on(options, |s| {
        s.mapping = mapping;
        customize(s);
    })
    .await
}

/// The shop's schema, as a catalog listing: every table with its columns, every index,
/// trigger, function, view and type in `public`.
pub async fn catalog(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type,
                       is_nullable, column_default)
         FROM information_schema.columns WHERE table_schema = 'public'
         UNION ALL
         SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
         UNION ALL
         SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text
         FROM pg_trigger WHERE NOT tgisinternal
         UNION ALL
         SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
         UNION ALL
         SELECT 'relation ' || c.relname || ' ' || c.relkind::text FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
         UNION ALL
         SELECT 'schema ' || nspname FROM pg_namespace
         WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Runs `sql` on the shop's database as the shop would, outside shopbridge's pool.
pub async fn shop_writes(options: &PgConnectOptions, sql: &str) {
    let mut conn =
        PgConnection::connect_with(&options.clone().options([("search_path", "public")]))
            .await
            .unwrap();
    exec(&mut conn, sql).await;
}

/// A webhook destination `crm` taking `events`, posting to `receiver`'s `/hook`.
pub async fn add_hook(app: &TestApp, receiver: &MockServer, events: Value) {
    let added = admin(
        app,
        Method::POST,
        "/admin/destinations",
        Some(json!({"name": "crm", "url": format!("{}/hook", receiver.uri()), "events": events})),
    )
    .await;
    assert_eq!(
        added.status().as_u16(),
        201,
        "{}",
        added.text().await.unwrap()
    );
}

pub async fn hooks(receiver: &MockServer) -> Vec<Value> {
    receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

pub async fn receiver() -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    receiver
}

/// shopbridge over `options` with `mapping`, connected to a stand-in Waymore taking parts of
/// `batch` objects: the export's objects per entity, once it completed.
pub async fn exported(
    options: PgConnectOptions,
    mapping: Mapping,
    batch: u32,
) -> HashMap<String, Vec<Value>> {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = mapped_app_with(options, mapping, |s| {
        s.waymore = waymore_settings(&uri);
        s.waymore.batch_size = batch;
    })
    .await;
    connect(&app).await;
    let status = export_finished(&app).await;
    assert_eq!(status["export"]["state"], "completed", "{status}");
    let mut sent: HashMap<String, Vec<Value>> = HashMap::new();
    for part in fake.data.acknowledged() {
        let data = &part["data"][0];
        let objects = data["object"].as_array().unwrap();
        assert!(objects.len() <= batch as usize, "parts of the batch size");
        sent.entry(data["name"].as_str().unwrap().to_owned())
            .or_default()
            .extend(objects.iter().cloned());
    }
    sent
}
