//! The PostgREST grammar over HTTP against live services and the seeded database: every
//! operator, select/embedding, ordering and paging, Prefer, Accept, errors, JWT, OpenAPI,
//! schema reload and CORS.

mod errors_and_auth;
mod hostile;
mod internal_errors;
mod privileges;
mod reads;
mod writes;

use auth::Role;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub const ADMIN: &str = "00000000-0000-4000-a000-010100000011";
pub const MOUSSA: &str = "00000000-0000-4000-a000-010100000002";
pub const MOUSSA_POT: &str = "00000000-0000-4000-a000-040100000002";
pub const FATOU_POT: &str = "00000000-0000-4000-a000-040100000003";

/// A seeded database and the whole suite served over it.
pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    suite::seed(&db.url).await.unwrap();
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    // The schema cache loads in the background at start-up.
    for _ in 0..100 {
        if app.get("/pots/pots?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Stack { db, app }
}

impl Stack {
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .request(method, path)
            .bearer_auth(testkit::token(Role::Admin, ADMIN.parse().unwrap()))
    }

    pub fn as_user(&self, user: &str, method: Method, path: &str) -> RequestBuilder {
        self.app
            .request(method, path)
            .bearer_auth(testkit::token(Role::User, user.parse::<Uuid>().unwrap()))
    }

    pub async fn admin_json(&self, path: &str) -> Value {
        let res = self.admin(Method::GET, path).send().await.unwrap();
        expect(res, 200).await
    }
}

pub use testkit::expect;

/// The value of `key` in every row.
pub fn column(rows: &Value, key: &str) -> Vec<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].clone())
        .collect()
}
