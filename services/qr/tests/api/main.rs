//! The qr service over HTTP against a migrated database: issuing through the outbox
//! consumer, rendering and decoding the PNG, redeeming (and racing), every refusal, the jobs,
//! settlements, and the scanning page in headless Chromium.

mod redeem;
mod render;
mod scan;
mod settle;

use std::time::Duration;

use auth::Role;
use chrono::{NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

use qr::{code::DEV_SECRET, QrSecret, QrSettings};

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub fn config() -> QrSettings {
    QrSettings {
        secret: QrSecret::new(DEV_SECRET.as_bytes()).unwrap(),
        links: platform::links::Links::new("https://wolo.test", false, b"test"),
        identity_url: "../identity".into(),
    }
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(qr::router(db.service_context("qr").with_section(config()))).await;
    Stack { db, app }
}

impl Stack {
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }
}

pub use testkit::expect;

pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&Dakar).date_naive()
}

pub async fn user(pool: &PgPool, full_name: Option<&str>) -> Uuid {
    let phone = format!("+22177{:07}", rand_digits());
    let id: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone, roles) values ($1, array['user']) returning id",
    )
    .bind(phone)
    .fetch_one(pool)
    .await
    .unwrap();
    if let Some(name) = full_name {
        sqlx::query(
            "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, $2, '1995-04-12')",
        )
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .unwrap();
    }
    id
}

fn rand_digits() -> u32 {
    (Uuid::new_v4().as_u128() % 10_000_000) as u32
}

/// An active partner with venues `plateau` (active), `almadies` (active) and `ferme` (closed).
pub async fn partner(pool: &PgPool, pct: &str, minimum: i32, terms: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into packs.partners (name, type, revenue_split_percentage, payment_terms,
                                     minimum_payout_cfa, venues, status)
         values ('Ciné Dakar', 'cinema', $1::numeric, $2, $3,
                 '[{\"id\": \"plateau\", \"name\": \"Ciné Plateau\", \"address\": \"Avenue Pompidou\"},
                   {\"id\": \"almadies\", \"name\": \"Ciné Almadies\"},
                   {\"id\": \"ferme\", \"name\": \"Ancien cinéma\", \"is_active\": false}]', 'active')
         returning id",
    )
    .bind(pct)
    .bind(terms)
    .bind(minimum)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn member(pool: &PgPool, partner: Uuid, venue_ids: Option<Value>) -> Uuid {
    let u = user(pool, None).await;
    sqlx::query("update identity.users set roles = array['partner'] where id = $1")
        .bind(u)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into packs.partner_members (partner_id, user_id, venue_ids) values ($1, $2, $3)",
    )
    .bind(partner)
    .bind(u)
    .bind(venue_ids)
    .execute(pool)
    .await
    .unwrap();
    u
}

pub async fn pack(pool: &PgPool, partner: Uuid, base: i32, discounted: Option<i32>) -> Uuid {
    sqlx::query_scalar(
        "insert into packs.packs (name, description, category, base_price_cfa, discounted_price_cfa,
                                  partner_id, validity_days, redemption_instructions, venue_restrictions)
         values ('Soirée cinéma pour deux', 'Deux places et du pop-corn', 'cinema', $1, $2, $3, 30,
                 '2 billets + 2 pop-corn moyens', '[\"plateau\", \"ferme\"]')
         returning id",
    )
    .bind(base)
    .bind(discounted)
    .bind(partner)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn pot(pool: &PgPool, owner: Uuid, birthday: NaiveDate, pack: Option<Uuid>) -> Uuid {
    sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                scheduled_open_at, preferred_pack_id, status)
         values ($1, 'Anniversaire', 15000, $2, ($2::date - 30)::timestamptz, $3, 'funded')
         returning id",
    )
    .bind(owner)
    .bind(birthday)
    .bind(pack)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn publish(pool: &PgPool, topic: &str, payload: Value) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let id = platform::outbox::publish(&mut tx, topic, &payload, "pots")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

pub async fn funded(
    pool: &PgPool,
    pot: Uuid,
    owner: Uuid,
    raised: i64,
    birthday: NaiveDate,
) -> i64 {
    publish(
        pool,
        "pot.funded",
        json!({"pot_id": pot, "owner_user_id": owner, "raised_amount_cfa": raised,
               "target_amount_cfa": 15000, "preferred_pack_id": null, "birthday_date": birthday}),
    )
    .await
}

/// Runs the `qr.pots` consumer until `done` holds (events become visible with a delay).
pub async fn drain_until(pool: &PgPool, sql: &str, arg: Uuid) {
    let consumer = qr::issue::consumer(config().secret, config().links);
    let service = testkit::service_pool_of(pool, "qr");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        consumer.run_once(&service).await.unwrap();
        let done: bool = sqlx::query_scalar(sql)
            .bind(arg)
            .fetch_one(pool)
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the consumer until its cursor has passed event `id`.
pub async fn drain_past(pool: &PgPool, id: i64) {
    let consumer = qr::issue::consumer(config().secret, config().links);
    let service = testkit::service_pool_of(pool, "qr");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        consumer.run_once(&service).await.unwrap();
        let done: Option<bool> = sqlx::query_scalar(
            "select last_id >= $1 from wolo.outbox_cursors where consumer = 'qr.pots'",
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap();
        if done == Some(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer never passed event {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A ready-to-redeem world: owner Awa with a funded pot whose birthday is today, a partner
/// with staff at `plateau`, the pack, and the issued code (canonical).
pub struct World {
    pub owner: Uuid,
    pub partner: Uuid,
    pub staff: Uuid,
    pub pack: Uuid,
    pub pot: Uuid,
    pub code: String,
    pub qr_id: Uuid,
}

pub async fn world(pool: &PgPool, birthday: NaiveDate) -> World {
    let owner = user(pool, Some("Awa Ndiaye")).await;
    let partner = partner(pool, "67.5", 10_000, "monthly").await;
    let staff = member(pool, partner, None).await;
    let pack = pack(pool, partner, 15_000, Some(12_000)).await;
    let pot = pot(pool, owner, birthday, Some(pack)).await;
    funded(pool, pot, owner, 15_000, birthday).await;
    drain_until(
        pool,
        "select exists (select 1 from qr.qr_codes where pot_id = $1)",
        pot,
    )
    .await;
    let (qr_id, code): (Uuid, String) =
        sqlx::query_as("select id, code from qr.qr_codes where pot_id = $1")
            .bind(pot)
            .fetch_one(pool)
            .await
            .unwrap();
    World {
        owner,
        partner,
        staff,
        pack,
        pot,
        code,
        qr_id,
    }
}

pub async fn redeem(app: &TestApp, staff: Uuid, code: &str, venue: &str) -> Response {
    app.request(Method::POST, "/redeem")
        .bearer_auth(testkit::token(Role::Partner, staff))
        .header("user-agent", "wolo-counter/1.0")
        .json(&json!({"code": code, "venue_id": venue, "device": {"model": "Tecno Spark", "counter": 2}}))
        .send()
        .await
        .unwrap()
}

pub async fn logs(pool: &PgPool, qr_id: Uuid) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "select validation_result, error_message from qr.qr_redemption_logs
         where qr_code_id = $1 order by attempt_timestamp, id",
    )
    .bind(qr_id)
    .fetch_all(pool)
    .await
    .unwrap()
}
