//! The outbox consumer `analytics.domain`: every domain event of the other services
//! becomes one `analytics_events` row (platform `api`), exactly once (the consumer's
//! cursor transaction, and `source_event_id` unique as a second guard).

use chrono::{DateTime, Utc};
use platform::events::{
    DonationFailed, DonationRefunded, DonationSucceeded, PotClosed, PotCreated, PotCredited,
    PotExpired, PotFunded, PotOpened, PotRefunded, Published, QrIssued, QrRedeemed,
    ReferralAccepted, Topic,
};
use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// Topic → (event name, category).
pub const TOPICS: &[(&str, &str, &str)] = &[
    (PotCreated::TOPIC, "pot_created", "pot"),
    (PotOpened::TOPIC, "pot_opened", "pot"),
    (PotFunded::TOPIC, "pot_funded", "pot"),
    (PotClosed::TOPIC, "pot_closed", "pot"),
    (PotExpired::TOPIC, "pot_expired", "pot"),
    (PotRefunded::TOPIC, "pot_refunded", "pot"),
    (PotCredited::TOPIC, "pot_credited", "pot"),
    (DonationSucceeded::TOPIC, "donation_made", "donation"),
    (DonationFailed::TOPIC, "donation_failed", "donation"),
    (DonationRefunded::TOPIC, "donation_refunded", "donation"),
    (ReferralAccepted::TOPIC, "referral_accepted", "referral"),
    (QrIssued::TOPIC, "qr_issued", "qr"),
    (QrRedeemed::TOPIC, "qr_redeemed", "qr"),
];

/// The acting user of a domain event (the pot's owner, the donor, the sponsored contact),
/// when its payload names one, and when it happened if the payload says so.
fn actor(event: &Published) -> (Option<Uuid>, Option<DateTime<Utc>>) {
    match event {
        Published::PotCreated(e) => (Some(e.owner_user_id), None),
        Published::PotOpened(e) => (Some(e.owner_user_id), None),
        Published::PotFunded(e) => (Some(e.owner_user_id), None),
        Published::PotClosed(e) => (Some(e.owner_user_id), None),
        Published::PotExpired(e) => (Some(e.owner_user_id), None),
        Published::PotRefunded(e) => (Some(e.owner_user_id), None),
        Published::DonationSucceeded(e) => (e.donor_user_id, Some(e.confirmed_at)),
        Published::DonationRefunded(e) => (e.donor_user_id, None),
        Published::ReferralAccepted(e) => (Some(e.sponsored_user_id), None),
        Published::QrIssued(e) => (Some(e.owner_user_id), None),
        Published::PotCredited(_)
        | Published::PotProgressed(_)
        | Published::DonationFailed(_)
        | Published::QrRedeemed(_)
        | Published::UserDeleted(_)
        | Published::NotificationRequested(_) => (None, None),
    }
}

/// The consumer's name.
pub const CONSUMER: &str = "analytics.domain";

/// Payload fields that are personal data (a donor's phone and name): never copied into
/// `analytics.analytics_events.properties`.
pub const PERSONAL_FIELDS: &[&str] = &["donor_phone", "donor_name"];

struct Domain;

impl Handler for Domain {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        let span =
            tracing::info_span!("analytics.domain", event_id = event.id, topic = %event.topic);
        Box::pin(
            async move {
                record(conn, event).await?;
                Ok(())
            }
            .instrument(span),
        )
    }
}

/// Writes the analytics row of one domain event (its payload, as published, is kept as the
/// row's properties); false when it was already there or is not a domain event. A payload
/// that breaks its topic's contract is an error (the event is retried, then parked).
pub async fn record(conn: &mut PgConnection, event: &Event) -> anyhow::Result<bool> {
    let Some(&(_, name, category)) = TOPICS.iter().find(|t| t.0 == event.topic) else {
        return Ok(false);
    };
    let (user, at) = actor(&event.decode()?);
    let at = at.unwrap_or(event.created_at);
    let mut properties = event.payload.clone();
    if let Some(o) = properties.as_object_mut() {
        // Personal data stays with the donation: analytics keeps ids and amounts only.
        for personal in PERSONAL_FIELDS {
            o.remove(*personal);
        }
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
