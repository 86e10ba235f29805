//! The sample-event page in headless Chromium, as the operator checks it from ONe's guide.

use serde_json::{json, Value};

use super::post;
use crate::browser::{screenshot_path, Browser};
use crate::helpers::{spawn_app, ONE_CREDENTIALS};

#[tokio::test]
async fn a_cart_opened_appears_on_the_open_page_without_a_reload_and_payloads_stay_text() {
    let app = spawn_app().await;
    let mut browser = Browser::launch(412, 915).await;
    // Credentials in the URL, as a browser caches them after its Basic prompt.
    let (user, password) = ONE_CREDENTIALS;
    let mut url = reqwest::Url::parse(&app.url("/one/events")).unwrap();
    url.set_username(user).unwrap();
    url.set_password(Some(password)).unwrap();
    browser.open(url.as_str()).await;
    let heading = browser
        .evaluate("document.querySelector('h1').textContent")
        .await;
    assert_eq!(heading, "ONe sample events");
    assert!(browser
        .evaluate("document.getElementById('events').textContent")
        .await
        .as_str()
        .unwrap()
        .contains("No events yet"));
    browser.evaluate("window.stillTheSamePage = true").await;

    post(
        &app,
        json!({"event": "Client logged", "customerId": "<img src=x onerror=\"window.injected=1\">"}),
    )
    .await;
    post(
        &app,
        json!({"eventType": "CART_OPENED", "customerId": "C-4242", "cartId": "K-77"}),
    )
    .await;
    let appeared = browser
        .evaluate(
            "new Promise((resolve) => {
                const list = document.getElementById('events');
                const shown = () => list.textContent.includes('C-4242')
                    && list.textContent.includes('K-77');
                if (shown()) return resolve(true);
                new MutationObserver(() => shown() && resolve(true))
                    .observe(list, {childList: true, subtree: true, characterData: true});
                setTimeout(() => resolve(false), 15000);
            })",
        )
        .await;
    assert_eq!(appeared, true, "the event shows within 15 s");
    assert_eq!(
        browser.evaluate("window.stillTheSamePage === true").await,
        true,
        "shown without a reload"
    );
    let first = browser
        .evaluate(
            "(() => { const e = document.querySelector('#events li.event');
                      return {kind: e.querySelector('.kind').textContent,
                              customer: e.querySelector('.customer-id').textContent,
                              cart: e.querySelector('.cart-id').textContent}; })()",
        )
        .await;
    assert_eq!(
        first,
        json!({"kind": "Cart opened", "customer": "C-4242", "cart": "K-77"}),
        "newest first, with the customer and the cart"
    );
    let hostile = browser
        .evaluate(
            "({injected: window.injected === undefined ? null : window.injected,
               images: document.querySelectorAll('#events img').length,
               shown: document.querySelectorAll('.customer-id')[1].textContent})",
        )
        .await;
    assert_eq!(
        hostile,
        json!({"injected": Value::Null, "images": 0,
               "shown": "<img src=x onerror=\"window.injected=1\">"}),
        "a payload's markup is shown as text"
    );
    let raw = browser
        .evaluate(
            "(() => { const d = document.querySelector('#events li.event details');
                      d.querySelector('summary').click();
                      return {open: d.open, json: d.querySelector('pre').textContent}; })()",
        )
        .await;
    assert_eq!(raw["open"], true);
    let shown: Value = serde_json::from_str(raw["json"].as_str().unwrap()).unwrap();
    assert_eq!(shown["eventType"], "CART_OPENED", "the raw JSON on click");
    browser
        .screenshot(&screenshot_path("one-sample-events.png"))
        .await;
}

/// The page refreshes by itself, but never under the operator's hands: what is shown stays
/// (a selection of a cart id survives), and new events wait behind a "new events" button.
#[tokio::test]
async fn new_events_wait_behind_a_button_and_what_is_shown_never_moves() {
    let app = spawn_app().await;
    post(
        &app,
        json!({"event": "Cart opened", "customerId": "C-1", "cartId": "K-1"}),
    )
    .await;
    let mut browser = Browser::launch(412, 915).await;
    let (user, password) = ONE_CREDENTIALS;
    let mut url = reqwest::Url::parse(&app.url("/one/events")).unwrap();
    url.set_username(user).unwrap();
    url.set_password(Some(password)).unwrap();
    browser.open(url.as_str()).await;
    let selected = browser
        .evaluate(
            "(() => { const item = document.querySelector('#events li.event');
                      window.firstItem = item;
                      const range = document.createRange();
                      range.selectNodeContents(item.querySelector('.cart-id'));
                      getSelection().removeAllRanges();
                      getSelection().addRange(range);
                      return getSelection().toString(); })()",
        )
        .await;
    assert_eq!(selected, "K-1");
    // Two refreshes go by.
    let refreshed = browser
        .evaluate(
            "new Promise((resolve) => {
                const status = document.getElementById('refreshed');
                let seen = 0;
                new MutationObserver(() => ++seen >= 2 && resolve(true))
                    .observe(status, {childList: true, characterData: true, subtree: true});
                setTimeout(() => resolve(false), 15000);
            })",
        )
        .await;
    assert_eq!(refreshed, true);
    let kept = browser
        .evaluate(
            "({same: document.querySelector('#events li.event') === window.firstItem,
               selection: getSelection().toString()})",
        )
        .await;
    assert_eq!(
        kept,
        json!({"same": true, "selection": "K-1"}),
        "refreshes leave what is shown alone"
    );

    post(
        &app,
        json!({"event": "Cart opened", "customerId": "C-2", "cartId": "K-2"}),
    )
    .await;
    let announced = browser
        .evaluate(
            "new Promise((resolve) => {
                const banner = document.getElementById('new-events');
                const shown = () => !banner.hidden && banner.textContent.startsWith('1 new event');
                if (shown()) return resolve(true);
                new MutationObserver(() => shown() && resolve(true))
                    .observe(banner, {attributes: true, childList: true, subtree: true});
                setTimeout(() => resolve(false), 15000);
            })",
        )
        .await;
    assert_eq!(announced, true, "the new event is announced");
    let before = browser
        .evaluate(
            "({first: document.querySelector('#events li.event .cart-id').textContent,
               same: document.querySelector('#events li.event') === window.firstItem,
               selection: getSelection().toString()})",
        )
        .await;
    assert_eq!(
        before,
        json!({"first": "K-1", "same": true, "selection": "K-1"}),
        "nothing pushed down"
    );
    let after = browser
        .evaluate(
            "(() => { document.getElementById('new-events').click();
                      return {first: document.querySelector('#events li.event .cart-id').textContent,
                              items: document.querySelectorAll('#events li.event').length,
                              banner: document.getElementById('new-events').hidden}; })()",
        )
        .await;
    assert_eq!(after, json!({"first": "K-2", "items": 2, "banner": true}));
}
