//! The profiles service over HTTP against a migrated database: profiles and minors,
//! guardianship, identity documents (hash, encryption, rotation, verification), addresses,
//! export and account deletion across services.

mod documents;
mod privacy;
mod profile;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use reqwest::{Method, Response};
use serde_json::Value;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
    /// The service's clock: the calendar rules (minors) read today from it.
    pub clock: platform::Clock,
}

pub fn keys(spec: &str) -> profiles::IdKeys {
    profiles::IdKeys::from_values(Some("test-hash-key"), Some(spec), false).unwrap()
}

pub fn key_spec(kid: &str, byte: u8) -> String {
    format!("{kid}:{}", B64.encode([byte; 32]))
}

pub async fn app_with(db: &TestDb, k: profiles::IdKeys) -> TestApp {
    app_at(db, k, platform::Clock::system()).await
}

pub async fn app_at(db: &TestDb, k: profiles::IdKeys, clock: platform::Clock) -> TestApp {
    let mut ctx = db.service_context("profiles");
    ctx.clock = clock;
    let ctx = ctx.with_section(profiles::ProfilesSettings { keys: k });
    let app = testkit::spawn(profiles::router(ctx)).await;
    app.wait_ready("/profiles?limit=0").await;
    app
}

pub async fn stack() -> Stack {
    stack_at(platform::Clock::system()).await
}

/// A stack whose service reads the time from `clock`.
pub async fn stack_at(clock: platform::Clock) -> Stack {
    let db = TestDb::new().await;
    let app = app_at(&db, keys(&key_spec("k1", 1)), clock).await;
    Stack { db, app, clock }
}

pub use testkit::expect;

pub fn token(user: Uuid) -> String {
    testkit::token(auth::Role::User, user)
}

impl Stack {
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.db.pool
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        user: Uuid,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .app
            .request(method, path)
            .bearer_auth(token(user))
            .header("user-agent", "wolo-test/1.0");
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn user(&self, phone: &str) -> Uuid {
        sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
            .bind(phone)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    pub async fn can_open_pot(&self, user: Uuid) -> bool {
        sqlx::query_scalar("select profiles.can_open_pot($1, $2)")
            .bind(user)
            .bind(self.clock.now())
            .fetch_one(self.pool())
            .await
            .unwrap()
    }
}

/// A date of birth `years` years before `today` (minus `days`).
pub fn born_before(today: chrono::NaiveDate, years: i32, days: i64) -> String {
    let d = today
        .checked_sub_months(chrono::Months::new(12 * years as u32))
        .unwrap();
    (d - chrono::Duration::days(days)).to_string()
}
