use shopbridge::configuration::TlsSettings;
use shopbridge::startup::Application;

use crate::helpers::{fresh_database, spawn_app_on, test_settings};

fn self_signed(dir: &std::path::Path) -> (TlsSettings, reqwest::Certificate) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    (
        TlsSettings {
            cert_path,
            key_path,
        },
        root,
    )
}

#[tokio::test]
async fn serves_https_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, root) = self_signed(dir.path());
    let app = spawn_app_on(fresh_database().await, |s| s.http.tls = Some(tls)).await;
    assert!(app.address.starts_with("https://"));
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let response = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let plain = reqwest::get(format!("http://localhost:{}/healthz", app.port)).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn a_missing_certificate_file_is_a_clear_startup_error() {
    let db = fresh_database().await;
    let mut settings = test_settings(db.clone());
    settings.http.tls = Some(TlsSettings {
        cert_path: "/nonexistent/cert.pem".into(),
        key_path: "/nonexistent/key.pem".into(),
    });
    let pool = sqlx::PgPool::connect_with(db).await.unwrap();
    let error = Application::build(&settings, pool)
        .await
        .err()
        .expect("build fails");
    assert!(error.to_string().contains("TLS_CERT_PATH"), "{error}");
}
