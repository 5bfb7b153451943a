//! Retention: old sessions, reset tokens, SMS codes and throttling attempts are deleted by
//! [`purge_expired`], which [`spawn_jobs`] runs every hour.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Session rows are kept at most this many days after creation (expired) or revocation.
pub const SESSION_RETENTION_DAYS: i32 = 90;
/// SMS code rows are kept this many hours.
pub const OTP_RETENTION_HOURS: i32 = 24;
/// Throttling attempts (`identity.auth_attempts`) are kept this many hours: the longest
/// window a limit may have ([`crate::throttle::MAX_WINDOW_SECS`]).
pub const ATTEMPT_RETENTION_HOURS: i32 = 24;
/// How often [`spawn_jobs`] purges.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Rows deleted by one [`purge_expired`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    pub sessions: u64,
    pub reset_tokens: u64,
    pub otp_codes: u64,
    pub auth_attempts: u64,
}

/// Deletes, as of `now`:
/// - `user_sessions` expired and created more than 90 days ago, or revoked more than 90 days
///   ago;
/// - `password_reset_tokens` used or expired;
/// - `otp_codes` created more than a day ago;
/// - `auth_attempts` created more than a day ago.
pub async fn purge_expired(pool: &PgPool, now: DateTime<Utc>) -> Result<PurgeCounts, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let sessions = sqlx::query(
        "delete from identity.user_sessions
         where (expires_at < $1 and created_at < $1 - make_interval(days => $2))
            or (coalesce(is_revoked, false)
                and coalesce(revoked_at, created_at) < $1 - make_interval(days => $2))",
    )
    .bind(now)
    .bind(SESSION_RETENTION_DAYS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let reset_tokens = sqlx::query(
        "delete from identity.password_reset_tokens where used_at is not null or expires_at < $1",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let otp_codes = sqlx::query(
        "delete from identity.otp_codes where created_at < $1 - make_interval(hours => $2)",
    )
    .bind(now)
    .bind(OTP_RETENTION_HOURS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let auth_attempts = sqlx::query(
        "delete from identity.auth_attempts where created_at < $1 - make_interval(hours => $2)",
    )
    .bind(now)
    .bind(ATTEMPT_RETENTION_HOURS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(PurgeCounts {
        sessions,
        reset_tokens,
        otp_codes,
        auth_attempts,
    })
}

/// Runs [`purge_expired`] now and then every hour, for the life of the process
/// (`platform::jobs::every`: span `job{service=identity, job=purge}`, a run that deleted
/// something is logged with its counts).
pub fn spawn_jobs(ctx: &platform::Context) {
    let db = ctx.db.clone();
    platform::jobs::every(&ctx.db, crate::NAME, "purge", PURGE_INTERVAL, move || {
        let db = db.clone();
        async move { Ok(purge_expired(&db, Utc::now()).await?) }
    });
}
