//! send_push against a stand-in push service over TLS: it checks the VAPID JWT's signature
//! and claims and decrypts the payload with the browser's private key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};
use shopbridge::configuration::TlsSettings;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey};
use web_push_native::jwt_simple::claims::NoCustomClaims;

use super::{executions, post, until_state, workflow, SHOP};
use crate::events::{count, exec};
use crate::helpers::{fresh_database, spawn_app_on, TestApp};

/// What the push service does with a request to one path.
#[derive(Clone, Copy)]
enum Answer {
    Created,
    Gone,
    /// 429 with `Retry-After: 1` the first time, then 201.
    BusyOnce,
}

/// A push as the stand-in received and decrypted it.
#[derive(Debug, Clone)]
struct Push {
    path: String,
    payload: Value,
}

#[derive(Default)]
struct Seen {
    pushes: Vec<Push>,
    requests: HashMap<String, usize>,
    problems: Vec<String>,
}

/// A browser: its keys, and the subscription it gives the shop.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new(seed: u8) -> Self {
        Browser {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth: [seed; 16],
        }
    }

    fn subscription(&self, endpoint: &str) -> Value {
        let public = self.secret.public_key().to_encoded_point(false);
        json!({
            "endpoint": endpoint,
            "keys": {"p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                     "auth": URL_SAFE_NO_PAD.encode(self.auth)},
            "customerId": 1
        })
    }
}

struct PushService {
    origin: String,
    ca_file: std::path::PathBuf,
    seen: Arc<Mutex<Seen>>,
    _dir: tempfile::TempDir,
}

impl PushService {
    async fn start(
        browsers: HashMap<String, (Browser, Answer)>,
        vapid_key: Arc<Mutex<String>>,
    ) -> PushService {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let tls = TlsSettings {
            cert_path: dir.path().join("cert.pem"),
            key_path: dir.path().join("key.pem"),
        };
        std::fs::write(&tls.cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&tls.key_path, cert.key_pair.serialize_pem()).unwrap();
        let config = shopbridge::http::tls::server_config(&tls).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let browsers = Arc::new(browsers);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let state = (seen.clone(), browsers, origin.clone(), vapid_key);
        let server = HttpServer::new(move || {
            let state = state.clone();
            App::new().default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
                let (seen, browsers, origin, vapid_key) = state.clone();
                async move {
                    let path = request.path().to_owned();
                    let Some((browser, answer)) = browsers.get(&path) else {
                        return HttpResponse::NotFound().finish();
                    };
                    let mut seen = seen.lock().unwrap();
                    let tries = {
                        let n = seen.requests.entry(path.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let vapid_key = vapid_key.lock().unwrap().clone();
                    match check(&request, &body, browser, &origin, &vapid_key) {
                        Ok(payload) => seen.pushes.push(Push {
                            path: path.clone(),
                            payload,
                        }),
                        Err(problem) => seen.problems.push(problem),
                    }
                    match (answer, tries) {
                        (Answer::Gone, _) => HttpResponse::Gone().finish(),
                        (Answer::BusyOnce, 1) => HttpResponse::TooManyRequests()
                            .insert_header(("Retry-After", "1"))
                            .finish(),
                        _ => HttpResponse::Created().finish(),
                    }
                }
            }))
        })
        .workers(1)
        .listen_rustls_0_23(listener, config)
        .unwrap()
        .run();
        tokio::spawn(server);
        PushService {
            origin,
            ca_file: tls.cert_path,
            seen,
            _dir: dir,
        }
    }
}

/// What RFC 8291 and RFC 8292 ask of a push request; the decrypted payload.
fn check(
    request: &HttpRequest,
    body: &[u8],
    browser: &Browser,
    origin: &str,
    vapid_key: &str,
) -> Result<Value, String> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(format!("no {name} header"))
    };
    if header("content-encoding")? != "aes128gcm" {
        return Err("not aes128gcm".into());
    }
    header("ttl")?;
    let authorization = header("authorization")?;
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("not a vapid authorization")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("t", t)) => token = Some(t.to_owned()),
            Some(("k", k)) => key = Some(k.to_owned()),
            _ => {}
        }
    }
    let (token, key) = (token.ok_or("no t")?, key.ok_or("no k")?);
    if key != vapid_key {
        return Err(format!("k is {key}, the shop's key is {vapid_key}"));
    }
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(&key).unwrap())
        .map_err(|e| e.to_string())?;
    public
        .verify_token::<NoCustomClaims>(&token, None)
        .map_err(|e| format!("the JWT does not verify: {e}"))?;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    if claims["aud"] != origin {
        return Err(format!("aud is {}, wanted {origin}", claims["aud"]));
    }
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    let now = chrono::Utc::now().timestamp();
    if !(now < exp && exp <= now + 24 * 3600) {
        return Err(format!("exp {exp} is not within 24 hours of {now}"));
    }
    if !claims["sub"]
        .as_str()
        .is_some_and(|s| s.starts_with("mailto:"))
    {
        return Err(format!("sub is {}", claims["sub"]));
    }
    if body.len() > 4096 {
        return Err("over 4096 bytes".into());
    }
    if body.len() < 21 || body.len() < 21 + usize::from(body[20]) {
        return Err("shorter than its aes128gcm header".into());
    }
    // RFC 8291 §4: one record, and `rs` greater than it, or a strict decoder (ecec) waits
    // for another record.
    let declared = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    let record = body.len() - 21 - usize::from(body[20]);
    if declared <= record {
        return Err(format!(
            "rs is {declared}, not greater than the {record}-byte record"
        ));
    }
    let plain = web_push_native::decrypt(
        body.to_vec(),
        &browser.secret,
        web_push_native::Auth::from_slice(&browser.auth),
    )
    .map_err(|e| format!("does not decrypt: {e}"))?;
    serde_json::from_slice(&plain).map_err(|e| e.to_string())
}

async fn vapid_key(app: &TestApp) -> String {
    let body: Value = app
        .get("/api/integrations/vapid-public-key")
        .await
        .json()
        .await
        .unwrap();
    body["data"]["publicKey"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_shipped_order_is_pushed_signed_and_encrypted_to_its_customer_s_browsers() {
    let browsers = HashMap::from([
        (
            "/push/laptop".to_owned(),
            (Browser::new(1), Answer::Created),
        ),
        (
            "/push/phone".to_owned(),
            (Browser::new(2), Answer::BusyOnce),
        ),
        ("/push/old".to_owned(), (Browser::new(3), Answer::Gone)),
    ]);
    let subscriptions: Vec<Value> = browsers
        .iter()
        .map(|(path, (browser, _))| browser.subscription(path))
        .collect();
    // The push service learns the shop's VAPID key once the shop has made it.
    let key = Arc::new(Mutex::new(String::new()));
    let service = PushService::start(browsers, key.clone()).await;
    let ca = service.ca_file.clone();
    let app = spawn_app_on(fresh_database().await, move |s| {
        s.outbound.ca_file = Some(ca)
    })
    .await;
    *key.lock().unwrap() = vapid_key(&app).await;
    exec(&app.pool, SHOP).await;
    for mut subscription in subscriptions {
        let path = subscription["endpoint"].as_str().unwrap().to_owned();
        subscription["endpoint"] = json!(format!("{}{path}", service.origin));
        let saved = post(
            &app,
            "/api/integrations/save-vapid-subscription",
            &subscription,
        )
        .await;
        assert_eq!(saved.status().as_u16(), 201);
    }
    let guid = workflow(
        &app,
        "Shipment",
        "shipment_shipped",
        json!({"type": "send_push", "title": "Order {{ order.reference }} has shipped",
               "body": "{{ shipment.carrier }} {{ shipment.tracking_number }}", "url": "/orders/10"}),
        json!({}),
    )
    .await;
    exec(
        &app.pool,
        "UPDATE shipments SET status = 'shipped' WHERE id = 100",
    )
    .await;
    until_state(&app, &guid, "succeeded").await;

    {
        let seen = service.seen.lock().unwrap();
        assert!(seen.problems.is_empty(), "{:?}", seen.problems);
        let delivered: Vec<&str> = {
            let mut paths: Vec<&str> = seen.pushes.iter().map(|p| p.path.as_str()).collect();
            paths.sort();
            paths
        };
        assert_eq!(
            delivered,
            ["/push/laptop", "/push/old", "/push/phone", "/push/phone"]
        );
        assert_eq!(
            seen.requests["/push/laptop"], 1,
            "the retry skipped the laptop, reached once"
        );
        let payload = &seen.pushes[0].payload;
        assert_eq!(payload["title"], "Order R-10 has shipped");
        assert_eq!(payload["body"], "UPS 1Z999");
        assert_eq!(payload["url"], "/orders/10");
        assert_eq!(payload["event"]["name"], "shipment.shipped");
    }
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM push_subscriptions WHERE endpoint LIKE '%/push/old'"
        )
        .await,
        0,
        "410 deletes the subscription"
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM push_subscriptions").await,
        2
    );
    let execution = &executions(&app, &guid).await[0];
    assert_eq!(execution["tries"], 2, "429 then 201: {execution}");
}

#[tokio::test]
async fn a_customer_without_a_subscription_is_a_recorded_failure_and_the_dry_run_shows_the_payload()
{
    let app = spawn_app_on(fresh_database().await, |_| {}).await;
    exec(&app.pool, SHOP).await;
    let guid = workflow(
        &app,
        "Order",
        "order_status_changed",
        json!({"type": "send_push", "title": "Order {{ order.reference }}: {{ status_label }}"}),
        json!({}),
    )
    .await;
    let run: Value = post(
        &app,
        &format!("/api/workflows/configured/{guid}/test"),
        &json!({"payload": {"order_id": 10, "customer_id": 1, "status": "shipped", "status_label": "Shipped"}, "entityId": "10"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(run["data"]["action"]["type"], "send_push");
    assert_eq!(run["data"]["action"]["subscriptions"], 0);
    assert_eq!(
        run["data"]["action"]["payload"]["title"],
        "Order R-10: Shipped"
    );
    exec(
        &app.pool,
        "UPDATE orders SET status = 'shipped' WHERE id = 10",
    )
    .await;
    until_state(&app, &guid, "failed").await;
    let failed = &executions(&app, &guid).await[0];
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("push subscription"),
        "{failed}"
    );
}
