//! Delivery: concurrent with each entity in order, destinations independent, outages
//! probed and healed fast, nothing after Uninstall, in-flight work recorded on stop.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::Connection;
use tokio::sync::watch;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use shopbridge::delivery::kind::Kinds;
use shopbridge::delivery::queue::{self, prune};
use shopbridge::delivery::worker::Deliverer;
use shopbridge::events::{replay, ReplayRequest};
use shopbridge::outbound::signature::legacy_signature;
use shopbridge::waymore::client::WaymoreClient;
use shopbridge::waymore::destination::WaymoreKind;

use super::{
    connected, connected_app, connected_app_with, count, eventually, exec, stock_sequences,
};
use crate::helpers::spawn_app_on;
use crate::helpers::{delivery_settings, fresh_database, test_vault, waymore_settings};
use crate::waymore::{admin, status, FakeWaymore, Step};

/// Five stock changes on each of the 40 products, one commit each: 200 events.
async fn stock_changes(pool: &sqlx::PgPool) {
    for round in 2..=6 {
        exec(
            pool,
            &format!("UPDATE products SET stock_quantity = {round}"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_slow_partner_gets_many_entities_at_once_and_each_entity_in_order() {
    let (app, fake) = connected_app().await;
    fake.events.set_delay(Duration::from_millis(50));
    let started = Instant::now();
    stock_changes(&app.pool).await;
    eventually(Duration::from_secs(30), "200 events delivered", || async {
        fake.events.acknowledged().len() >= 200
    })
    .await;
    let took = started.elapsed();
    // One at a time, 200 answers of 50 ms take 10 s.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let sequences = stock_sequences(&fake.events.acknowledged());
    assert_eq!(sequences.len(), 40);
    for (product, stocks) in sequences {
        assert_eq!(stocks, [2, 3, 4, 5, 6], "product {product} in commit order");
    }
}

/// Claims look only at ready deliveries, so a queue whose later events were ready too would
/// make every claim wade through the whole backlog.
#[tokio::test]
async fn only_the_head_of_each_entitys_queue_is_ready_to_be_claimed() {
    let (app, fake) = connected_app().await;
    fake.events.set_delay(Duration::from_millis(50));
    stock_changes(&app.pool).await;
    let mut observed = 0;
    while fake.events.acknowledged().len() < 200 {
        let most_ready = count(
            &app.pool,
            "SELECT coalesce(max(n), 0) FROM (
                 SELECT count(*) AS n FROM deliveries
                 WHERE state = 'pending' AND ready GROUP BY ordering_key) queues",
        )
        .await;
        assert!(
            most_ready <= 1,
            "{most_ready} deliveries of one product ready at once"
        );
        observed += 1;
        assert!(observed < 2000, "200 events not delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn two_destinations_receive_the_same_events_independently() {
    let (app, fake) = connected_app().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let added = admin(
        &app,
        Method::POST,
        "/admin/destinations",
        Some(json!({"name": "crm", "url": format!("{}/hook", hook.uri()),
                    "events": ["search.*"], "secret": "hook-secret"})),
    )
    .await;
    assert_eq!(added.status().as_u16(), 201);
    fake.events.set_down(true);
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) SELECT 'q' || g FROM generate_series(1, 5) g",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the webhook got 5 events",
        || async { hook.received_requests().await.unwrap().len() >= 5 },
    )
    .await;
    let requests = hook.received_requests().await.unwrap();
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(first["name"], "search.recorded");
    assert_eq!(first["entity"]["type"], "search");
    assert!(first["payload"]["query"].as_str().unwrap().starts_with('q'));
    assert_eq!(
        requests[0].headers.get("x-shopbridge-signature").unwrap(),
        &legacy_signature("hook-secret", &requests[0].body),
        "signed with the destination's secret"
    );
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM deliveries d JOIN destinations ds ON ds.id = d.destination_id WHERE ds.name = 'waymore' AND d.state = 'pending'").await,
        5,
        "Waymore's copies wait for Waymore"
    );
    fake.events.set_down(false);
    eventually(Duration::from_secs(10), "Waymore got 5 events", || async {
        fake.events.acknowledged().len() >= 5
    })
    .await;
    assert_eq!(
        hook.received_requests().await.unwrap().len(),
        5,
        "each once"
    );
}

#[tokio::test]
async fn an_outage_is_probed_one_request_at_a_time_and_the_backlog_drains_when_it_heals() {
    let (app, fake) = connected_app().await;
    fake.events.set_down(true);
    stock_changes(&app.pool).await;
    eventually(Duration::from_secs(10), "the outage recorded", || async {
        status(&app).await["events"]["lastError"]
            .as_str()
            .is_some_and(|error| error.contains("503"))
    })
    .await;
    // Hammering would be every delivery at every retry. The first round (the limit starts
    // at one request and grows only with good answers) fails, not the whole backlog of 200…
    let noticed = fake.events.received();
    assert!(
        (1..100).contains(&noticed),
        "{noticed} requests before the outage was recorded"
    );
    // …then the destination is probed, one request at a time, backing off from 10 ms to
    // the probe interval of a second: about ten in two seconds, where the backlog retried
    // would be hundreds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let probes = fake.events.received() - noticed;
    assert!(
        probes <= 30,
        "{probes} requests in the 2 s after the outage was recorded"
    );
    fake.events.set_down(false);
    let healed = Instant::now();
    eventually(Duration::from_secs(10), "the backlog delivered", || async {
        super::delivered(&app.pool).await == 200
    })
    .await;
    assert!(
        healed.elapsed() < Duration::from_secs(5),
        "drained in {:?}",
        healed.elapsed()
    );
    for stocks in stock_sequences(&fake.events.acknowledged()).values() {
        assert_eq!(stocks, &[2, 3, 4, 5, 6]);
    }
    let recovered = status(&app).await;
    assert_eq!(recovered["events"]["pending"], 0);
    assert_eq!(
        recovered["events"]["lastError"],
        Value::Null,
        "no stale error"
    );
}

/// A worker that read "failing" just before another outcome closed the circuit must not
/// probe: the probe's pause would outlive it, as no later outcome reopens what is closed.
#[tokio::test]
async fn a_probe_is_not_claimed_once_the_circuit_has_closed() {
    let (_fake, pool) = connected_shop_without_app(1).await;
    exec(&pool, "UPDATE products SET stock_quantity = 2 WHERE id = 1").await;
    let waymore: i64 = sqlx::query_scalar("SELECT id FROM destinations WHERE name = 'waymore'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let lease = Duration::from_secs(30);
    let closed = queue::claim(&pool, waymore, true, 1, lease).await.unwrap();
    assert!(closed.is_none(), "no probe while the circuit is closed");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM destinations WHERE paused_until IS NOT NULL"
        )
        .await,
        0,
        "and no pause"
    );
    exec(&pool, "UPDATE destinations SET consecutive_failures = 1").await;
    let probe = queue::claim(&pool, waymore, true, 1, lease).await.unwrap();
    assert_eq!(probe.map(|claimed| claimed.deliveries.len()), Some(1));
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM destinations WHERE paused_until > now() + interval '20 seconds'"
        )
        .await,
        1,
        "an open circuit's probe pauses its destination for its lease"
    );
}

#[tokio::test]
async fn a_refused_event_holds_back_its_entitys_later_events_until_retried() {
    let (app, fake) = connected_app().await;
    fake.events.script(&[Step::Status(400)]);
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 2 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "the refusal recorded", || async {
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE state = 'failed'",
        )
        .await
            == 1
    })
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 3 WHERE id = 1",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 9 WHERE id = 2",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the other product's event",
        || async { fake.events.acknowledged().len() == 1 },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        fake.events.acknowledged()[0]["data"]["product_id"],
        "2",
        "product 1's later event waits behind its refused one"
    );
    let retried = admin(
        &app,
        Method::POST,
        "/admin/destinations/waymore/retry",
        None,
    )
    .await;
    assert_eq!(retried.json::<Value>().await.unwrap()["queued"], 1);
    eventually(Duration::from_secs(10), "product 1's events", || async {
        fake.events.acknowledged().len() == 3
    })
    .await;
    assert_eq!(stock_sequences(&fake.events.acknowledged())["1"], [2, 3]);
}

#[tokio::test]
async fn a_replay_sends_a_range_again_with_the_same_event_ids() {
    let (app, fake) = connected_app().await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('a'), ('b'), ('c')",
    )
    .await;
    eventually(Duration::from_secs(10), "3 events", || async {
        fake.events.acknowledged().len() == 3
    })
    .await;
    let (first, last): (i64, i64) = sqlx::query_as("SELECT min(id), max(id) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let replayed = admin(
        &app,
        Method::POST,
        "/admin/destinations/waymore/replay",
        Some(json!({"fromEventId": first, "toEventId": last})),
    )
    .await;
    assert_eq!(replayed.status().as_u16(), 202);
    assert_eq!(replayed.json::<Value>().await.unwrap()["queued"], 3);
    eventually(Duration::from_secs(10), "3 more", || async {
        fake.events.acknowledged().len() == 6
    })
    .await;
    let mut ids: Vec<String> = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/event")
        .map(|r| {
            r.headers
                .get("x-event-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "the same three event ids");
    let unknown = admin(
        &app,
        Method::POST,
        "/admin/destinations/nobody/replay",
        Some(json!({"fromEventId": first, "toEventId": last})),
    )
    .await;
    crate::helpers::assert_error(unknown, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn nothing_goes_out_under_the_uuid_after_its_uninstall() {
    let (app, fake) = connected_app().await;
    fake.events.set_delay(Duration::from_millis(200));
    stock_changes(&app.pool).await;
    eventually(Duration::from_secs(10), "deliveries in flight", || async {
        fake.events.received() >= 10
    })
    .await;
    let response = admin(&app, Method::DELETE, "/waymore/connect", None).await;
    assert_eq!(response.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<String> = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/event")
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        events.last().map(String::as_str),
        Some("Uninstall"),
        "Uninstall is the last request"
    );
    assert_eq!(events.iter().filter(|e| *e == "Uninstall").count(), 1);
    let delivered = count(
        &app.pool,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
    )
    .await;
    assert_eq!(
        delivered as usize,
        events.len() - 1,
        "every event sent was recorded"
    );
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE state = 'pending'"
        )
        .await,
        0,
        "the rest is canceled, not left to a later account"
    );
}

/// A connected shop with `products` products on a database no app runs on, for a worker of
/// the test's own.
async fn connected_shop_without_app(products: i64) -> (FakeWaymore, sqlx::PgPool) {
    let fake = FakeWaymore::start().await;
    let pool = sqlx::PgPool::connect_with(fresh_database().await)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO products (id, sku, name, price, stock_quantity)
         SELECT g, 'P' || g, 'product ' || g, 10, 1 FROM generate_series(1, $1) g",
    )
    .bind(products)
    .execute(&pool)
    .await
    .unwrap();
    connected(&pool).await;
    (fake, pool)
}

/// A delivery worker on `pool`, sending to the fake; it stops and drains when told.
fn own_worker(
    pool: &sqlx::PgPool,
    fake: &FakeWaymore,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let kinds = Kinds::default().with(WaymoreKind::new(WaymoreClient::new(waymore_settings(
        &fake.server.uri(),
    ))));
    let (stop, stopping) = watch::channel(false);
    let worker = Deliverer::new(pool.clone(), kinds, test_vault(), delivery_settings());
    (stop, tokio::spawn(worker.run(stopping)))
}

#[tokio::test]
async fn a_stopping_worker_records_the_deliveries_it_has_in_flight() {
    let (fake, pool) = connected_shop_without_app(40).await;
    stock_changes(&pool).await;
    fake.events.set_delay(Duration::from_millis(300));
    let (stop, running) = own_worker(&pool, &fake);
    eventually(Duration::from_secs(10), "requests in flight", || async {
        fake.events.received() >= 10
    })
    .await;
    stop.send_replace(true);
    running.await.unwrap();
    let sent = fake.events.received() as i64;
    let recorded = count(
        &pool,
        "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
    )
    .await;
    assert_eq!(
        recorded, sent,
        "every request sent before the stop was recorded"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM deliveries WHERE lease_token IS NOT NULL"
        )
        .await,
        0,
        "no lease left behind"
    );
}

/// The advisory lock a sleeping worker holds (`src/delivery/asleep.rs`), as `pg_locks` shows a
/// bigint key: in this test's database only, since the other tests' workers, in the same
/// cluster, hold theirs.
const ASLEEP_SIGN: &str = "locktype = 'advisory' AND objsubid = 1
     AND ((classid::bigint << 32) | objid::bigint) = 6001133709951060805
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// Changes product 1's stock in the writer's transaction and records its event now: the
/// event triggers are deferred to commit otherwise.
async fn change_stock_now(writer: &mut sqlx::PgConnection, stock: i32) {
    sqlx::query("UPDATE products SET stock_quantity = $1 WHERE id = 1")
        .bind(stock)
        .execute(&mut *writer)
        .await
        .unwrap();
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(writer)
        .await
        .unwrap();
}

/// Whether the events the transaction recorded (see [`change_stock_now`]) skip the NOTIFY:
/// they took the lock shared.
async fn unannounced(writer: &mut sqlx::PgConnection) -> bool {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid()
                        AND mode = 'ShareLock' AND granted AND {ASLEEP_SIGN})"
    )))
    .fetch_one(writer)
    .await
    .unwrap()
}

/// A writer that commits while no worker sleeps does not notify. A worker going to sleep
/// waits for such writers and looks once more, so their events do not wait for the poll.
#[tokio::test]
async fn an_event_committed_without_notify_is_found_by_the_worker_going_to_sleep() {
    let (fake, pool) = connected_shop_without_app(1).await;
    let mut writer = pool.begin().await.unwrap();
    change_stock_now(&mut writer, 2).await;
    assert!(
        unannounced(&mut writer).await,
        "with no worker asleep, the writer does not notify"
    );

    let (stop, running) = own_worker(&pool, &fake);
    let waiting = format!("SELECT count(*) FROM pg_locks WHERE NOT granted AND {ASLEEP_SIGN}");
    eventually(
        Duration::from_secs(10),
        "the worker, finding nothing, waits for the writer before it sleeps",
        || async { count(&pool, &waiting).await == 1 },
    )
    .await;
    writer.commit().await.unwrap();
    // The poll is a minute: delivery within seconds comes from the look after the grant.
    eventually(Duration::from_secs(5), "the event delivered", || async {
        fake.events.acknowledged().len() == 1
    })
    .await;
    stop.send_replace(true);
    running.await.unwrap();
}

/// The lock dies with its connection, and writers stop notifying: the worker must notice.
#[tokio::test]
async fn a_sleeping_worker_whose_lock_connection_is_killed_still_hears_of_new_events() {
    let (app, fake) = connected_app().await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 2 WHERE id = 1",
    )
    .await;
    let held = format!("SELECT count(*) FROM pg_locks WHERE granted AND {ASLEEP_SIGN}");
    let recorded = "SELECT count(*) FROM deliveries WHERE state = 'delivered'";
    eventually(
        Duration::from_secs(10),
        "delivered, recorded, then asleep",
        || async {
            fake.events.acknowledged().len() == 1
                && count(&app.pool, recorded).await == 1
                && count(&app.pool, &held).await == 1
        },
    )
    .await;
    // The sign's owner may still be letting go of the lock it took before the delivery and
    // taking it again: kill whichever connection holds it.
    let kill = format!(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE granted AND {ASLEEP_SIGN}) t"
    );
    eventually(
        Duration::from_secs(5),
        "the sign's connection killed",
        || async { count(&app.pool, &kill).await == 1 },
    )
    .await;
    eventually(Duration::from_secs(5), "the lock gone", || async {
        count(&app.pool, &held).await == 0
    })
    .await;
    let mut writer = app.pool.begin().await.unwrap();
    change_stock_now(&mut writer, 3).await;
    assert!(
        unannounced(&mut writer).await,
        "with the lock gone, the writer does not notify"
    );
    writer.commit().await.unwrap();
    eventually(
        Duration::from_secs(5),
        "the unannounced event delivered",
        || async { fake.events.acknowledged().len() == 2 },
    )
    .await;
}

#[tokio::test]
async fn finished_events_are_pruned_after_the_retention_failed_ones_too() {
    let (app, fake) = connected_app().await;
    fake.events.script(&[Step::Status(400)]);
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('refused'), ('taken')",
    )
    .await;
    eventually(Duration::from_secs(10), "both finished", || async {
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE state IN ('failed', 'delivered')",
        )
        .await
            == 2
    })
    .await;
    exec(
        &app.pool,
        "INSERT INTO search_queries (query) VALUES ('recent')",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE events SET occurred_at = now() - interval '3 days' WHERE payload->>'query' <> 'recent';
         UPDATE deliveries SET finished_at = now() - interval '3 days' WHERE state <> 'pending'",
    )
    .await;
    let pruned = prune(&app.pool, Duration::from_secs(86400)).await.unwrap();
    assert_eq!(pruned, 2);
    let left: Vec<String> = sqlx::query_scalar("SELECT payload->>'query' FROM events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, ["recent"]);
}

/// Whether recording a stock change on `writer` scanned the event log sequentially. Read in
/// one transaction: the counts pile up until the backend reports them, between transactions.
async fn recording_scans_events(writer: &mut sqlx::PgConnection, stock: i32) -> bool {
    const SCANS: &str = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'events'";
    let mut tx = writer.begin().await.unwrap();
    let before: i64 = sqlx::query_scalar(SCANS).fetch_one(&mut *tx).await.unwrap();
    change_stock_now(&mut tx, stock).await;
    let after: i64 = sqlx::query_scalar(SCANS).fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    after > before
}

/// A connection caches its plans, the check that each delivery's event exists included.
/// Made while the event log looked empty, they must not scan the log as it refills.
#[tokio::test]
async fn recording_into_an_event_log_planned_as_empty_never_scans_it() {
    let (_fake, pool) = connected_shop_without_app(1).await;
    exec(&pool, "ANALYZE events").await;
    let mut writer = pool.acquire().await.unwrap();
    let mut scanned = Vec::new();
    // Past the five custom plans, to the generic one the connection keeps.
    for stock in 2..12 {
        scanned.push(recording_scans_events(&mut writer, stock).await);
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries").await, 10);
    assert_eq!(
        scanned, [false; 10],
        "the event log scanned while recording"
    );
}

/// A replay inserts deliveries too, on a pool connection that records events later: the
/// check it leaves cached there is the same index probe.
#[tokio::test]
async fn a_replay_leaves_its_connection_checking_deliveries_by_index() {
    let (_fake, pool) = connected_shop_without_app(1).await;
    exec(&pool, "ANALYZE events").await;
    for stock in 2..12 {
        exec(
            &pool,
            &format!("UPDATE products SET stock_quantity = {stock}"),
        )
        .await;
    }
    let one_connection = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let everything = ReplayRequest {
        from_event_id: 0,
        to_event_id: i64::MAX,
        name: None,
    };
    let replayed = replay(&one_connection, "waymore", &everything)
        .await
        .unwrap();
    assert_eq!(replayed, 10);
    let mut writer = one_connection.acquire().await.unwrap();
    assert!(
        !recording_scans_events(&mut writer, 20).await,
        "the event log scanned while recording"
    );
}

#[tokio::test]
async fn waymore_refusing_the_account_holds_its_destination_until_released() {
    let (app, fake) = connected_app().await;
    fake.events.script(&[Step::Status(401)]);
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 2 WHERE id = 1",
    )
    .await;
    let waymore = || async {
        let listed: Value = admin(&app, Method::GET, "/admin/destinations", None)
            .await
            .json()
            .await
            .unwrap();
        listed["destinations"][0].clone()
    };
    eventually(Duration::from_secs(10), "held", || async {
        waymore().await["held"] == true
    })
    .await;
    let held = waymore().await;
    assert!(
        held["holdReason"].as_str().unwrap().contains("401"),
        "{held}"
    );
    assert!(status(&app).await["events"]["lastError"]
        .as_str()
        .unwrap()
        .contains("401"));
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 3 WHERE id = 1",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.events.received(),
        1,
        "nothing more goes to a held destination"
    );
    assert_eq!(waymore().await["pending"], 2, "every event kept");
    let released = admin(
        &app,
        Method::POST,
        "/admin/destinations/waymore/release",
        None,
    )
    .await;
    assert_eq!(released.status().as_u16(), 200);
    eventually(Duration::from_secs(10), "both delivered", || async {
        fake.events.acknowledged().len() == 2
    })
    .await;
    assert_eq!(stock_sequences(&fake.events.acknowledged())["1"], [2, 3]);
}

#[tokio::test]
async fn disconnecting_cancels_what_was_not_delivered_and_status_counts_it() {
    let (app, fake) = connected_app().await;
    fake.events.script(&[Step::Status(400)]);
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 2 WHERE id = 1",
    )
    .await;
    eventually(Duration::from_secs(10), "the refusal recorded", || async {
        status(&app).await["events"]["failed"] == 1
    })
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 3 WHERE id = 1",
    )
    .await;
    exec(
        &app.pool,
        "UPDATE products SET stock_quantity = 4 WHERE id = 1",
    )
    .await;
    let response = admin(&app, Method::DELETE, "/waymore/connect", None).await;
    assert_eq!(response.status().as_u16(), 200);
    let events = status(&app).await["events"].clone();
    assert_eq!(
        (
            events["pending"].clone(),
            events["failed"].clone(),
            events["canceled"].clone()
        ),
        (json!(0), json!(0), json!(3)),
        "{events}"
    );
    let listed: Value = admin(&app, Method::GET, "/admin/destinations", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["destinations"][0]["canceled"], 3);
}

/// A partner down for a while, one event waiting: it is tried at the probe cadence, not at
/// its own backoff (which here grows to minutes), so it goes out soon after the partner heals.
#[tokio::test]
async fn a_quiet_shop_s_failing_destination_is_probed_at_the_probe_cadence() {
    let fake = FakeWaymore::start().await;
    let uri = fake.server.uri();
    let app = spawn_app_on(fresh_database().await, |s| {
        s.waymore = waymore_settings(&uri);
        s.delivery.retry.base = Duration::from_secs(1);
        s.delivery.retry.cap = Duration::from_secs(300);
        s.delivery.probe_every = Duration::from_secs(1);
    })
    .await;
    exec(
        &app.pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'P1', 'p', 10, 1)",
    )
    .await;
    connected(&app.pool).await;
    fake.events.set_down(true);
    exec(&app.pool, "UPDATE products SET stock_quantity = 2").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let tries = fake.events.received();
    // Its own backoff would have allowed three tries (at 0, ~1, ~3 s); probes come every
    // second at most.
    assert!(tries >= 5, "{tries} tries in 6 s");
    fake.events.set_down(false);
    let healed = Instant::now();
    eventually(Duration::from_secs(10), "delivered", || async {
        fake.events.acknowledged().len() == 1
    })
    .await;
    assert!(
        healed.elapsed() < Duration::from_millis(1500),
        "delivered {:?} after the partner healed",
        healed.elapsed()
    );
}

/// Each retry wakes the worker when it falls due, not only the soonest: a retry due after
/// another used to wait for the next poll (a minute here).
#[tokio::test]
async fn retries_due_one_after_another_each_go_out_when_due() {
    let (app, fake) = connected_app_with(|s| {
        s.delivery.retry.base = Duration::from_millis(400);
    })
    .await;
    // Ten turned away among others taken: a full partner, each retried after 200-400 ms.
    fake.events
        .script(&[[Step::Status(503), Step::Ok]; 10].concat());
    let started = Instant::now();
    exec(&app.pool, "UPDATE products SET stock_quantity = 2").await;
    eventually(Duration::from_secs(20), "40 events delivered", || async {
        fake.events.acknowledged().len() >= 40
    })
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
