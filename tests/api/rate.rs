//! Partners' limits shared by every process through PostgreSQL: a budget of query cost taken
//! from two processes at once lets through no more than it holds and refills.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use shopbridge::outbound::rate::{Balance, SharedBucket};

use crate::helpers::fresh_database;

const BUDGET: Balance = Balance {
    maximum: 100.0,
    available: 100.0,
    restore_rate: 1000.0,
};

async fn two_processes() -> (SharedBucket, SharedBucket) {
    let db = fresh_database().await;
    let first = PgPool::connect_with(db.clone()).await.unwrap();
    let second = PgPool::connect_with(db).await.unwrap();
    (
        SharedBucket::open(first, "shop-a", BUDGET).await.unwrap(),
        SharedBucket::open(second, "shop-a", BUDGET).await.unwrap(),
    )
}

#[tokio::test]
async fn a_cost_budget_shared_by_two_processes_lets_through_no_more_than_it_refills() {
    let (first, second) = two_processes().await;
    let started = Instant::now();
    let takes = (0..20).map(|i| {
        let bucket = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tokio::spawn(async move { bucket.take(50.0).await.unwrap() })
    });
    for take in takes {
        take.await.unwrap();
    }
    let took = started.elapsed();
    // 1,000 points from a bucket of 100 refilled at 1,000 a second: 0.9 s at the least.
    assert!(took >= Duration::from_millis(880), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn an_answer_that_counts_less_is_believed_and_unused_cost_comes_back() {
    let (first, second) = two_processes().await;
    first.take(100.0).await.unwrap();
    // The partner charged 20 of the 100 and says 10 are left (another client used some).
    first
        .settle(
            80.0,
            Balance {
                available: 10.0,
                ..BUDGET
            },
        )
        .await
        .unwrap();
    let started = Instant::now();
    second.take(100.0).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(80) && waited < Duration::from_millis(500),
        "90 points missing at 1,000 a second: {waited:?}"
    );
}
