//! The notifications service against a real database and loopback fakes: rendering,
//! validation, preferences and quiet hours, the dispatcher (races, retries), SMTP, receipts,
//! analytics, digests, template versions.

mod delivery;
mod fakes;
mod http_api;
mod requests;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use notifications::{
    config::{HttpProviderConfig, SmtpConfig},
    providers::{DevProvider, HttpProvider, Providers, SmtpProvider},
    MessageRequest, Recipient,
};
use platform::config::Secret;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub const RETRY_BASE: Duration = Duration::from_secs(30);

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A user with a phone and an e-mail address.
pub async fn user(pool: &PgPool, phone: &str, email: &str) -> Uuid {
    sqlx::query_scalar("insert into identity.users (phone, email) values ($1, $2) returning id")
        .bind(phone)
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub fn req(message: &str, phone: &str, data: Value) -> MessageRequest {
    MessageRequest {
        user_id: None,
        recipient: Recipient {
            phone: Some(phone.into()),
            email: None,
        },
        message: message.into(),
        locale: None,
        channels: None,
        data,
        scheduled_at: None,
    }
}

pub async fn queue(pool: &PgPool, r: MessageRequest, now: DateTime<Utc>) -> Vec<Uuid> {
    let mut conn = pool.acquire().await.unwrap();
    notifications::request_message_at(&mut conn, r, now)
        .await
        .unwrap()
}

pub fn http_cfg(url: &str) -> HttpProviderConfig {
    HttpProviderConfig {
        url: url.into(),
        key: Secret::new("test-key"),
        from: "WOLO".into(),
    }
}

/// SMS and WhatsApp to `sms_url` / `wa_url` (dev when None), e-mail to `smtp_url` (dev when None).
pub fn providers(sms_url: Option<&str>, wa_url: Option<&str>, smtp_url: Option<&str>) -> Providers {
    let dev: Arc<dyn notifications::providers::Provider> = Arc::new(DevProvider);
    Providers {
        sms: sms_url.map_or(dev.clone(), |u| Arc::new(HttpProvider::sms(&http_cfg(u)))),
        whatsapp: wa_url.map_or(dev.clone(), |u| {
            Arc::new(HttpProvider::whatsapp(&http_cfg(u)))
        }),
        email: smtp_url.map_or(dev, |u| {
            Arc::new(
                SmtpProvider::new(&SmtpConfig {
                    url: Secret::new(u),
                    from: "WOLO <no-reply@wolo.sn>".into(),
                })
                .unwrap(),
            )
        }),
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct Row {
    pub id: Uuid,
    pub status: Option<String>,
    pub channel: String,
    pub body: String,
    pub subject: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub retry_count: Option<i32>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub error_code: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub held_for_digest: bool,
    pub digest_id: Option<Uuid>,
}

pub async fn row(pool: &PgPool, id: Uuid) -> Row {
    sqlx::query_as(
        "select id, status, channel, body, subject, scheduled_at, retry_count, next_retry_at,
                error_message, error_code, provider, provider_message_id, held_for_digest, digest_id
         from notifications.notifications where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn count(pool: &PgPool, filter: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "select count(*) from notifications.notifications where {filter}"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}
