//! Configuring providers: the seed's examples as written, and every refusal in the seed's
//! envelope (404 NOT_FOUND, 400 CONFIGURATION_ERROR naming the field, 409 CONFLICT).

use serde_json::{json, Value};

use super::{
    admin, admin_get, configure, configured, remove, seed_configure_example, ONE, RFMCUBE, SHOPIFY,
    WEBHOOK,
};
use crate::helpers::{assert_error, spawn_app};
use crate::shopify::standin::{StandIn, TOKEN};

#[tokio::test]
async fn the_seed_example_configures_shopify_and_answers_in_the_seed_shape() {
    let store = StandIn::start(1000.0, 100.0).await;
    let app = spawn_app().await;
    let response = configure(&app, &seed_configure_example(&store.url)).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    let data = body["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["connectedAt", "guid", "provider", "status"],
        "{body}"
    );
    assert!(uuid::Uuid::parse_str(data["guid"].as_str().unwrap()).is_ok());
    assert_eq!(data["provider"], "Shopify");
    assert_eq!(data["status"], "active");
    let connected_at = data["connectedAt"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(connected_at, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{connected_at}"
    );
}

#[tokio::test]
async fn the_listing_shows_status_and_settings_and_never_a_secret() {
    let store = StandIn::start(1000.0, 100.0).await;
    let app = spawn_app().await;
    let guid = configured(&app, &seed_configure_example(&store.url)).await;
    let response = admin_get(&app, "/api/integrations").await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("your-api-secret") && !text.contains(TOKEN),
        "{text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let shopify = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["guid"] == guid.as_str())
        .unwrap_or_else(|| panic!("listed: {text}"));
    assert_eq!(shopify["providerId"], SHOPIFY);
    assert_eq!(shopify["providerType"], "ecommerce");
    assert_eq!(shopify["status"], "active");
    assert_eq!(
        shopify["settings"],
        json!({"autoImportOrders": true, "syncProducts": true, "pushTracking": true,
               "importOrdersSince": null})
    );
    assert_eq!(
        shopify["credentials"],
        json!({"storeUrl": store.url, "apiSecret": "configured", "apiKey": "configured"})
    );
    // The test app's environment configures ONe and Rfmcube: listed as such, after what
    // the API configured, in the catalog's order.
    let from_environment: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "environment")
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    assert_eq!(from_environment, ["rfmcube", "one"], "{text}");
}

#[tokio::test]
async fn the_catalog_lists_every_provider_with_its_fields() {
    let app = spawn_app().await;
    let response = admin_get(&app, "/api/integrations/providers").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let types: Vec<(&str, &str)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap(),
                p["providerType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("shopify", "ecommerce"),
            ("waymore", "marketing"),
            ("rfmcube", "analytics"),
            ("one", "sales"),
            ("webhook", "webhook")
        ]
    );
    let shopify = &body["data"][0];
    assert_eq!(shopify["providerId"], SHOPIFY);
    let secret = shopify["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "apiSecret")
        .unwrap();
    assert_eq!(secret["secret"], true);
    assert_eq!(secret["required"], true);
}

#[tokio::test]
async fn configuring_a_provider_twice_is_a_conflict_that_says_how_to_change_it() {
    let store = StandIn::start(1000.0, 100.0).await;
    let app = spawn_app().await;
    let guid = configured(&app, &seed_configure_example(&store.url)).await;
    let message = assert_error(
        configure(&app, &seed_configure_example(&store.url)).await,
        409,
        "CONFLICT",
    )
    .await;
    assert!(
        message.starts_with("Integration already configured"),
        "{message}"
    );
    assert!(
        message.contains(&guid) && message.contains("guid"),
        "{message}"
    );
}

#[tokio::test]
async fn a_change_by_guid_keeps_the_secrets_it_leaves_out() {
    let store = StandIn::start(1000.0, 100.0).await;
    let app = spawn_app().await;
    let guid = configured(&app, &seed_configure_example(&store.url)).await;
    // The same store by another address.
    let other_url = store.url.replace("localhost", "127.0.0.1");
    let change = json!({
        "providerId": SHOPIFY,
        "guid": guid,
        "credentials": {"storeUrl": other_url},
        "settings": {"pushTracking": false}
    });
    let response = configure(&app, &change).await;
    assert_eq!(response.status().as_u16(), 200);
    let put = admin(
        app.client
            .put(app.url("/api/integrations/provider/configure")),
    )
    .json(&change)
    .send()
    .await
    .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let body: Value = admin_get(&app, "/api/integrations")
        .await
        .json()
        .await
        .unwrap();
    let shopify = &body["data"][0];
    assert_eq!(shopify["credentials"]["storeUrl"], other_url.as_str());
    assert_eq!(shopify["credentials"]["apiSecret"], "configured");
    assert_eq!(shopify["settings"]["pushTracking"], false);
    assert_eq!(shopify["settings"]["syncProducts"], true);
    let missing = json!({"providerId": SHOPIFY, "guid": uuid::Uuid::new_v4()});
    assert_error(configure(&app, &missing).await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn bad_configurations_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = seed_configure_example("https://yourstore.example.com");
        change(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|b| b["credentials"]["storeUrl"] = json!("http://yourstore.example.com")),
            "credentials.storeUrl",
        ),
        (
            with(&|b| b["credentials"]["storeUrl"] = json!("not a url")),
            "credentials.storeUrl",
        ),
        (
            with(&|b| b["credentials"]["apiSecret"] = json!("short")),
            "credentials.apiSecret",
        ),
        (
            with(&|b| {
                b["credentials"]
                    .as_object_mut()
                    .unwrap()
                    .remove("apiSecret")
                    .map(drop)
                    .unwrap()
            }),
            "credentials.apiSecret",
        ),
        (
            with(&|b| b["credentials"]["apiSecret"] = json!(42)),
            "credentials.apiSecret",
        ),
        (
            with(&|b| b["credentials"]["password"] = json!("x")),
            "credentials.password",
        ),
        (
            with(&|b| b["settings"]["syncProducts"] = json!("yes")),
            "settings.syncProducts",
        ),
        (
            with(&|b| b["settings"]["importOrdersSince"] = json!("last spring")),
            "settings.importOrdersSince",
        ),
        (
            with(&|b| b["credentials"]["apiKey"] = json!("shpat_ with a space")),
            "credentials.apiKey",
        ),
        (
            with(&|b| b["providerType"] = json!("marketing")),
            "providerType",
        ),
        (
            with(&|b| b["providerId"] = json!("provider-uuid")),
            "providerId",
        ),
        (
            with(&|b| b["providerId"] = json!(uuid::Uuid::new_v4())),
            "providerId",
        ),
        (
            json!({"providerId": ONE, "credentials": {"username": "a:b", "password": "pw"}}),
            "credentials.username",
        ),
        (
            json!({"providerId": RFMCUBE, "credentials": {"apiKeys": ["short"]}}),
            "credentials.apiKeys",
        ),
        (
            json!({"providerId": WEBHOOK, "credentials": {"url": "https://10.1.2.3/hook"}}),
            "credentials.url",
        ),
        (
            json!({"providerId": WEBHOOK, "credentials": {"url": "https://crm.example.com", "secret": "whsec_!!"}}),
            "credentials.secret",
        ),
    ];
    for (body, field) in cases {
        let message = assert_error(configure(&app, &body).await, 400, "CONFIGURATION_ERROR").await;
        assert!(message.contains(field), "{field}: {message}");
        assert!(!message.contains("your-api-secret"), "{message}");
    }
    let listed: Value = admin_get(&app, "/api/integrations")
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["source"] == "environment"));
}

#[tokio::test]
async fn unknown_integrations_are_not_found_in_the_seed_envelope() {
    let app = spawn_app().await;
    for id in [
        uuid::Uuid::new_v4().to_string(),
        "integration-uuid".to_owned(),
    ] {
        let response = admin_get(&app, &format!("/api/integrations/provider/disable/{id}")).await;
        let message = assert_error(response, 404, "NOT_FOUND").await;
        assert_eq!(message, "Integration not found");
        assert_error(remove(&app, &id).await, 404, "NOT_FOUND").await;
        let enable = admin_get(&app, &format!("/api/integrations/provider/enable/{id}")).await;
        assert_error(enable, 404, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn the_integrations_api_takes_the_admin_token() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/integrations/provider/configure"))
        .json(&seed_configure_example("https://yourstore.example.com"))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "UNAUTHORIZED").await;
    assert_error(app.get("/api/integrations").await, 401, "UNAUTHORIZED").await;
    let response = app
        .client
        .post(app.url("/api/integrations/provider/configure"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"providerId\": ")
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn disable_and_remove_answer_as_the_seed_shows() {
    let store = StandIn::start(1000.0, 100.0).await;
    let app = spawn_app().await;
    let guid = configured(&app, &seed_configure_example(&store.url)).await;
    let response = admin_get(&app, &format!("/api/integrations/provider/disable/{guid}")).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"data": {"guid": guid, "status": "disabled"}, "success": true})
    );
    let response = remove(&app, &guid).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"success": true}));
    assert_error(remove(&app, &guid).await, 404, "NOT_FOUND").await;
}
