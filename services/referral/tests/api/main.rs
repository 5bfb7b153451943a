//! The referral service over HTTP against a migrated database: invitations and the daily
//! limit, batches, expiry, acceptance and the referral pot, points maturation and
//! revocation, campaign boosts, conversions.

mod accept;
mod bodies;
mod invitations;
mod points;

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(referral::router(db.context_of(&referral::SERVICE))).await;
    app.wait_ready("/referrals?limit=0").await;
    Stack { db, app }
}

pub use testkit::expect;

pub fn token(user: Uuid) -> String {
    testkit::token(auth::Role::User, user)
}

impl Stack {
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.db.pool
    }

    pub async fn post(&self, path: &str, user: Uuid, body: Value) -> Response {
        self.app
            .request(Method::POST, path)
            .bearer_auth(token(user))
            .header("user-agent", "wolo-test/1.0")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A user with this phone (and a profile when `dob` is given).
    pub async fn user(&self, phone: &str, name: &str, dob: Option<&str>) -> Uuid {
        let id: Uuid =
            sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
                .bind(phone)
                .fetch_one(self.pool())
                .await
                .unwrap();
        if let Some(dob) = dob {
            sqlx::query(
                "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, $2, $3::date)",
            )
            .bind(id)
            .bind(name)
            .bind(dob)
            .execute(self.pool())
            .await
            .unwrap();
        }
        id
    }

    /// Invites one phone and returns the invitation code.
    pub async fn invite(&self, sponsor: Uuid, phone: &str) -> String {
        let body = expect(
            self.post(
                "/invitations",
                sponsor,
                json!({"contacts": [{"phone": phone, "name": "Invité"}]}),
            )
            .await,
            201,
        )
        .await;
        body["invitations"][0]["referral_code"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    /// Runs the points consumer until `done` holds (events become visible asynchronously).
    pub async fn consume_until(&self, done: &str) {
        let consumer = referral::points::points_consumer();
        let service = self.db.service_pool("referral");
        for _ in 0..200 {
            consumer.run_once(&service).await.unwrap();
            let ok: bool = sqlx::query_scalar(done)
                .fetch_one(self.pool())
                .await
                .unwrap();
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("condition never held: {done}");
    }
}

/// Every `notification.requested` this test published is accepted by the notifications
/// service (template exists, variables complete and typed).
pub async fn assert_messages_render(st: &Stack) -> Vec<String> {
    let payloads: Vec<Value> = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested' order by id",
    )
    .fetch_all(st.pool())
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut conn = st.pool().acquire().await.unwrap();
    for p in payloads {
        let req: notifications::MessageRequest = serde_json::from_value(p.clone()).unwrap();
        seen.push(req.message.clone());
        notifications::request_message(&mut conn, req)
            .await
            .unwrap_or_else(|e| panic!("{p} refused: {e}"));
    }
    seen.sort();
    seen.dedup();
    seen
}
