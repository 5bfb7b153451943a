//! The outbox consumer `analytics.domain`: every domain event of the other services
//! becomes one `analytics_events` row (platform `api`), exactly once (the consumer's
//! cursor transaction, and `source_event_id` unique as a second guard).

use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use sqlx::PgConnection;

/// Topic → (event name, category, payload key of the acting user).
pub const TOPICS: &[(&str, &str, &str, &str)] = &[
    ("pot.created", "pot_created", "pot", "owner_user_id"),
    ("pot.opened", "pot_opened", "pot", "owner_user_id"),
    ("pot.funded", "pot_funded", "pot", "owner_user_id"),
    ("pot.closed", "pot_closed", "pot", "owner_user_id"),
    ("pot.expired", "pot_expired", "pot", "owner_user_id"),
    ("pot.refunded", "pot_refunded", "pot", "owner_user_id"),
    ("pot.credited", "pot_credited", "pot", "owner_user_id"),
    (
        "donation.succeeded",
        "donation_made",
        "donation",
        "donor_user_id",
    ),
    (
        "donation.failed",
        "donation_failed",
        "donation",
        "donor_user_id",
    ),
    (
        "donation.refunded",
        "donation_refunded",
        "donation",
        "donor_user_id",
    ),
    (
        "referral.accepted",
        "referral_accepted",
        "referral",
        "sponsored_user_id",
    ),
    ("qr.issued", "qr_issued", "qr", "owner_user_id"),
    ("qr.redeemed", "qr_redeemed", "qr", "owner_user_id"),
];

/// The consumer's name.
pub const CONSUMER: &str = "analytics.domain";

struct Domain;

impl Handler for Domain {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            record(conn, event).await?;
            Ok(())
        })
    }
}

/// Writes the analytics row of one domain event; false when it was already there.
pub async fn record(conn: &mut PgConnection, event: &Event) -> anyhow::Result<bool> {
    let Some(&(_, name, category, user_key)) = TOPICS.iter().find(|t| t.0 == event.topic) else {
        return Ok(false);
    };
    let user = event
        .payload
        .get(user_key)
        .and_then(|v| v.as_str())
        .and_then(|s| uuid::Uuid::parse_str(s).ok());
    let at = event
        .payload
        .get("confirmed_at")
        .and_then(|v| v.as_str())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(event.created_at);
    let mut properties = event.payload.clone();
    if let Some(o) = properties.as_object_mut() {
        o.insert("topic".into(), event.topic.clone().into());
        if let Some(s) = &event.source {
            o.insert("source".into(), s.clone().into());
        }
    }
    let r = sqlx::query(
        "insert into analytics.analytics_events
             (event_name, event_category, user_id, properties, timestamp, platform, region, source_event_id)
         select $1, $2, (select u.id from identity.users u where u.id = $3), $4, $5, 'api',
                (select a.region from profiles.user_addresses a
                  where a.user_id = $3 and a.region is not null
                  order by a.is_default desc nulls last, a.created_at limit 1),
                $6
         on conflict (source_event_id) do nothing",
    )
    .bind(name)
    .bind(category)
    .bind(user)
    .bind(&properties)
    .bind(at)
    .bind(event.id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The consumer of every topic in [`TOPICS`].
pub fn consumer() -> Consumer {
    let topics: Vec<&str> = TOPICS.iter().map(|t| t.0).collect();
    Consumer::new(CONSUMER, &topics, Domain)
}
