//! shopbridge's own tables live in a schema of their own, `shopbridge`: installing it adds no
//! table to the shop's schema, the shop's own sessions (which search only their schema) are
//! still captured, and a database migrated before the move keeps everything it held.

use std::borrow::Cow;

use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};

use shopbridge::db::{self, MIGRATOR};
use shopbridge::shop::Mapping;

use crate::events::{connected, count, exec};
use crate::helpers::{fresh_database, fresh_empty_database};

/// The reference shop's tables, which `migrate` makes for a shop that has none.
const SHOP_TABLES: [&str; 18] = [
    "brands",
    "cart_items",
    "carts",
    "categories",
    "customer_addresses",
    "customers",
    "discounts",
    "newsletter_subscriptions",
    "order_items",
    "order_statuses",
    "orders",
    "product_categories",
    "product_options",
    "products",
    "search_queries",
    "shipment_items",
    "shipments",
    "wishlist_items",
];

/// The migration that moved shopbridge's objects into their own schema.
const MOVED_AT: i64 = 20261208000002;

async fn tables_in(conn: &mut PgConnection, schema: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1")
        .bind(schema)
        .fetch_all(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_shop_s_schema_holds_only_the_shop_s_tables() {
    let mut conn = PgConnection::connect_with(&fresh_database().await)
        .await
        .unwrap();
    assert_eq!(tables_in(&mut conn, "public").await, SHOP_TABLES);
    let own = tables_in(&mut conn, "shopbridge").await;
    for table in [
        "_sqlx_migrations",
        "events",
        "deliveries",
        "destinations",
        "jobs",
        "secrets",
    ] {
        assert!(
            own.iter().any(|t| t == table),
            "{table} in shopbridge: {own:?}"
        );
    }
}

#[tokio::test]
async fn a_change_the_shop_writes_searching_only_its_own_schema_is_captured() {
    let options = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(options.clone()).await.unwrap();
    // A destination that takes every event: Waymore, connected.
    connected(&pool).await;
    let mut shop = PgConnection::connect_with(&options).await.unwrap();
    // The shop's application knows nothing of shopbridge's schema.
    exec(&mut shop, "SET search_path = public").await;
    exec(
        &mut shop,
        "INSERT INTO customers (id, email) VALUES (5, 'shop@own.test')",
    )
    .await;
    exec(
        &mut shop,
        "UPDATE customers SET firstname = 'Own' WHERE id = 5",
    )
    .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM shopbridge.events WHERE entity_id = '5'
               AND name IN ('customer.created', 'customer.updated')"
        )
        .await,
        2
    );
}

/// The migrations before the move, as an earlier build ran them: everything in public.
async fn migrated_before_the_move(conn: &mut PgConnection) {
    exec(&mut *conn, "SET search_path = public").await;
    let before = Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|m| m.version < MOVED_AT)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    before.run(conn).await.unwrap();
}

#[tokio::test]
async fn two_processes_starting_together_move_the_tables_once() {
    let options = fresh_empty_database().await;
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    migrated_before_the_move(&mut conn).await;
    let mut other = PgConnection::connect_with(&options).await.unwrap();
    let (first, second) = tokio::join!(
        db::migrate(&mut conn, &Mapping::Reference),
        db::migrate(&mut other, &Mapping::Reference)
    );
    first.unwrap();
    second.unwrap();
    assert_eq!(tables_in(&mut conn, "public").await, SHOP_TABLES);
    assert!(db::migrations_applied(&mut conn).await.unwrap());
}

#[tokio::test]
async fn a_database_migrated_before_the_move_keeps_what_it_held() {
    let options = fresh_empty_database().await;
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    migrated_before_the_move(&mut conn).await;
    // Waymore's destination on, so events are recorded.
    exec(
        &mut conn,
        "UPDATE destinations SET enabled = true WHERE name = 'waymore'",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO customers (id, email) VALUES (7, 'kept@own.test');",
    )
    .await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM public.events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(events, 1);

    db::migrate(&mut conn, &Mapping::Reference).await.unwrap();
    assert_eq!(tables_in(&mut conn, "public").await, SHOP_TABLES);
    assert!(db::migrations_applied(&mut conn).await.unwrap());
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM shopbridge.events WHERE name = 'customer.created' AND entity_id = '7'"
        )
        .await,
        1,
        "the event recorded before the move is there after it"
    );
    // And capture goes on for the shop's own sessions.
    exec(&mut conn, "SET search_path = public").await;
    exec(
        &mut conn,
        "UPDATE customers SET firstname = 'Kept' WHERE id = 7",
    )
    .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM shopbridge.events WHERE name = 'customer.updated'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_function_of_the_shop_s_own_stays_in_its_schema() {
    let options = fresh_empty_database().await;
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    exec(
        &mut conn,
        "CREATE FUNCTION public.gross(net numeric) RETURNS numeric
         LANGUAGE sql IMMUTABLE AS 'SELECT net * 1.22'",
    )
    .await;
    db::migrate(&mut conn, &Mapping::Reference).await.unwrap();
    let schema: String = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE p.proname = 'gross'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(schema, "public");
}

#[tokio::test]
async fn a_database_that_applied_the_move_before_its_correction_migrates_on() {
    let options = fresh_database().await;
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    // The checksum the move had as first released.
    exec(
        &mut conn,
        &format!(
            "UPDATE shopbridge._sqlx_migrations SET checksum = decode('{}', 'hex')
             WHERE version = {MOVED_AT}",
            "9b8f1fb2b9a15a50960f956913cd9c16770d0d8c9bd8a79ccb4582915f70284a\
             b93355719657e47eacf6651358079802"
        ),
    )
    .await;
    db::migrate(&mut conn, &Mapping::Reference).await.unwrap();
    assert!(db::migrations_applied(&mut conn).await.unwrap());
}
