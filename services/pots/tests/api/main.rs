//! The pots service over HTTP against a migrated database: creation through the REST layer
//! (J-30 computed by the server), the lifecycle job at its boundaries, the donations consumer,
//! owner close, invitations and their tracking, counters under concurrency, the public page,
//! the analytics snapshot.

mod background;
mod consumer;
mod creation;
mod invitations;
mod lifecycle;
mod public;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Africa::Dakar;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub const WEB: &str = "https://web.wolo.test";

/// The links of a suite whose web app is at [`WEB`].
pub fn web() -> platform::links::Links {
    platform::links::Links::new(WEB, false, testkit::TEST_JWT_SECRET.as_bytes())
}

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(pots::router({
        let mut ctx = db.context_of(&pots::SERVICE);
        let config = Arc::make_mut(&mut ctx.config);
        config.public_web_url = WEB.to_string();
        config.own_pages = false;
        ctx
    }))
    .await;
    // The schema cache loads in the background at start-up.
    app.wait_ready("/pots?limit=0").await;
    Stack { db, app }
}

pub use testkit::expect;

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Today's date in Dakar.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&Dakar).date_naive()
}

/// 00:00 Africa/Dakar on `d`.
pub fn dakar_midnight(d: NaiveDate) -> DateTime<Utc> {
    Dakar
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

static PHONE_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1000);

/// A user (with a profile name when `name` is given).
pub async fn user(pool: &PgPool, name: Option<&str>) -> Uuid {
    let n = PHONE_SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let id: Uuid =
        sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
            .bind(format!("+22177000{n:04}"))
            .fetch_one(pool)
            .await
            .unwrap();
    if let Some(name) = name {
        sqlx::query("insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, $2, '1996-05-04')")
            .bind(id)
            .bind(name)
            .execute(pool)
            .await
            .unwrap();
    }
    id
}

pub fn user_token(id: Uuid) -> String {
    testkit::token(auth::Role::User, id)
}

/// A pot inserted by the service (as the referral flow does), with the given dates and status.
pub async fn pot(
    pool: &PgPool,
    owner: Uuid,
    birthday: NaiveDate,
    scheduled_open_at: DateTime<Utc>,
    status: &str,
    target: i32,
) -> Uuid {
    sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                scheduled_open_at, status)
         values ($1, 'Anniversaire de test', $2, $3, $4, $5) returning id",
    )
    .bind(owner)
    .bind(target)
    .bind(birthday)
    .bind(scheduled_open_at)
    .bind(status)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn status(pool: &PgPool, pot: Uuid) -> String {
    sqlx::query_scalar("select status from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The payloads of the outbox events of `topic` about `pot` (oldest first).
pub async fn events(pool: &PgPool, topic: &str, pot: Uuid) -> Vec<Value> {
    sqlx::query_scalar(
        "select payload from wolo.outbox where topic = $1 and payload->>'pot_id' = $2 order by id",
    )
    .bind(topic)
    .bind(pot.to_string())
    .fetch_all(pool)
    .await
    .unwrap()
}

pub async fn publish(pool: &PgPool, topic: &str, payload: Value) {
    let mut conn = pool.acquire().await.unwrap();
    platform::outbox::publish(&mut conn, topic, &payload, "test")
        .await
        .unwrap();
}

/// Runs the `pots.donations` consumer until `done` holds (events become visible only once
/// older transactions of the cluster finished: poll, with a deadline).
pub async fn consume_until<F, Fut>(pool: &PgPool, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let consumer = pots::events::donations_consumer();
    let service = testkit::service_pool_of(pool, "pots");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        consumer.run_once(&service).await.unwrap();
        if done().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer did not apply the events in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the consumer until its cursor passed every event of its topics published so far.
pub async fn drain(pool: &PgPool) {
    let last: Option<i64> =
        sqlx::query_scalar("select max(id) from wolo.outbox where topic = any($1)")
            .bind(
                pots::events::TOPICS
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>(),
            )
            .fetch_one(pool)
            .await
            .unwrap();
    let Some(last) = last else { return };
    let pool2 = pool.clone();
    consume_until(pool, || {
        let pool = pool2.clone();
        async move {
            let at: Option<i64> = sqlx::query_scalar(
                "select last_id from wolo.outbox_cursors where consumer = 'pots.donations'",
            )
            .fetch_optional(&pool)
            .await
            .unwrap();
            at.is_some_and(|at| at >= last)
        }
    })
    .await;
}

/// Runs the notifications service's consumer until `user` has a message from the template
/// `<message>.*`; returns its bodies (proves the request matches the template's variables).
pub async fn notified(pool: &PgPool, user: Uuid, message: &str) -> Vec<String> {
    let consumer = notifications::events::requested_consumer();
    let service = testkit::service_pool_of(pool, "notifications");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        consumer.run_once(&service).await.unwrap();
        let bodies: Vec<String> = sqlx::query_scalar(
            "select n.body from notifications.notifications n
             join notifications.notification_templates t on t.id = n.template_id
             where n.user_id = $1 and t.template_key like $2 || '.%'",
        )
        .bind(user)
        .bind(message)
        .fetch_all(pool)
        .await
        .unwrap();
        if !bodies.is_empty() {
            return bodies;
        }
        let failure: Option<String> = sqlx::query_scalar(
            "select f.last_error from wolo.outbox_failures f where f.consumer = 'notifications.requested' limit 1",
        )
        .fetch_optional(pool)
        .await
        .unwrap_or(None);
        assert!(failure.is_none(), "the message request failed: {failure:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {message} message for {user}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Stack {
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut rb = self.app.request(method, path);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap()
    }

    /// `POST /pots` through the REST layer as `owner`, returning the created row.
    pub async fn create_pot(&self, owner: Uuid, body: Value) -> Response {
        self.app
            .request(Method::POST, "/pots")
            .bearer_auth(user_token(owner))
            .header("prefer", "return=representation")
            .header("accept", "application/vnd.pgrst.object+json")
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

pub fn pot_body(birthday: NaiveDate) -> Value {
    json!({"title": "Mes 30 ans", "target_amount_cfa": 50000, "birthday_date": birthday})
}
