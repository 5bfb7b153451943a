//! The analytics service against a migrated database: batch ingestion, the domain event
//! consumer, daily metrics and funnels, A/B assignment and results, archive partitions.

#![allow(clippy::type_complexity)]

mod ab;
mod domain;
mod ingest;
mod jobs;

use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub struct Stack {
    pub db: TestDb,
    pub app: TestApp,
}

pub async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(analytics::router(db.context_of(&analytics::SERVICE))).await;
    Stack { db, app }
}

pub use testkit::expect;

/// A user with a profile (birth date) and a default address in `region`.
pub async fn user(pool: &PgPool, phone: &str, dob: &str, region: Option<&str>) -> Uuid {
    let id: Uuid =
        sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
            .bind(phone)
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query("insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, 'Test', $2::date)")
        .bind(id)
        .bind(dob)
        .execute(pool)
        .await
        .unwrap();
    if let Some(r) = region {
        sqlx::query("insert into profiles.user_addresses (user_id, region, is_default) values ($1, $2, true)")
            .bind(id)
            .bind(r)
            .execute(pool)
            .await
            .unwrap();
    }
    id
}
