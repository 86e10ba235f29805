//! A custom mapping: `docs/mapping-example.sql` over a shop written in-house, with integer
//! and uuid keys, money in cents and a table of states.

use std::time::Duration;

use serde_json::json;

use shopbridge::shop::{check, Mapping};

use super::{add_hook, hooks, mapped_app, receiver, shop_database, shop_writes};
use crate::events::eventually;
use crate::rfmcube::{crawl, Mode};

const SCHEMA: &str = "
CREATE SCHEMA shop;
CREATE TABLE shop.clients (client_no integer PRIMARY KEY, mail text, given_name text,
    family_name text, mobile text, born date, joined timestamptz NOT NULL,
    changed timestamptz NOT NULL, newsletter boolean NOT NULL DEFAULT false);
CREATE TABLE shop.articles (code text PRIMARY KEY, title text NOT NULL, blurb text,
    cents integer NOT NULL, on_hand integer NOT NULL DEFAULT 0, listed boolean NOT NULL,
    added timestamptz NOT NULL, changed timestamptz NOT NULL);
CREATE TABLE shop.purchase_states (state_id smallint PRIMARY KEY, code text NOT NULL,
    title text NOT NULL);
CREATE TABLE shop.purchases (purchase_uuid uuid PRIMARY KEY, number text NOT NULL,
    client_no integer REFERENCES shop.clients, mail text, state_id smallint NOT NULL
    REFERENCES shop.purchase_states, total_cents bigint NOT NULL, currency text NOT NULL,
    ship_city text, ship_zip text, ship_country text, placed_at timestamptz NOT NULL,
    changed timestamptz NOT NULL);
CREATE TABLE shop.purchase_lines (line_id bigint PRIMARY KEY, purchase_uuid uuid NOT NULL
    REFERENCES shop.purchases, article_code text REFERENCES shop.articles, title text NOT NULL,
    qty integer NOT NULL, unit_cents integer NOT NULL, changed timestamptz NOT NULL);
INSERT INTO shop.purchase_states VALUES (1, 'new', 'New'), (2, 'paid', 'Paid'),
    (3, 'shipped', 'Shipped');
INSERT INTO shop.clients VALUES
    (7, 'ada@example.com', 'Ada', 'Lovelace', NULL, '1815-12-10',
     '2026-03-01T08:00:00Z', '2026-03-01T08:00:00Z', true);
INSERT INTO shop.articles VALUES
    ('BOOK-1', 'Notes', NULL, 1250, 4, true, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z');
";

/// Purchase `n` (a uuid ending in `n`), placed at `at`, of `qty` books.
fn purchase(n: u32, qty: u32, at: &str) -> String {
    format!(
        "INSERT INTO shop.purchases VALUES ('00000000-0000-4000-8000-{n:012}', 'P-{n}', 7,
             'ada@example.com', 2, {total}, 'eur', 'London', 'N1', 'GB', '{at}', '{at}');
         INSERT INTO shop.purchase_lines VALUES ({n}, '00000000-0000-4000-8000-{n:012}',
             'BOOK-1', 'Notes', {qty}, 1250, '{at}');",
        total = qty * 1250,
    )
}

fn example() -> Mapping {
    Mapping::parse(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/mapping-example.sql"
    ))
    .unwrap()
}

#[tokio::test]
async fn the_example_mapping_reads_a_shop_keyed_by_uuids_with_money_in_cents() {
    let store = shop_database(SCHEMA).await;
    for n in 1..=5 {
        shop_writes(&store, &purchase(n, n, "2026-03-01T09:00:00Z")).await;
    }
    let app = mapped_app(store, example()).await;
    let report = check::check(&mut app.pool.acquire().await.unwrap(), &example())
        .await
        .unwrap();
    assert_eq!(report.problems, Vec::<String>::new());

    let window = json!({"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"});
    let orders = crawl(&app, "/rfmcube/orders", window.clone(), 2, Mode::Cursor).await;
    let seen: Vec<(String, f64, String)> = orders
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().into(),
                o["amount"].as_f64().unwrap(),
                o["statusLabel"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, f64, String)> = (1..=5)
        .map(|n| {
            (
                format!("00000000-0000-4000-8000-{n:012}"),
                12.5 * f64::from(n),
                "Paid".into(),
            )
        })
        .collect();
    assert_eq!(
        seen, expected,
        "uuid keys paged in order, cents as major units"
    );
    assert_eq!(orders[2]["items"][0]["price"], 12.5);
    assert_eq!(orders[2]["items"][0]["quantity"], 3);
    assert_eq!(orders[2]["customerId"], "7");

    let customers = crawl(&app, "/rfmcube/customers", window, 10, Mode::Pages).await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["id"], "7");
    assert_eq!(customers[0]["birthday"], "1815-12-10");
    assert_eq!(customers[0]["newsletter"], true);
}

#[tokio::test]
async fn a_purchase_with_its_lines_is_one_order_created() {
    let store = shop_database(SCHEMA).await;
    let app = mapped_app(store.clone(), example()).await;
    let receiver = receiver().await;
    add_hook(&app, &receiver, json!(["order.*"])).await;

    shop_writes(&store, &purchase(9, 2, "2026-03-01T09:00:00Z")).await;
    shop_writes(
        &store,
        "UPDATE shop.purchase_lines SET qty = 3, changed = now() WHERE line_id = 9",
    )
    .await;
    eventually(Duration::from_secs(10), "both events delivered", || async {
        hooks(&receiver).await.len() >= 2
    })
    .await;
    let received = hooks(&receiver).await;
    assert_eq!(received[0]["name"], "order.created");
    assert_eq!(
        received[0]["entity"]["id"],
        "00000000-0000-4000-8000-000000000009"
    );
    assert_eq!(received[0]["payload"]["order"]["total"], 25.0);
    assert_eq!(received[0]["payload"]["items"][0]["quantity"], 2);
    assert_eq!(received[1]["name"], "order.updated");
    assert_eq!(received[1]["payload"]["items"][0]["quantity"], 3);
}
