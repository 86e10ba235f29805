//! A kind of destination the backbone has never heard of, defined here in the test crate:
//! registered, given a destination, it receives the events it takes, in order per entity,
//! and the outcomes it reports (delivered, retried, refused, misconfigured) are kept as the
//! backbone promises, the hold included.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;

use shopbridge::delivery::destinations::{self, DestinationName};
use shopbridge::delivery::kind::{
    Delivery, DestinationKind, Kinds, Outcome, Problem, Sending, Target,
};
use shopbridge::delivery::worker::Deliverer;
use shopbridge::events::EventPattern;

use super::{count, eventually, exec};
use crate::helpers::{delivery_settings, fresh_database, test_vault};

/// What the notebook answers: every delivery with `answer`, while it is set.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Take,
    Busy,
    WrongAccount,
}

/// A destination kind that writes what it receives into a notebook.
struct Notebook {
    pages: Arc<Mutex<Vec<(String, i64)>>>,
    answer: Arc<Mutex<Answer>>,
}

struct Page {
    owner: String,
    pages: Arc<Mutex<Vec<(String, i64)>>>,
    answer: Arc<Mutex<Answer>>,
}

impl DestinationKind for Notebook {
    fn name(&self) -> &'static str {
        "notebook"
    }

    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String> {
        let owner = config["owner"]
            .as_str()
            .ok_or("a notebook has an owner")?
            .to_owned();
        if config["lock"] != "k3y" {
            return Err("a notebook opens with its key".into());
        }
        Ok(Arc::new(Page {
            owner,
            pages: self.pages.clone(),
            answer: self.answer.clone(),
        }))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["lock"]
    }
}

impl Target for Page {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(async move {
            let problem = |error: &str| Problem {
                status: None,
                error: error.into(),
            };
            match *self.answer.lock().unwrap() {
                Answer::Take => {
                    let product = serde_json::from_str::<serde_json::Value>(&delivery.payload)
                        .unwrap()["stock_quantity"]
                        .as_i64()
                        .unwrap();
                    let entry = (format!("{}:{}", self.owner, delivery.entity_id), product);
                    self.pages.lock().unwrap().push(entry);
                    Outcome::Delivered(200)
                }
                Answer::Busy => Outcome::Retry {
                    problem: problem("the notebook is full"),
                    retry_after: None,
                },
                Answer::WrongAccount => Outcome::Misconfigured(problem("not my notebook")),
            }
        })
    }
}

/// A shop with three products on a database no app runs on, a `notebook` destination taking
/// stock changes, and a worker that knows the kind.
async fn notebook_shop() -> (
    PgPool,
    Arc<Mutex<Vec<(String, i64)>>>,
    Arc<Mutex<Answer>>,
    watch::Sender<bool>,
) {
    let pool = PgPool::connect_with(fresh_database().await).await.unwrap();
    exec(
        &pool,
        "INSERT INTO products (id, sku, name, price, stock_quantity)
         SELECT g, 'P' || g, 'product ' || g, 10, 1 FROM generate_series(1, 3) g",
    )
    .await;
    let events = [EventPattern::try_from("product.stock_changed".to_owned()).unwrap()];
    let pages = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(Mutex::new(Answer::Take));
    let notebook = Notebook {
        pages: pages.clone(),
        answer: answer.clone(),
    };
    let vault = test_vault();
    destinations::add(
        &pool,
        &vault,
        &DestinationName::parse("ledger").unwrap(),
        &notebook,
        &events,
        json!({"owner": "ann", "lock": "k3y"}),
    )
    .await
    .unwrap();
    let kinds = Kinds::default().with(notebook);
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(Deliverer::new(pool.clone(), kinds, vault, delivery_settings()).run(stopping));
    (pool, pages, answer, stop)
}

async fn stock_to(pool: &PgPool, stock: i32) {
    exec(
        pool,
        &format!("UPDATE products SET stock_quantity = {stock}"),
    )
    .await;
}

#[tokio::test]
async fn a_kind_registered_from_outside_the_backbone_receives_its_events_in_order() {
    let (pool, pages, _, _stop) = notebook_shop().await;
    for stock in 2..=4 {
        stock_to(&pool, stock).await;
    }
    eventually(Duration::from_secs(10), "9 pages written", || async {
        pages.lock().unwrap().len() == 9
    })
    .await;
    for product in 1..=3 {
        let written: Vec<i64> = pages
            .lock()
            .unwrap()
            .iter()
            .filter(|(who, _)| *who == format!("ann:{product}"))
            .map(|(_, stock)| *stock)
            .collect();
        assert_eq!(written, [2, 3, 4], "product {product} in commit order");
    }
    eventually(Duration::from_secs(10), "9 recorded delivered", || async {
        count(
            &pool,
            "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
        )
        .await
            == 9
    })
    .await;
}

#[tokio::test]
async fn a_kinds_secret_fields_are_sealed_at_rest_and_opened_for_its_target() {
    let (pool, pages, _answer, _stop) = notebook_shop().await;
    let config: serde_json::Value =
        sqlx::query_scalar("SELECT config FROM destinations WHERE name = 'ledger'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        config,
        json!({"owner": "ann"}),
        "the lock is not kept readable"
    );
    let sealed = count(
        &pool,
        "SELECT count(*) FROM secrets WHERE owner LIKE 'destination/%'",
    )
    .await;
    assert_eq!(sealed, 1);
    stock_to(&pool, 2).await;
    // The target opens only with its key: a page written means the sealed lock reached it.
    eventually(Duration::from_secs(10), "3 pages written", || async {
        pages.lock().unwrap().len() == 3
    })
    .await;
}

#[tokio::test]
async fn a_misconfigured_destination_is_held_with_its_reason_and_resumes_in_order_when_released() {
    let (pool, pages, answer, _stop) = notebook_shop().await;
    *answer.lock().unwrap() = Answer::WrongAccount;
    stock_to(&pool, 2).await;
    let held = "SELECT count(*) FROM destinations WHERE name = 'ledger' AND held
                AND hold_reason LIKE '%not my notebook%'";
    eventually(Duration::from_secs(10), "the destination held", || async {
        count(&pool, held).await == 1
    })
    .await;
    stock_to(&pool, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM deliveries WHERE state = 'pending'"
        )
        .await,
        6,
        "every delivery kept, none failed"
    );
    let tries = "SELECT count(*) FROM delivery_attempts";
    let tried = count(&pool, tries).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(&pool, tries).await,
        tried,
        "nothing is sent while held"
    );

    *answer.lock().unwrap() = Answer::Take;
    assert!(destinations::release(&pool, "ledger").await.unwrap());
    eventually(Duration::from_secs(10), "6 pages written", || async {
        pages.lock().unwrap().len() == 6
    })
    .await;
    for product in 1..=3 {
        let written: Vec<i64> = pages
            .lock()
            .unwrap()
            .iter()
            .filter(|(who, _)| *who == format!("ann:{product}"))
            .map(|(_, stock)| *stock)
            .collect();
        assert_eq!(written, [2, 3], "product {product} in commit order");
    }
}

#[tokio::test]
async fn a_full_destination_is_retried_without_holding_or_failing_anything() {
    let (pool, pages, answer, _stop) = notebook_shop().await;
    *answer.lock().unwrap() = Answer::Busy;
    stock_to(&pool, 2).await;
    eventually(Duration::from_secs(10), "retries recorded", || async {
        count(&pool, "SELECT count(*) FROM delivery_attempts").await >= 6
    })
    .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM destinations WHERE held OR hold_reason IS NOT NULL"
        )
        .await,
        0
    );
    *answer.lock().unwrap() = Answer::Take;
    eventually(Duration::from_secs(10), "3 pages written", || async {
        pages.lock().unwrap().len() == 3
    })
    .await;
}
