//! The dispatcher: claims due rows with `FOR UPDATE SKIP LOCKED`, hands them to the
//! channel's provider, records the outcome; retries with exponential backoff and jitter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::providers::{Outgoing, ProviderError, Providers};

/// How long a claimed row stays invisible to other dispatchers.
pub const CLAIM_LEASE: Duration = Duration::from_secs(300);
/// Rows claimed per round.
pub const BATCH: i64 = 100;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchStats {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    channel: String,
    recipient_identifier: String,
    subject: Option<String>,
    body: String,
    body_html: Option<String>,
    retry_count: Option<i32>,
    max_retries: Option<i32>,
}

/// Delay before attempt `n + 1` after the `n`-th failure (n >= 1): `base * 2^(n-1)`, plus up
/// to a quarter of it at random (jitter), capped at [`MAX_BACKOFF`].
pub fn backoff(base: Duration, failures: u32, rng: &mut impl Rng) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let exp = exp.min(MAX_BACKOFF);
    let jitter = rng.gen_range(0.0..0.25);
    exp.mul_f64(1.0 + jitter).min(MAX_BACKOFF)
}

/// One round: claims up to `batch` due rows (status pending, scheduled_at and next_retry_at
/// reached, not held for a digest, no live claim) under `FOR UPDATE SKIP LOCKED`, commits the
/// claim, then sends each and records the result. Several dispatchers (replicas) may run
/// this concurrently: a row is claimed by exactly one.
pub async fn dispatch_once(
    pool: &PgPool,
    providers: &Providers,
    retry_base: Duration,
    now: DateTime<Utc>,
    batch: i64,
) -> sqlx::Result<DispatchStats> {
    let token = Uuid::new_v4();
    let lease_until = now + chrono::Duration::from_std(CLAIM_LEASE).unwrap();
    let rows: Vec<Claimed> = sqlx::query_as(
        "with due as (
             select id from notifications.notifications
             where status = 'pending' and not held_for_digest
               and coalesce(scheduled_at, created_at) <= $1
               and (next_retry_at is null or next_retry_at <= $1)
               and (claimed_until is null or claimed_until <= $1)
             order by scheduled_at, created_at
             limit $2
             for update skip locked
         )
         update notifications.notifications n
            set claimed_until = $3, claim_token = $4
           from due where n.id = due.id
         returning n.id, n.channel, n.recipient_identifier, n.subject, n.body, n.body_html,
                   n.retry_count, n.max_retries",
    )
    .bind(now)
    .bind(batch)
    .bind(lease_until)
    .bind(token)
    .fetch_all(pool)
    .await?;

    let mut stats = DispatchStats {
        claimed: rows.len(),
        ..Default::default()
    };
    for row in rows {
        let msg = Outgoing {
            id: row.id,
            channel: row.channel.clone(),
            to: row.recipient_identifier.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            body_html: row.body_html.clone(),
        };
        let Some(provider) = providers.for_channel(&row.channel) else {
            record_failure(
                pool,
                &row,
                token,
                "none",
                &ProviderError {
                    code: "channel".into(),
                    message: format!("no provider for channel {:?}", row.channel),
                    retryable: false,
                    response: None,
                },
                now,
                retry_base,
            )
            .await?;
            stats.failed += 1;
            continue;
        };
        match provider.send(&msg).await {
            Ok(accepted) => {
                sqlx::query(
                    "update notifications.notifications
                        set status = 'sent', sent_at = $2, provider = $3, provider_message_id = $4,
                            provider_response = $5, claimed_until = null, claim_token = null,
                            next_retry_at = null, error_message = null, error_code = null
                      where id = $1 and claim_token = $6",
                )
                .bind(row.id)
                .bind(now)
                .bind(provider.name())
                .bind(&accepted.provider_message_id)
                .bind(&accepted.response)
                .bind(token)
                .execute(pool)
                .await?;
                stats.sent += 1;
            }
            Err(err) => {
                if record_failure(pool, &row, token, provider.name(), &err, now, retry_base).await?
                {
                    stats.failed += 1;
                } else {
                    stats.retried += 1;
                }
            }
        }
    }
    Ok(stats)
}

/// Records a failed attempt; returns true when the row is now `failed` for good.
async fn record_failure(
    pool: &PgPool,
    row: &Claimed,
    token: Uuid,
    provider: &str,
    err: &ProviderError,
    now: DateTime<Utc>,
    retry_base: Duration,
) -> sqlx::Result<bool> {
    let failures = row.retry_count.unwrap_or(0) + 1;
    let max = row.max_retries.unwrap_or(3);
    let give_up = !err.retryable || failures > max;
    let next = if give_up {
        None
    } else {
        let d = backoff(retry_base, failures as u32, &mut rand::thread_rng());
        Some(now + chrono::Duration::from_std(d).unwrap())
    };
    tracing::warn!(
        notification_id = %row.id, provider, attempt = failures, give_up,
        error = %err.message, "notification delivery failed"
    );
    sqlx::query(
        "update notifications.notifications
            set retry_count = $2, next_retry_at = $3, provider = $4,
                error_message = $5, error_code = $6, provider_response = $7,
                status = case when $8 then 'failed' else 'pending' end,
                failed_at = case when $8 then $9 else failed_at end,
                claimed_until = null, claim_token = null
          where id = $1 and claim_token = $10",
    )
    .bind(row.id)
    .bind(failures)
    .bind(next)
    .bind(provider)
    .bind(&err.message)
    .bind(err.code.chars().take(50).collect::<String>())
    .bind(err.response.clone().unwrap_or(Value::Null))
    .bind(give_up)
    .bind(now)
    .bind(token)
    .execute(pool)
    .await?;
    Ok(give_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let mut rng = rand::thread_rng();
        let base = Duration::from_secs(30);
        for (n, lo) in [(1u32, 30u64), (2, 60), (3, 120), (4, 240)] {
            for _ in 0..50 {
                let d = backoff(base, n, &mut rng);
                assert!(
                    d >= Duration::from_secs(lo) && d < Duration::from_secs(lo) * 5 / 4,
                    "{n}: {d:?}"
                );
            }
        }
        assert_eq!(backoff(base, 30, &mut rng), MAX_BACKOFF);
    }
}
