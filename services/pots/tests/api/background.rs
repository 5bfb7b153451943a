//! Consumers and jobs run on the service's background pool (`platform::start_jobs`,
//! `WOLO_DB_BACKGROUND_CONNECTIONS`): with that pool held to its last connection, requests are
//! still served from theirs, and the consumer waits for its own instead of taking them.

use std::time::Duration;

use serde_json::json;
use testkit::TestDb;

/// The outbox position `consumer` has reached (0 before its first pass).
async fn cursor(db: &TestDb, consumer: &str) -> i64 {
    sqlx::query_scalar("select last_id from wolo.outbox_cursors where consumer = $1")
        .bind(consumer)
        .fetch_optional(&db.pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

#[tokio::test]
async fn consumers_and_jobs_have_their_own_connections_and_requests_keep_theirs() {
    let db = TestDb::new().await;
    let mut ctx = db.context_of(&pots::SERVICE);
    // The smallest budget: one connection for consumers and jobs.
    let mut config = (*ctx.config).clone();
    config.db_background_connections = 1;
    ctx.background_db = platform::db::connect_background(&config).unwrap();
    let app = testkit::spawn(pots::router(ctx.clone())).await;
    app.wait_ready("/pots?limit=0").await;

    // Someone holds the whole background pool; then the service's jobs and consumers start.
    let held = ctx.background_db.acquire().await.unwrap();
    platform::start_jobs(&pots::SERVICE, &ctx);
    let event: i64 = {
        let mut conn = db.pool.acquire().await.unwrap();
        platform::outbox::publish(&mut conn, "test.background", &json!({}), "test")
            .await
            .unwrap()
    };

    // Requests get connections all along: the jobs and the consumer do not take them.
    for _ in 0..3 {
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let read = app.request(reqwest::Method::GET, "/pots?select=id&limit=1");
            reads.spawn(async move { read.send().await.unwrap().status() });
        }
        while let Some(status) = reads.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The consumer has been waiting for its own pool: the event is not consumed yet.
    assert!(cursor(&db, pots::events::CONSUMER).await < event);

    // Released, the background pool serves the consumer, which catches up.
    drop(held);
    let started = tokio::time::Instant::now();
    while cursor(&db, pots::events::CONSUMER).await < event {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the consumer did not catch up on its own pool"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
