//! `/health` and `/ready` on every service, alone and mounted in the suite.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use testkit::TestDb;

#[tokio::test]
async fn every_service_answers_health_and_ready_under_its_prefix() {
    let db = TestDb::new().await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    for service in suite::SERVICES.iter().map(|s| s.name) {
        let res = app.get(&format!("/{service}/health")).await;
        assert_eq!(res.status(), 200, "{service} /health");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["service"], service);

        let res = app.get(&format!("/{service}/ready")).await;
        assert_eq!(res.status(), 200, "{service} /ready");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(
            body["migrations"]["applied"],
            body["migrations"]["expected"]
        );
    }
    let index: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(index["services"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn a_service_alone_serves_its_probes_at_the_root_with_a_request_id() {
    let db = TestDb::new().await;
    let app = testkit::spawn(pots::router(db.context_of(&pots::SERVICE))).await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn ready_is_503_while_migrations_are_pending() {
    let db = TestDb::new().await;
    sqlx::query("delete from refinery_schema_history where version = (select max(version) from refinery_schema_history)")
        .execute(&db.pool)
        .await
        .unwrap();
    let app = testkit::spawn(donations::router(db.context_of(&donations::SERVICE))).await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("migrations pending"),
        "{body}"
    );
    // The process itself is fine.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_unreachable() {
    let db = TestDb::new().await;
    let mut config = db.config();
    // Nothing listens on port 1.
    config.database_url = platform::config::Secret::new("postgres://postgres@127.0.0.1:1/wolo");
    config.db_acquire_timeout = Duration::from_millis(500);
    let pool = platform::db::connect(&config).unwrap();
    let ctx = platform::Context {
        db: pool.clone(),
        background_db: pool,
        read_db: None,
        config: Arc::new(config),
        clock: platform::Clock::system(),
        section: platform::Section::default(),
        shared: platform::Shared::default(),
    }
    .with_settings(&qr::SERVICE, &platform::config::Env::process())
    .unwrap();
    let app = testkit::spawn(qr::router(ctx)).await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(app.get("/health").await.status(), 200);
}
