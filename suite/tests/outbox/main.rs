//! The transactional outbox: nothing lost, nothing applied twice, poison parked, order kept,
//! consumers independent — proved against a real database, with consumers killed mid-batch
//! and racing each other.

mod storm;
mod storm_kit;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use platform::outbox::{publish, Consumer, Event, Handler, HandlerFuture};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use testkit::TestDb;

async fn applied_table(pool: &PgPool) {
    sqlx::raw_sql(
        "create table public.applied (consumer text not null, event_id bigint not null, n int)",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn publish_many(pool: &PgPool, topic: &str, n: usize) {
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        publish(&mut tx, topic, &json!({"n": i}), "test")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A handler that records (consumer, event id) in `public.applied`; it can hang after its
/// n-th event, or fail every event of one topic (after writing, so the savepoint must undo it).
#[derive(Clone, Default)]
struct Recorder {
    name: &'static str,
    seen: Arc<AtomicUsize>,
    hang_after: Option<usize>,
    fail_topic: Option<&'static str>,
    failures: Arc<AtomicUsize>,
}

fn recorder(name: &'static str) -> Recorder {
    Recorder {
        name,
        ..Default::default()
    }
}

impl Handler for Recorder {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            sqlx::query("insert into public.applied (consumer, event_id, n) values ($1, $2, ($3->>'n')::int)")
                .bind(self.name)
                .bind(event.id)
                .bind(&event.payload)
                .execute(conn)
                .await?;
            let seen = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
            if Some(seen) == self.hang_after {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if self.fail_topic == Some(event.topic.as_str()) {
                self.failures.fetch_add(1, Ordering::SeqCst);
                anyhow::bail!("template variable amount_cfa missing");
            }
            Ok(())
        })
    }
}

async fn counts(pool: &PgPool, consumer: &str) -> (i64, i64) {
    sqlx::query_as(
        "select count(*), count(distinct event_id) from public.applied where consumer = $1",
    )
    .bind(consumer)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Runs passes until every event published so far is behind the consumer's cursor.
/// (A pass may find nothing while any transaction of the cluster older than the events is
/// still running — other tests run concurrently — so "nothing this pass" is not "done".)
async fn drain(c: &Consumer, pool: &PgPool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let p = c.run_once(pool).await.unwrap();
        let (cursor, last): (i64, i64) = sqlx::query_as(
            "select (select last_id from wolo.outbox_cursors where consumer = $1),
                    (select coalesce(max(id), 0) from wolo.outbox where (txid, id) = (select txid, id from wolo.outbox order by txid desc, id desc limit 1))",
        )
        .bind(&c.name)
        .fetch_one(pool)
        .await
        .unwrap();
        if cursor == last && p.retry_at.is_none() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "consumer {} never drained",
            c.name
        );
        tokio::time::sleep(Duration::from_millis(if p.applied == 0 { 20 } else { 0 })).await;
    }
}

#[tokio::test]
async fn committed_events_are_applied_once_and_rolled_back_ones_never() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    publish_many(&db.pool, "pot.opened", 3).await;
    let mut tx = db.pool.begin().await.unwrap();
    publish(&mut tx, "pot.opened", &json!({"n": 99}), "test")
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let c = Consumer::new("notifier", &["pot."], recorder("notifier"));
    drain(&c, &db.pool).await;
    drain(&c, &db.pool).await;
    assert_eq!(counts(&db.pool, "notifier").await, (3, 3));
    let ns: Vec<i32> = sqlx::query_scalar("select n from public.applied order by event_id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        ns,
        [0, 1, 2],
        "applied in order, the rolled-back event never"
    );
}

#[tokio::test]
async fn a_consumer_killed_mid_batch_loses_nothing_and_doubles_nothing() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    publish_many(&db.pool, "donation.succeeded", 200).await;

    // The first consumer hangs on its 50th event, and is killed there.
    let slow = Recorder {
        hang_after: Some(50),
        ..recorder("pots")
    };
    let seen = slow.seen.clone();
    let doomed = Consumer::new("pots", &["donation."], slow);
    // Its own connections, as another process would have: killing it closes them.
    let doomed_pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let pool = doomed_pool.clone();
    let task = tokio::spawn(async move {
        loop {
            doomed.run_once(&pool).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.load(Ordering::SeqCst) < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the doomed consumer never reached its 50th event"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    let _ = task.await;
    doomed_pool.close().await;
    // Its transaction never committed: none of its 50 applications survived.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(counts(&db.pool, "pots").await, (0, 0));

    // A fresh consumer under the same name picks up from the last committed cursor.
    let mut healthy = Consumer::new("pots", &["donation."], recorder("pots"));
    healthy.batch_size = 64;
    drain(&healthy, &db.pool).await;
    assert_eq!(counts(&db.pool, "pots").await, (200, 200));
}

#[tokio::test]
async fn replicas_of_one_consumer_racing_apply_each_event_once() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    publish_many(&db.pool, "referral.accepted", 500).await;
    let mut handles = vec![];
    for _ in 0..4 {
        let pool = db.pool.clone();
        handles.push(tokio::spawn(async move {
            let mut c = Consumer::new("referral", &[], recorder("referral"));
            c.batch_size = 25;
            for _ in 0..400 {
                let p = c.run_once(&pool).await.unwrap();
                if p.applied == 0 && !p.busy {
                    break;
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let c = Consumer::new("referral", &[], recorder("referral"));
    drain(&c, &db.pool).await;
    assert_eq!(counts(&db.pool, "referral").await, (500, 500));
}

#[tokio::test]
async fn each_consumer_keeps_its_own_cursor_and_topics() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    publish_many(&db.pool, "donation.succeeded", 5).await;
    publish_many(&db.pool, "pot.funded", 2).await;
    let donations_only = Consumer::new("a", &["donation.succeeded"], recorder("a"));
    let everything = Consumer::new("b", &[], recorder("b"));
    drain(&donations_only, &db.pool).await;
    drain(&everything, &db.pool).await;
    assert_eq!(counts(&db.pool, "a").await, (5, 5));
    assert_eq!(counts(&db.pool, "b").await, (7, 7));
}

#[tokio::test]
async fn a_failing_event_is_retried_with_backoff_then_parked_and_the_rest_flows() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    publish_many(&db.pool, "ok", 1).await;
    publish_many(&db.pool, "poison", 1).await;
    publish_many(&db.pool, "ok", 2).await;
    let handler = Recorder {
        fail_topic: Some("poison"),
        ..recorder("c")
    };
    let tries = handler.failures.clone();
    let mut c = Consumer::new("c", &[], handler);
    c.max_attempts = 3;
    c.backoff_base = Duration::from_millis(30);

    // Passes until the poison event is reached (events become readable as other tests'
    // transactions end).
    let mut applied_before = 0;
    let retry_at = loop {
        let p = c.run_once(&db.pool).await.unwrap();
        applied_before += p.applied;
        if let Some(at) = p.retry_at {
            break at;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        applied_before, 1,
        "the event before the poison one is applied"
    );
    assert!(retry_at > chrono::Utc::now(), "retry is in the future");
    // Before the backoff has passed nothing moves.
    let held = c.run_once(&db.pool).await.unwrap();
    assert_eq!((held.applied, held.parked), (0, 0));
    drain(&c, &db.pool).await;
    assert_eq!(tries.load(Ordering::SeqCst), 3, "tried max_attempts times");
    assert_eq!(
        counts(&db.pool, "c").await,
        (3, 3),
        "the three good events, the poison one never"
    );
    let (attempts, error, parked): (i32, String, bool) = sqlx::query_as(
        "select attempts, last_error, parked_at is not null from wolo.outbox_failures where consumer = 'c'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((attempts, parked), (3, true));
    assert!(error.contains("amount_cfa missing"));
}

#[tokio::test]
async fn an_event_committed_late_with_a_smaller_id_is_not_skipped() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    let mut slow_tx = db.pool.begin().await.unwrap();
    publish(&mut slow_tx, "late", &json!({"n": 1}), "test")
        .await
        .unwrap(); // smaller id, commits last
    publish_many(&db.pool, "early", 1).await; // larger id, committed first
    let c = Consumer::new("order", &[], recorder("order"));
    let p = c.run_once(&db.pool).await.unwrap();
    assert_eq!(
        p.applied, 0,
        "nothing is read past a transaction still running"
    );
    slow_tx.commit().await.unwrap();
    drain(&c, &db.pool).await;
    assert_eq!(counts(&db.pool, "order").await, (2, 2));
}

#[tokio::test]
async fn a_spawned_consumer_is_woken_by_the_watcher() {
    let db = TestDb::new().await;
    applied_table(&db.pool).await;
    let mut c = Consumer::new("live", &[], recorder("live"));
    c.poll_interval = Duration::from_secs(30); // only the watcher can wake it in time
    let watcher = platform::outbox::Watcher::start(db.pool.clone());
    let handle = c.spawn(db.pool.clone(), watcher);
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish_many(&db.pool, "pot.opened", 3).await;
    let mut done = false;
    for _ in 0..100 {
        if counts(&db.pool, "live").await == (3, 3) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.abort();
    assert!(done, "the consumer was not woken");
}

#[tokio::test]
async fn an_api_role_may_publish_but_not_read_the_outbox() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("select set_config('role', 'wolo_user', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    publish(&mut tx, "pot.shared", &json!({}), "pots")
        .await
        .unwrap();
    let err = sqlx::query("select count(*) from wolo.outbox")
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().unwrap(), "42501");
}

#[tokio::test]
async fn a_message_requested_through_the_outbox_is_queued_once_and_a_bad_one_parked() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    let good = json!({"recipient": {"phone": "+221771234567"}, "message": "otp", "locale": "fr-SN", "data": {"code": "482913", "minutes": 10}});
    let bad =
        json!({"recipient": {"phone": "+221771234567"}, "message": "otp", "data": {"minutes": 10}});
    publish(&mut tx, notifications::events::REQUESTED, &good, "identity")
        .await
        .unwrap();
    publish(&mut tx, notifications::events::REQUESTED, &bad, "identity")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut consumer = notifications::events::requested_consumer();
    consumer.max_attempts = 2;
    consumer.backoff_base = Duration::from_millis(10);
    drain(&consumer, &db.pool).await;
    drain(&consumer, &db.pool).await;

    let bodies: Vec<String> = sqlx::query_scalar("select body from notifications.notifications")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("482913"));
    let (parked, error): (bool, String) = sqlx::query_as(
        "select parked_at is not null, last_error from wolo.outbox_failures where consumer = 'notifications.requested'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(parked);
    assert!(error.contains("code"), "{error}");
}
