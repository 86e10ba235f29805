//! The private cluster `serve` starts when no DATABASE_URL is configured.

use sqlx::{ConnectOptions, Connection};

use shopbridge::db::embedded::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};

#[tokio::test]
async fn missing_server_binaries_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = EmbeddedPostgres::start(EmbeddedOptions {
        dir: dir.path().join("pg"),
        bin_dir: Some("/nonexistent/bin".into()),
        ephemeral: true,
    })
    .await
    .err()
    .expect("start fails");
    assert!(matches!(error, EmbeddedError::BinariesNotFound));
    let message = error.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
}

#[tokio::test]
async fn data_survives_a_stop_and_the_next_start_reuses_it() {
    let dir = tempfile::Builder::new()
        .prefix("shopbridge-pg-reuse-")
        .tempdir()
        .unwrap();
    let options = EmbeddedOptions {
        dir: dir.path().to_owned(),
        bin_dir: None,
        ephemeral: false,
    };

    let cluster = EmbeddedPostgres::start(options.clone()).await.unwrap();
    cluster.ensure_database("shop").await.unwrap();
    let mut conn = cluster.connect_options("shop").connect().await.unwrap();
    sqlx::raw_sql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let first_port = cluster.port();
    cluster.stop();
    let refused = cluster.connect_options("shop").connect().await;
    assert!(
        refused.is_err(),
        "the cluster still answers on port {first_port} after stop"
    );

    let cluster = EmbeddedPostgres::start(options).await.unwrap();
    cluster.ensure_database("shop").await.unwrap();
    let mut conn = cluster.connect_options("shop").connect().await.unwrap();
    let value: String = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, "still here");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn the_cluster_refuses_connections_without_the_password() {
    let dir = tempfile::Builder::new()
        .prefix("shopbridge-pg-auth-")
        .tempdir()
        .unwrap();
    let cluster = EmbeddedPostgres::start(EmbeddedOptions {
        dir: dir.path().to_owned(),
        bin_dir: None,
        ephemeral: true,
    })
    .await
    .unwrap();
    let wrong = cluster
        .connect_options("postgres")
        .password("guess")
        .connect()
        .await;
    assert!(wrong.is_err(), "a wrong password was accepted");
}
