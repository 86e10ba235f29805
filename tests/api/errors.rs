//! Errors the framework produces on its own answer in the contract's envelope too.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn unknown_route_is_not_found_in_the_envelope() {
    let app = spawn_app().await;
    let message = assert_error(app.get("/no/such/thing").await, 404, "NOT_FOUND").await;
    assert!(message.contains("/no/such/thing"), "{message}");
}

#[tokio::test]
async fn wrong_method_is_method_not_allowed_in_the_envelope() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    let message = assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
    assert!(message.contains("POST"), "{message}");
}

#[tokio::test]
async fn hostile_paths_never_produce_a_server_error_or_html() {
    let app = spawn_app().await;
    for path in [
        "/%00",
        "/healthz/../../etc/passwd",
        "/rfmcube/customers'%20OR%201=1--",
        "/%F0%9F%92%A9",
        "/docs/../../../../etc/passwd",
    ] {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{path} answered {status}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
    }
}

#[tokio::test]
async fn head_is_answered_as_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/healthz", "/openapi.json"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let response = app.client.head(app.url("/no/such")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn a_body_in_an_unknown_content_encoding_is_refused_with_415() {
    let app = spawn_app().await;
    for coding in ["zstd", "x-bogus", "gzip, br"] {
        let response = app
            .client
            .post(app.url("/rfmcube/orders"))
            .header("api-key", crate::helpers::API_KEY)
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body("{}")
            .send()
            .await
            .unwrap();
        let message = assert_error(response, 415, "BAD_REQUEST").await;
        assert!(message.contains("Content-Encoding"), "{coding}: {message}");
    }
    let identity = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", crate::helpers::API_KEY)
        .header("content-type", "application/json")
        .header("content-encoding", "Identity")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(identity.status().as_u16(), 200);
}

#[tokio::test]
async fn authorization_schemes_are_matched_without_regard_to_case() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .get(app.url("/admin/destinations"))
            .header(
                "authorization",
                format!("{scheme} {}", crate::helpers::ADMIN_TOKEN),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
    }
}

/// Headers, the start of a body, then nothing: the server answers 408 once the body-read
/// timeout is up instead of holding the connection.
#[tokio::test]
async fn a_body_that_never_finishes_arriving_is_a_408() {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = crate::helpers::fresh_database().await;
    let app = crate::helpers::spawn_app_on(db, |s| {
        s.http.body_read_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let (user, password) = crate::helpers::ONE_CREDENTIALS;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    for (path, auth) in [
        ("/one/webhooks", format!("Authorization: Basic {basic}")),
        (
            "/rfmcube/orders",
            format!("api-key: {}", crate::helpers::API_KEY),
        ),
    ] {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event\""
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("\"success\":false") {
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut chunk))
                    .await
                    .expect("an answer before the client gives up")
                    .unwrap();
            assert!(
                n > 0,
                "closed without an answer: {}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&chunk[..n]);
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("not received in time"), "{path}: {answer}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM one_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_body_that_is_not_in_its_declared_encoding_is_explained_in_words() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/rfmcube/orders"))
        .header("api-key", crate::helpers::API_KEY)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("not gzip at all")
        .send()
        .await
        .unwrap();
    let message = assert_error(response, 400, "BAD_REQUEST").await;
    assert!(
        message.contains("could not be decoded (invalid gzip header)"),
        "{message}"
    );
    assert!(
        !message.contains("Some(") && !message.contains("Custom {"),
        "{message}"
    );
}

#[tokio::test]
async fn an_over_long_request_target_is_refused_with_414_in_the_envelope() {
    let app = spawn_app().await;
    let within = app.get(&format!("/healthz?pad={}", "a".repeat(8000))).await;
    assert_eq!(within.status().as_u16(), 200);
    let over = app.get(&format!("/healthz?pad={}", "a".repeat(9000))).await;
    let message = assert_error(over, 414, "BAD_REQUEST").await;
    assert!(message.contains("8192"), "{message}");
    // Up to 64 KiB, the request reaches the application, which answers in the envelope.
    let long = app
        .get(&format!("/healthz?pad={}", "a".repeat(65_000)))
        .await;
    assert_error(long, 414, "BAD_REQUEST").await;
    // Beyond, the URI parser refuses it before any application code runs, as documented
    // (an HTTP client will not even send it, so it goes out by hand).
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!(
        "GET /healthz?pad={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "a".repeat(66_000)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer}");
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_refused_with_431_in_the_envelope() {
    let app = spawn_app().await;
    let mut many = app.client.get(app.url("/healthz"));
    for i in 0..70 {
        many = many.header(format!("x-pad-{i}"), "1");
    }
    let message = assert_error(many.send().await.unwrap(), 431, "BAD_REQUEST").await;
    assert!(message.contains("header fields"), "{message}");
    let large = app
        .client
        .get(app.url("/healthz"))
        .header("x-pad", "a".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_error(large, 431, "BAD_REQUEST").await;
}
