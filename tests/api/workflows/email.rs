//! send_email against a real SMTP server on loopback that speaks STARTTLS with a test
//! certificate.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, SslConfig};
use serde_json::json;

use super::{executions, workflow, SHOP};
use crate::events::{eventually, exec};
use crate::helpers::{fresh_database, spawn_app_on, TestApp};
use crate::integrations::admin_get;

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
struct Catcher {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Mail,
    delay: Duration,
}

impl Handler for Catcher {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Mail {
            to: to.to_vec(),
            data: String::new(),
        };
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        self.mails
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        mailin_embedded::response::OK
    }
}

/// An SMTP server offering STARTTLS with a certificate for `localhost`.
pub struct SmtpServer {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    pub ca_file: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// A certificate and a port, nothing listening yet.
    pub fn reserve() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        SmtpServer {
            port,
            mails: Arc::default(),
            ca_file: dir.path().join("cert.pem"),
            dir,
        }
    }

    pub fn start(reserved: Self, delay: Duration) -> Self {
        // The server's TLS takes the process's default provider, as the application's does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut server = Server::new(Catcher {
            mails: reserved.mails.clone(),
            current: Mail::default(),
            delay,
        });
        let path = |f: &str| reserved.dir.path().join(f).to_string_lossy().into_owned();
        server
            .with_name("localhost")
            .with_num_threads(16)
            .with_ssl(SslConfig::SelfSigned {
                cert_path: path("cert.pem"),
                key_path: path("key.pem"),
            })
            .unwrap()
            .with_tcp_listener(TcpListener::bind(("127.0.0.1", reserved.port)).unwrap());
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        reserved
    }

    pub fn received(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn app_sending_to(smtp: &SmtpServer, templates: Option<&std::path::Path>) -> TestApp {
    let (port, ca) = (smtp.port, smtp.ca_file.clone());
    let templates = templates.map(|t| t.to_owned());
    spawn_app_on(fresh_database().await, move |s| {
        s.email.smtp_url = Some(format!("smtp://localhost:{port}"));
        s.email.from = Some("Test Shop <shop@shop.test>".into());
        s.email.ca_file = Some(ca);
        s.email.templates_dir = templates;
    })
    .await
}

#[tokio::test]
async fn a_delivered_shipment_emails_its_customer_over_starttls_text_beside_escaped_html() {
    let smtp = SmtpServer::start(SmtpServer::reserve(), Duration::ZERO);
    let app = app_sending_to(&smtp, None).await;
    exec(&app.pool, SHOP).await;
    workflow(
        &app,
        "Shipment",
        "shipment_delivered",
        json!({"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"}),
        json!({"status": "delivered"}),
    )
    .await;
    exec(
        &app.pool,
        "UPDATE shipments SET status = 'delivered' WHERE id = 100",
    )
    .await;
    eventually(Duration::from_secs(10), "the email received", || async {
        !smtp.received().is_empty()
    })
    .await;
    let mail = &smtp.received()[0];
    assert_eq!(mail.to, vec!["ann@example.com"]);
    assert!(
        mail.data
            .contains("Subject: Your order R-10 has been delivered"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("From: \"Test Shop\" <shop@shop.test>")
            || mail.data.contains("From: Test Shop <shop@shop.test>"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("multipart/alternative"));
    assert!(
        mail.data.contains("Content-Type: text/plain")
            && mail.data.contains("Content-Type: text/html")
    );
    assert!(
        mail.data.contains("Hello Ann <Admin>,"),
        "the text part as written: {}",
        mail.data
    );
    assert!(
        mail.data.contains("Hello Ann &lt;Admin&gt;,"),
        "the HTML part escaped: {}",
        mail.data
    );
}

#[tokio::test]
async fn an_smtp_server_that_is_down_pauses_the_workflow_and_resume_sends_each_email_once_in_order()
{
    let templates = tempfile::tempdir().unwrap();
    for (part, text) in [
        ("subject.txt", "Order {{ order.reference }} is {{ status }}"),
        ("txt", "{{ status }}"),
        ("html", "<p>{{ status }}</p>"),
    ] {
        std::fs::write(templates.path().join(format!("status_update.{part}")), text).unwrap();
    }
    let reserved = SmtpServer::reserve();
    let app = app_sending_to(&reserved, Some(templates.path())).await;
    exec(&app.pool, SHOP).await;
    let guid = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "send_email", "recipient": "customer", "template": "status_update"}),
        json!({}),
    )
    .await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'shipped' WHERE id = 10",
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "paused after the retry budget",
        || async {
            executions(&app, &guid)
                .await
                .iter()
                .any(|e| e["state"] == "paused")
        },
    )
    .await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'delivered' WHERE id = 10",
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "the next change waits behind it",
        || async {
            executions(&app, &guid)
                .await
                .iter()
                .any(|e| e["state"] == "waiting")
        },
    )
    .await;
    let paused = &executions(&app, &guid).await[1];
    assert_eq!(paused["tries"], 3, "the test budget: {paused}");
    assert!(
        paused["reason"].as_str().unwrap().contains("SMTP"),
        "{paused}"
    );

    let smtp = SmtpServer::start(reserved, Duration::ZERO);
    let resumed = admin_get(
        &app,
        &format!("/api/workflows/resume-workflow?workflowId={guid}"),
    )
    .await;
    assert_eq!(resumed.status().as_u16(), 200);
    eventually(Duration::from_secs(10), "both emails sent", || async {
        smtp.received().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let subjects: Vec<bool> = smtp
        .received()
        .iter()
        .map(|m| m.data.contains("Subject: Order R-10 is shipped"))
        .collect();
    assert_eq!(subjects, vec![true, false], "once each, in order");
    assert!(smtp.received()[1]
        .data
        .contains("Subject: Order R-10 is delivered"));
    let listed = executions(&app, &guid).await;
    assert!(
        listed.iter().all(|e| e["state"] == "succeeded"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn a_customer_without_an_email_is_a_recorded_failure_not_retried() {
    let smtp = SmtpServer::start(SmtpServer::reserve(), Duration::ZERO);
    let app = app_sending_to(&smtp, None).await;
    exec(
        &app.pool,
        "INSERT INTO customers (id, email) VALUES (7, ' ')",
    )
    .await;
    let guid = workflow(
        &app,
        "Customer",
        "customer_created",
        json!({"type": "send_email", "recipient": "customer", "template": "cart_reminder"}),
        json!({}),
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO customers (id, email) VALUES (8, '')",
    )
    .await;
    eventually(Duration::from_secs(10), "the failure recorded", || async {
        executions(&app, &guid)
            .await
            .iter()
            .any(|e| e["state"] == "failed")
    })
    .await;
    let failed = &executions(&app, &guid).await[0];
    assert_eq!(failed["tries"], 1);
    assert!(
        failed["reason"].as_str().unwrap().contains("no recipient"),
        "{failed}"
    );
    assert!(smtp.received().is_empty());
}
