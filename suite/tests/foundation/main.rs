//! Foundation tests: the schema's constraints, migrations and seeds, health and readiness
//! over HTTP, and the `wolo` command itself. Each test gets its own database.

mod cli;
mod constraints;
mod gate;
mod health;
mod job_leases;
mod metrics;
mod migrations_and_seeds;
mod production;
mod protections;
mod service_logins;
mod settings;

use sqlx::PgPool;
use uuid::Uuid;

/// Inserts a user with a phone number and returns its id.
pub async fn user(pool: &PgPool, phone: &str) -> Uuid {
    sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
        .bind(phone)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The SQLSTATE and constraint name of a failed statement.
pub fn violation(err: sqlx::Error) -> (String, Option<String>) {
    match err {
        sqlx::Error::Database(e) => (
            e.code().map(|c| c.to_string()).unwrap_or_default(),
            e.constraint().map(str::to_string),
        ),
        other => panic!("expected a database error, got {other}"),
    }
}
