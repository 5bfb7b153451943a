//! The outbox consumer `pots.donations`: keeps `raised_amount_cfa` / `donor_count` right and
//! applies the funded and closed transitions the other services' events call for.
//!
//! - `donation.succeeded` counts the donation once (ledger `pots.pot_donation_credits`, one
//!   row per donation), whatever the pot's status: the money was paid, so a success arriving
//!   for a pot no longer open still counts (the pot's status does not change; the row keeps
//!   the status it had). Then the funded check.
//! - `donation.refunded` takes a counted donation back out once; when no counted donation of
//!   the pot is left, publishes `pot.refunded`. A refund seen before its success is recorded so
//!   the late success is not counted.
//! - `pot.credited` (points converted into the pot; the converter already added the amount):
//!   the funded check only.
//! - `qr.issued`: the QR issuance closes the pot (reason `qr_issued`) unless it is closed.

use chrono::Utc;
use platform::{
    events::{
        self, DonationRefunded, DonationSucceeded, PotCredited, PotRefunded, Published, QrIssued,
        Topic,
    },
    outbox::{Consumer, Event, Handler, HandlerFuture},
};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::lifecycle::{close_pot, mark_funded_if_reached, SOURCE};

/// The consumer's name (its cursor in `wolo.outbox_cursors`).
pub const CONSUMER: &str = "pots.donations";
/// The topics it applies.
pub const TOPICS: &[&str] = &[
    DonationSucceeded::TOPIC,
    DonationRefunded::TOPIC,
    PotCredited::TOPIC,
    QrIssued::TOPIC,
];

struct Donations;

impl Handler for Donations {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let span = tracing::info_span!("event", consumer = CONSUMER, event_id = event.id, topic = %event.topic);
            let event = event.decode()?;
            async move {
                match event {
                    Published::DonationSucceeded(d) => succeeded(conn, d).await,
                    Published::DonationRefunded(d) => refunded(conn, d).await,
                    Published::PotCredited(c) => {
                        mark_funded_if_reached(conn, c.pot_id)
                            .instrument(tracing::info_span!("credited", pot_id = %c.pot_id))
                            .await?;
                        Ok(())
                    }
                    Published::QrIssued(q) => {
                        // Not found or closed already: nothing to do.
                        let _ = close_pot(conn, q.pot_id, "qr_issued", Utc::now())
                            .instrument(tracing::info_span!("qr_issued", pot_id = %q.pot_id))
                            .await?;
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
            .instrument(span)
            .await
        })
    }
}

/// A payload's amount as the `int` columns hold it.
fn amount(donation: Uuid, amount_cfa: i64) -> anyhow::Result<i32> {
    i32::try_from(amount_cfa)
        .map_err(|_| anyhow::anyhow!("donation {donation} has an out-of-range amount {amount_cfa}"))
}

#[tracing::instrument(skip_all, fields(donation_id = %d.donation_id, pot_id = %d.pot_id))]
async fn succeeded(conn: &mut PgConnection, d: DonationSucceeded) -> anyhow::Result<()> {
    if d.amount_cfa <= 0 {
        anyhow::bail!(
            "donation {} has a non-positive amount {}",
            d.donation_id,
            d.amount_cfa
        );
    }
    let amount_cfa = amount(d.donation_id, d.amount_cfa)?;
    // One statement (issue #16: a round trip per step made the consumer trail a burst of
    // webhooks): lock the pot, add the ledger row once, and move the totals only when it was
    // added; the ledger row and the totals change together. It also says whether the pot,
    // still open, has now reached its target (null: counted before), so the funded check's
    // statement runs only when it can do something.
    let found: Option<Option<bool>> = sqlx::query_scalar(
        "with pot as (select id, status from pots.pots where id = $2 for update),
              credit as (
                insert into pots.pot_donation_credits (donation_id, pot_id, amount_cfa, pot_status_at_credit)
                select $1, pot.id, $3, pot.status from pot
                on conflict (donation_id) do nothing
                returning pot_id),
              totals as (
                update pots.pots p
                   set raised_amount_cfa = raised_amount_cfa + $3, donor_count = donor_count + 1
                  from credit where p.id = credit.pot_id
                returning p.id, p.raised_amount_cfa, p.donor_count, p.target_amount_cfa,
                          coalesce(p.status, 'scheduled') as status,
                          p.status = 'open' and p.raised_amount_cfa >= p.target_amount_cfa as reached),
              -- What a live pot page shows (web::live), in the same transaction.
              progressed as materialized (
                select wolo.publish_event('pot.progressed', jsonb_build_object(
                           'pot_id', id, 'raised_amount_cfa', raised_amount_cfa,
                           'donor_count', donor_count, 'target_amount_cfa', target_amount_cfa,
                           'status', status), 'pots') as id
                from totals)
         select (select reached from totals) from pot
         where (select count(*) from progressed) >= 0",
    )
    .bind(d.donation_id)
    .bind(d.pot_id)
    .bind(amount_cfa)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(reached) = found else {
        anyhow::bail!("donation {} is for unknown pot {}", d.donation_id, d.pot_id);
    };
    if reached != Some(false) {
        mark_funded_if_reached(conn, d.pot_id).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(donation_id = %d.donation_id, pot_id = %d.pot_id))]
async fn refunded(conn: &mut PgConnection, d: DonationRefunded) -> anyhow::Result<()> {
    let owner: Option<Uuid> =
        sqlx::query_scalar("select owner_user_id from pots.pots where id = $1 for update")
            .bind(d.pot_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(owner) = owner else {
        anyhow::bail!(
            "refund of donation {} is for unknown pot {}",
            d.donation_id,
            d.pot_id
        );
    };
    let taken: Option<i32> = sqlx::query_scalar(
        "update pots.pot_donation_credits set refunded_at = now()
         where donation_id = $1 and refunded_at is null
         returning amount_cfa",
    )
    .bind(d.donation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(amount) = taken else {
        // Never counted (or refunded already): remember the refund so a late success is not
        // counted either.
        sqlx::query(
            "insert into pots.pot_donation_credits (donation_id, pot_id, amount_cfa, refunded_at)
             values ($1, $2, $3, now())
             on conflict (donation_id) do nothing",
        )
        .bind(d.donation_id)
        .bind(d.pot_id)
        .bind(amount(d.donation_id, d.amount_cfa.max(1))?)
        .execute(&mut *conn)
        .await?;
        return Ok(());
    };
    sqlx::query(
        "with totals as (
            update pots.pots
            set raised_amount_cfa = greatest(raised_amount_cfa - $2, 0),
                donor_count = greatest(donor_count - 1, 0)
            where id = $1
            returning id, raised_amount_cfa, donor_count, target_amount_cfa,
                      coalesce(status, 'scheduled') as status)
         select wolo.publish_event('pot.progressed', jsonb_build_object(
                    'pot_id', id, 'raised_amount_cfa', raised_amount_cfa,
                    'donor_count', donor_count, 'target_amount_cfa', target_amount_cfa,
                    'status', status), 'pots')
         from totals",
    )
    .bind(d.pot_id)
    .bind(amount)
    .execute(&mut *conn)
    .await?;
    let left: bool = sqlx::query_scalar(
        "select exists (select 1 from pots.pot_donation_credits
                        where pot_id = $1 and refunded_at is null)",
    )
    .bind(d.pot_id)
    .fetch_one(&mut *conn)
    .await?;
    if !left {
        events::publish(
            conn,
            &PotRefunded {
                pot_id: d.pot_id,
                owner_user_id: owner,
            },
            SOURCE,
        )
        .await?;
    }
    Ok(())
}

/// The consumer `pots.donations` of [`TOPICS`].
pub fn donations_consumer() -> Consumer {
    Consumer::new(CONSUMER, TOPICS, Donations)
}
