//! `docs/schema.sql` is the schema the migrations produce, so the live body of every
//! function and trigger can be read in one file.

use sqlx::PgPool;

use shopbridge::db::schema;

use crate::helpers::{fresh_database, test_settings};

#[tokio::test]
async fn the_committed_schema_is_what_the_migrations_produce() {
    let options = fresh_database().await;
    let pool = PgPool::connect_with(options.clone()).await.unwrap();
    let dumped = schema::dump(&pool, &test_settings(options))
        .await
        .expect("pg_dump runs");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.sql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != dumped {
        let fresh = concat!(env!("CARGO_MANIFEST_DIR"), "/target/schema.sql");
        std::fs::write(fresh, &dumped).unwrap();
        panic!(
            "docs/schema.sql differs from the schema the migrations produce (written to \
             target/schema.sql); rewrite it with `cargo run -- schema > docs/schema.sql`"
        );
    }
    assert!(dumped.contains("CREATE FUNCTION shopbridge.record_event("));
}
