//! `GET /metrics` over real HTTP on the suite's router: who may read it (the token, the allowed
//! networks), and the series operators rely on: requests per route template, the pools, the
//! outbox consumers, webhooks, redemptions and the notification queue.

use std::time::Duration;

use platform::{
    config::{Env, Secret},
    outbox::{publish, Consumer, Event, HandlerFuture},
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use testkit::{TestApp, TestDb};

const TOKEN: &str = "metrics-token-for-the-foundation-tests-0123";

/// The suite's router with `/metrics` merged, as `wolo serve` serves it, `/metrics` guarded
/// as `config` says.
async fn suite_with_metrics(db: &TestDb, config: platform::Config) -> TestApp {
    let contexts = suite::service_contexts(&db.context(), &Env::process()).unwrap();
    let router =
        suite::suite_router_of(&contexts).merge(suite::metrics::router(&config, &contexts));
    testkit::spawn(router).await
}

async fn scrape(app: &TestApp) -> String {
    let res = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    res.text().await.unwrap()
}

/// The value of the series `line_start` (name and labels, as printed) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn metrics_need_the_token_or_an_allowed_address() {
    let db = TestDb::new().await;

    // A token, and no address allowed without it.
    let mut config = db.config();
    config.metrics_token = Some(Secret::new(TOKEN));
    config.metrics_allow = Some("none".parse().unwrap());
    let app = suite_with_metrics(&db, config).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "PGRST302");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("(a bearer token"));
    let wrong = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth("metrics-token-for-the-foundation-tests-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let text = scrape(&app).await;
    assert!(
        text.contains("# TYPE wolo_http_requests_total counter"),
        "{text}"
    );

    // No token: loopback may read (outside production), another client may not, even
    // through our proxy (the client IP is what counts).
    let app = suite_with_metrics(&db, db.config()).await;
    assert_eq!(app.get("/metrics").await.status(), 200);
    let res = app
        .request(reqwest::Method::GET, "/metrics")
        .header("x-forwarded-for", "41.82.1.2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "42501");

    // An allow list that does not hold loopback.
    let mut config = db.config();
    config.metrics_allow = Some("10.0.0.0/8".parse().unwrap());
    let app = suite_with_metrics(&db, config).await;
    assert_eq!(app.get("/metrics").await.status(), 403);
    let res = app
        .request(reqwest::Method::GET, "/metrics")
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Production with neither setting: no /metrics at all.
    let mut config = db.config();
    config.environment = platform::config::Environment::Production;
    let app = suite_with_metrics(&db, config).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        "PGRST125"
    );
}

#[tokio::test]
async fn requests_are_counted_per_service_and_route_template_with_the_pools() {
    let db = TestDb::new().await;
    let mut config = db.config();
    config.metrics_token = Some(Secret::new(TOKEN));
    let app = suite_with_metrics(&db, config).await;
    let before = scrape(&app).await;
    let ok = r#"wolo_http_requests_total{method="GET",route="/pots/health",service="pots",status="2xx"}"#;
    let n0 = value(&before, ok).unwrap_or(0.0);
    for _ in 0..3 {
        assert_eq!(app.get("/pots/health").await.status(), 200);
    }
    // A route with a parameter is counted under its template, never the raw path.
    let id = uuid::Uuid::new_v4();
    app.get(&format!("/pots/pots/{id}/public")).await;
    app.get("/no/such/route").await;
    let text = scrape(&app).await;
    assert_eq!(value(&text, ok), Some(n0 + 3.0), "{text}");
    assert!(
        text.contains(r#"wolo_http_request_duration_seconds_count{method="GET",route="/pots/health",service="pots"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"wolo_http_requests_total{method="GET",route="/pots/pots/{id}/public",service="pots",status="#),
        "{text}"
    );
    assert!(
        !text.contains(&id.to_string()),
        "raw paths are never labels"
    );
    // A path no service has: one fixed label.
    assert!(
        text.contains(
            r#"wolo_http_requests_total{method="GET",route="unmatched",service="-",status="4xx"}"#
        ),
        "{text}"
    );
    // The scrape itself is in flight (other tests of this process may scrape too).
    assert!(
        value(&text, r#"wolo_http_requests_in_flight{service="metrics"}"#)
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains(r#"wolo_http_requests_in_flight{service="pots"} "#),
        "{text}"
    );
    // Each running service's pool.
    for service in suite::SERVICES.iter().map(|s| s.name) {
        assert!(
            text.contains(&format!(
                r#"wolo_db_pool_connections{{service="{service}",state="in_use"}}"#
            )),
            "{service}: {text}"
        );
        assert!(
            text.contains(&format!(
                r#"wolo_db_pool_max_connections{{service="{service}"}} 10"#
            )),
            "{service}: {text}"
        );
    }
}

fn ok_handler<'a>(_: &'a mut PgConnection, _: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async { Ok(()) })
}

fn failing_handler<'a>(_: &'a mut PgConnection, _: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async { anyhow::bail!("template variable amount_cfa missing") })
}

/// Runs passes until `consumer` has moved past `event`.
async fn until_past(c: &Consumer, pool: &PgPool, event: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        c.run_once(pool).await.unwrap();
        let last: Option<i64> =
            sqlx::query_scalar("select last_id from wolo.outbox_cursors where consumer = $1")
                .bind(&c.name)
                .fetch_optional(pool)
                .await
                .unwrap();
        if last >= Some(event) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{} stuck", c.name);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn outbox_webhook_redemption_and_queue_series_are_exported() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    let event = publish(&mut tx, "metrics.test", &json!({"n": 1}), "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let applied = Consumer::new("metrics_test_applied", &["metrics."], ok_handler);
    until_past(&applied, &db.pool, event).await;
    let mut parked = Consumer::new("metrics_test_parked", &["metrics."], failing_handler);
    parked.max_attempts = 1;
    until_past(&parked, &db.pool, event).await;

    // A webhook delivery that changed nothing, and a message waiting to go out.
    sqlx::query(
        "insert into donations.wave_webhook_events (wave_event_id, event_type, raw_payload, processed_at, processing_error)
         values ('EV_metrics_1', 'checkout.session.completed', '{}', now(), 'unknown session')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into notifications.notifications (recipient_identifier, template_id, channel, body, status)
         select 'test@example.sn', id, 'email', 'Bonjour', 'pending'
           from notifications.notification_templates limit 1",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let mut config = db.config();
    config.metrics_token = Some(Secret::new(TOKEN));
    let app = suite_with_metrics(&db, config).await;
    let text = scrape(&app).await;
    assert!(
        value(
            &text,
            r#"wolo_outbox_lag_seconds_count{consumer="metrics_test_applied"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"wolo_outbox_applied_total{consumer="metrics_test_applied"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"wolo_outbox_parked_events{consumer="metrics_test_parked"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"wolo_outbox_parked_total{consumer="metrics_test_parked"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"wolo_webhook_events{outcome="error",provider="wave"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"wolo_redemption_attempts{result="unmatched"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"wolo_notification_queue_depth{channel="email",state="due"}"#
        ),
        Some(1.0),
        "{text}"
    );
    for collector in [
        "webhooks",
        "redemptions",
        "notification_queue",
        "outbox_parked",
        "pool:pots",
    ] {
        assert_eq!(
            value(
                &text,
                &format!(r#"wolo_metrics_collector_up{{collector="{collector}"}}"#)
            ),
            Some(1.0),
            "{collector}: {text}"
        );
    }
}

#[tokio::test]
async fn each_service_alone_serves_metrics_beside_its_routes() {
    let db = TestDb::new().await;
    let mut config = db.config();
    config.metrics_token = Some(Secret::new(TOKEN));
    for (s, ctx) in suite::service_contexts(&db.context(), &Env::process()).unwrap() {
        // As `wolo serve <S>` builds it: the service at the root, /metrics merged beside it.
        let contexts = [(s, ctx.clone())];
        let router = platform::metrics::label((s.router)(ctx), s.name)
            .merge(suite::metrics::router(&config, &contexts));
        let app = testkit::spawn(router).await;
        assert_eq!(app.get("/health").await.status(), 200, "{}", s.name);
        let text = scrape(&app).await;
        assert!(
            text.contains(&format!(
                r#"wolo_http_requests_total{{method="GET",route="/health",service="{}",status="2xx"}}"#,
                s.name
            )),
            "{}: {text}",
            s.name
        );
    }
}
