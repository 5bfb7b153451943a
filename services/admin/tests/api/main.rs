//! The admin service against a migrated database: flag evaluation, validated and masked
//! configuration, the audit trail, admin sessions, health probes; the console in Chromium.

#![allow(clippy::type_complexity)]

mod audit;
mod bodies;
mod config;
mod console;
mod flags;
mod health;
mod sessions;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
    pub admin: Uuid,
    pub token: String,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(admin::router(db.context_of(&admin::SERVICE))).await;
    let admin = admin_user(&db.pool, "admin@wolo.sn").await;
    let token = testkit::token(auth::Role::Admin, admin);
    wait_for_cache(&app, &token).await;
    Stack {
        db,
        app,
        admin,
        token,
    }
}

pub async fn admin_user(pool: &PgPool, email: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into identity.users (email, auth_provider, roles) values ($1, 'email', array['user', 'admin']) returning id",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The schema cache loads in the background at start-up.
pub async fn wait_for_cache(app: &TestApp, token: &str) {
    for _ in 0..200 {
        let s = app
            .request(Method::GET, "/feature_flags?limit=0")
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        if s != 503 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("schema cache never loaded");
}

impl Stack {
    pub fn admin_req(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .request(method, path)
            .bearer_auth(&self.token)
            .header("user-agent", "wolo-admin-test/1.0")
            .header("x-request-id", "req-test-1")
    }
}

pub use testkit::expect;

/// The audit rows with `action`, oldest first: (actor, ip, request id, old, new).
pub async fn audits(
    pool: &PgPool,
    action: &str,
) -> Vec<(
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<Value>,
    Option<Value>,
)> {
    sqlx::query_as(
        "select actor_user_id, host(actor_ip), request_id, old_values, new_values
           from admin.audit_logs where action = $1 order by timestamp, id",
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .unwrap()
}
