//! The identity endpoints over HTTP against a migrated database: SMS codes, sessions,
//! refresh rotation, logout scopes, passwords, recovery, Google ID tokens, admin roles, purge,
//! access token claims, throttling and the password policy.

mod admin;
mod bodies;
mod confirm;
mod google;
mod otp;
mod password_policy;
mod passwords;
mod purge;
mod recovery;
mod sessions;
mod throttle;
mod tokens;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use testkit::{TestApp, TestDb};

pub const PHONE: &str = "+221771234567";

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(identity::router(db.context_of(&identity::SERVICE))).await;
    ready(db, app).await
}

/// The settings a test starts from: the documented defaults (not the environment).
pub fn default_settings() -> identity::Settings {
    identity::Settings::default()
}

/// Identity's router over `db` with explicit settings.
pub fn router_with(db: &TestDb, settings: identity::Settings) -> axum::Router {
    identity::router(db.context_of(&identity::SERVICE).with_section(settings))
}

/// [`stack`] with explicit settings (limits, password policy).
pub async fn stack_with(settings: identity::Settings) -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(router_with(&db, settings)).await;
    ready(db, app).await
}

async fn ready(db: TestDb, app: TestApp) -> Stack {
    // The schema cache loads in the background at start-up.
    for _ in 0..100 {
        if app.get("/users?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Stack { db, app }
}

pub use testkit::expect;

impl Stack {
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.app
            .request(Method::POST, path)
            .header("user-agent", "wolo-test/1.0")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// [`Stack::post`] from the client IP `ip` (the test server's peer is loopback, a trusted
    /// proxy by default, so its `X-Forwarded-For` is believed).
    pub async fn post_from(&self, ip: &str, path: &str, body: Value) -> Response {
        self.app
            .request(Method::POST, path)
            .header("user-agent", "wolo-test/1.0")
            .header("x-forwarded-for", ip)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn request_otp(&self, phone: &str) -> Response {
        self.post("/otp", json!({"phone": phone})).await
    }

    /// The code of the latest `notification.requested` event for `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        let payload: Value = sqlx::query_scalar(
            "select payload from wolo.outbox
             where topic = 'notification.requested' and payload->'recipient'->>'phone' = $1
             order by id desc limit 1",
        )
        .bind(phone)
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        payload["data"]["code"].as_str().unwrap().to_string()
    }

    pub async fn verify(&self, phone: &str, token: &str) -> Response {
        self.post(
            "/verify",
            json!({"phone": phone, "token": token, "type": "sms"}),
        )
        .await
    }

    /// Signs `phone` in by SMS and returns the session.
    pub async fn sign_in(&self, phone: &str) -> Value {
        expect(self.request_otp(phone).await, 200).await;
        let code = self.last_code(phone).await;
        expect(self.verify(phone, &code).await, 200).await
    }

    /// Lets `phone` ask for a new code now (moves its codes back in time).
    pub async fn age_codes(&self, phone: &str, seconds: i64) {
        sqlx::query(
            "update identity.otp_codes set created_at = created_at - make_interval(secs => $2)
             where phone = $1",
        )
        .bind(phone)
        .bind(seconds as f64)
        .execute(&self.db.pool)
        .await
        .unwrap();
    }

    /// The latest code e-mailed to `email` (sign-up confirmation or e-mail change).
    pub async fn last_email_code(&self, email: &str) -> String {
        let payload: Value = sqlx::query_scalar(
            "select payload from wolo.outbox
             where topic = 'notification.requested' and payload->'recipient'->>'email' = $1
             order by id desc limit 1",
        )
        .bind(email)
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        payload["data"]["code"].as_str().unwrap().to_string()
    }

    /// Signs up with `email` and `password`, confirms the address with the e-mailed code and
    /// returns the session.
    pub async fn signup(&self, email: &str, password: &str) -> Value {
        let user = expect(
            self.post("/signup", json!({"email": email, "password": password}))
                .await,
            200,
        )
        .await;
        assert!(
            user.get("access_token").is_none(),
            "no session before confirmation: {user}"
        );
        let email = email.to_lowercase();
        let code = self.last_email_code(&email).await;
        expect(
            self.post(
                "/verify",
                json!({"type": "signup", "email": email, "token": code}),
            )
            .await,
            200,
        )
        .await
    }

    /// Moves the rotation of refresh token `token` `seconds` back in time (past the reuse
    /// interval).
    pub async fn age_rotation(&self, token: &str, seconds: i64) {
        sqlx::query(
            "update identity.user_sessions set revoked_at = revoked_at - make_interval(secs => $2)
             where token_hash = $1",
        )
        .bind(identity::crypto::sha256_hex(token))
        .bind(seconds as f64)
        .execute(&self.db.pool)
        .await
        .unwrap();
    }

    pub async fn refresh(&self, token: &str) -> Response {
        self.post(
            "/token?grant_type=refresh_token",
            json!({"refresh_token": token}),
        )
        .await
    }

    pub async fn user(&self, access: &str) -> Response {
        self.app
            .request(Method::GET, "/user")
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn logout(&self, access: &str, scope: &str) -> Response {
        self.app
            .request(Method::POST, &format!("/logout?scope={scope}"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }
}

pub fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}
