//! send_email against a real SMTP server on loopback that speaks STARTTLS with a test
//! certificate.

use std::time::Duration;

use serde_json::json;

use super::{executions, until_state, workflow, SHOP};
use crate::events::{eventually, exec};
use crate::helpers::{fresh_database, spawn_app_on, TestApp};
use crate::integrations::admin_get;

#[path = "../../../benches/common/smtp.rs"]
mod smtp;
use smtp::SmtpServer;

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
        !smtp.received_since(0).is_empty()
    })
    .await;
    let mail = &smtp.received_since(0)[0];
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
    until_state(&app, &guid, "paused").await;
    exec(
        &app.pool,
        "UPDATE orders SET status = 'delivered' WHERE id = 10",
    )
    .await;
    until_state(&app, &guid, "waiting").await;
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
        smtp.received_since(0).len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let subjects: Vec<bool> = smtp
        .received_since(0)
        .iter()
        .map(|m| m.data.contains("Subject: Order R-10 is shipped"))
        .collect();
    assert_eq!(subjects, vec![true, false], "once each, in order");
    assert!(smtp.received_since(0)[1]
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
    until_state(&app, &guid, "failed").await;
    let failed = &executions(&app, &guid).await[0];
    assert_eq!(failed["tries"], 1);
    assert!(
        failed["reason"].as_str().unwrap().contains("no recipient"),
        "{failed}"
    );
    assert!(smtp.received_since(0).is_empty());
}

#[tokio::test]
async fn an_address_the_relay_cannot_take_fails_at_once_and_does_not_hold_the_customer_back() {
    let smtp = SmtpServer::start(SmtpServer::reserve(), Duration::ZERO);
    let app = app_sending_to(&smtp, None).await;
    let guid = workflow(
        &app,
        "Customer",
        "customer_updated",
        json!({"type": "send_email", "recipient": "customer", "template": "cart_reminder"}),
        json!({}),
    )
    .await;
    // The test relay does not offer SMTPUTF8.
    exec(
        &app.pool,
        "INSERT INTO customers (id, email) VALUES (9, 'jürgen@example.com')",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE customers SET firstname = 'Jürgen' WHERE id = 9",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE customers SET email = 'juergen@example.com' WHERE id = 9",
    )
    .await;
    // The relay has the message before the execution's record says so.
    eventually(
        Duration::from_secs(10),
        "the second change emailed and recorded",
        || async { executions(&app, &guid).await[0]["state"] == "succeeded" },
    )
    .await;
    assert_eq!(smtp.received_since(0).len(), 1);
    let listed = executions(&app, &guid).await;
    assert_eq!(listed[1]["state"], "failed", "{listed:?}");
    assert_eq!(listed[1]["tries"], 1);
    assert!(
        listed[1]["reason"].as_str().unwrap().contains("SMTPUTF8"),
        "{listed:?}"
    );
}
