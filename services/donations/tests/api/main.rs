//! The donations endpoints over HTTP against a migrated database and a fake Wave on loopback:
//! checkout, signed webhooks, refunds, the expiry and analytics jobs, the risk score.

mod checkout;
mod jobs;
mod paydunya;
mod refunds;
mod slow_wave;
mod webhook;

use std::time::Duration;

use chrono::Utc;
use fakewave::{FakeWave, FakeWaveConfig};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub const KEY: &str = "wave_sn_test_key";
pub const SECRET: &str = "wave_sn_WHS_test_current";
pub const OLD_SECRET: &str = "wave_sn_WHS_test_old";

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
    pub wave: FakeWave,
    /// The fake PayDunya, when the stack was made with [`paydunya_stack`].
    pub paydunya: Option<fakepaydunya::FakePayDunya>,
}

/// The USSD/SMS gateway's key in the PayDunya stack.
pub const GATEWAY_KEY: &str = "test-gateway-key-0123456789";

/// A stack whose donations service also has PayDunya (a fake on loopback, nothing approved
/// unless a test says so) and the USSD/SMS gateway.
pub async fn paydunya_stack() -> Stack {
    let db = TestDb::new().await;
    let wave = fakewave::spawn(FakeWaveConfig {
        api_key: KEY.to_string(),
        webhook_secrets: vec![SECRET.to_string()],
        ..FakeWaveConfig::default()
    })
    .await
    .unwrap();
    let paydunya = fakepaydunya::spawn(fakepaydunya::FakePayDunyaConfig::default())
        .await
        .unwrap();
    let mut cfg = donations::DonationsConfig::new(&wave.url, KEY, &[SECRET]);
    cfg.links = platform::links::Links::new(
        "https://wolo.example.sn",
        false,
        testkit::TEST_JWT_SECRET.as_bytes(),
    );
    cfg.paydunya = Some(donations::config::PayDunyaConfig::new(
        &paydunya.api_url(),
        &format!("{}/api/v2", paydunya.url),
        [
            fakepaydunya::DEV_MASTER_KEY,
            fakepaydunya::DEV_PRIVATE_KEY,
            fakepaydunya::DEV_TOKEN,
        ],
        "https://api.wolo.example.sn/donations/webhooks/paydunya",
    ));
    cfg.gateway_key = Some(platform::config::Secret::new(GATEWAY_KEY));
    let app = testkit::spawn(donations::router(
        db.service_context("donations").with_section(cfg),
    ))
    .await;
    wave.set_webhook_url(Some(app.url("/webhooks/wave")));
    Stack {
        db,
        app,
        wave,
        paydunya: Some(paydunya),
    }
}

/// A stack whose service accepts `service_secrets` and whose fake Wave signs with `fake_secrets`.
pub async fn stack_with(service_secrets: &[&str], fake_secrets: &[&str]) -> Stack {
    stack_of(service_secrets, fake_secrets, Duration::from_secs(2)).await
}

/// A stack whose service gives Wave `wave_timeout` per call (slow-Wave tests: the fake's
/// delay is set on `wave` afterwards).
pub async fn stack_timing_out_after(wave_timeout: Duration) -> Stack {
    stack_of(&[SECRET], &[SECRET], wave_timeout).await
}

async fn stack_of(
    service_secrets: &[&str],
    fake_secrets: &[&str],
    wave_timeout: Duration,
) -> Stack {
    let db = TestDb::new().await;
    let wave = fakewave::spawn(FakeWaveConfig {
        api_key: KEY.to_string(),
        webhook_secrets: fake_secrets.iter().map(|s| s.to_string()).collect(),
        ..FakeWaveConfig::default()
    })
    .await
    .unwrap();
    let mut cfg = donations::DonationsConfig::new(&wave.url, KEY, service_secrets);
    cfg.wave_timeout = wave_timeout;
    cfg.links = platform::links::Links::new(
        "https://wolo.example.sn",
        false,
        testkit::TEST_JWT_SECRET.as_bytes(),
    );
    let app = testkit::spawn(donations::router(
        db.service_context("donations").with_section(cfg),
    ))
    .await;
    wave.set_webhook_url(Some(app.url("/webhooks/wave")));
    Stack {
        db,
        app,
        wave,
        paydunya: None,
    }
}

pub async fn stack() -> Stack {
    stack_with(&[SECRET], &[SECRET]).await
}

pub use testkit::expect;

impl Stack {
    pub async fn user(&self, phone: &str) -> Uuid {
        sqlx::query_scalar(
            "insert into identity.users (phone, auth_provider) values ($1, 'phone') returning id",
        )
        .bind(phone)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    pub async fn admin(&self) -> (Uuid, String) {
        let id: Uuid = sqlx::query_scalar(
            "insert into identity.users (email, auth_provider, roles)
             values ('admin-' || gen_random_uuid() || '@example.sn', 'email', array['user', 'admin']) returning id",
        )
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        (id, testkit::token(auth::Role::Admin, id))
    }

    /// A pot in `status` owned by a new user, birthday in 20 days.
    pub async fn pot(&self, status: &str) -> Uuid {
        let owner = self.user(&format!("+22177{:07}", rand_digits())).await;
        sqlx::query_scalar(
            "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                    scheduled_open_at, status, actual_opened_at)
             values ($1, 'Anniversaire de Awa', 50000, current_date + 20, now() - interval '10 days', $2, now())
             returning id",
        )
        .bind(owner)
        .bind(status)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    pub async fn checkout(&self, body: Value, key: Option<&str>) -> Response {
        let mut req = self
            .app
            .request(Method::POST, "/checkout")
            .header("user-agent", "wolo-test/1.0");
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.json(&body).send().await.unwrap()
    }

    /// A pending donation of `amount` to `pot` with its Wave session; returns (donation id, session id).
    pub async fn pending(&self, pot: Uuid, amount: i64) -> (Uuid, String) {
        let b = expect(
            self.checkout(json!({"pot_id": pot, "amount_cfa": amount, "donor_name": "Fatou", "donor_phone": "771234567"}), None)
                .await,
            201,
        )
        .await;
        let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
        (id, self.session_of(id).await)
    }

    pub async fn session_of(&self, id: Uuid) -> String {
        sqlx::query_scalar("select wave_session_id from donations.donations where id = $1")
            .bind(id)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    pub async fn status(&self, id: Uuid) -> String {
        sqlx::query_scalar("select status from donations.donations where id = $1")
            .bind(id)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// POSTs `body` to the webhook with the given signature header (None: no header).
    pub async fn deliver_raw(&self, body: &[u8], header: Option<String>) -> Response {
        let mut req = self
            .app
            .request(Method::POST, "/webhooks/wave")
            .header("content-type", "application/json");
        if let Some(h) = header {
            req = req.header("wave-signature", h);
        }
        req.body(body.to_vec()).send().await.unwrap()
    }

    /// POSTs `event` signed with `SECRET` now.
    pub async fn deliver(&self, event: &Value) -> Response {
        let body = serde_json::to_vec(event).unwrap();
        let h = fakewave::signature_header(&[SECRET.to_string()], Utc::now().timestamp(), &body);
        self.deliver_raw(&body, Some(h)).await
    }

    pub async fn outbox_count(&self, topic: &str, donation: Uuid) -> i64 {
        sqlx::query_scalar(
            "select count(*) from wolo.outbox where topic = $1 and payload->>'donation_id' = $2",
        )
        .bind(topic)
        .bind(donation.to_string())
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    pub async fn events(&self) -> i64 {
        sqlx::query_scalar("select count(*) from donations.wave_webhook_events")
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }
}

fn rand_digits() -> u32 {
    (Uuid::new_v4().as_u128() % 10_000_000) as u32
}
