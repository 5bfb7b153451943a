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
use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::lifecycle::{close_pot, mark_funded_if_reached, SOURCE};

/// The consumer's name (its cursor in `wolo.outbox_cursors`).
pub const CONSUMER: &str = "pots.donations";
/// The topics it applies.
pub const TOPICS: &[&str] = &[
    "donation.succeeded",
    "donation.refunded",
    "pot.credited",
    "qr.issued",
];

#[derive(Deserialize)]
struct Succeeded {
    donation_id: Uuid,
    pot_id: Uuid,
    amount_cfa: i32,
}

#[derive(Deserialize)]
struct Refunded {
    donation_id: Uuid,
    pot_id: Uuid,
    amount_cfa: i32,
}

#[derive(Deserialize)]
struct Credited {
    pot_id: Uuid,
}

#[derive(Deserialize)]
struct QrIssued {
    pot_id: Uuid,
}

fn payload<T: serde::de::DeserializeOwned>(event: &Event) -> anyhow::Result<T> {
    serde_json::from_value(event.payload.clone())
        .map_err(|e| anyhow::anyhow!("{} payload does not match the contract: {e}", event.topic))
}

struct Donations;

impl Handler for Donations {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            match event.topic.as_str() {
                "donation.succeeded" => succeeded(conn, payload(event)?).await,
                "donation.refunded" => refunded(conn, payload(event)?).await,
                "pot.credited" => {
                    let c: Credited = payload(event)?;
                    mark_funded_if_reached(conn, c.pot_id).await?;
                    Ok(())
                }
                "qr.issued" => {
                    let q: QrIssued = payload(event)?;
                    // Not found or closed already: nothing to do.
                    let _ = close_pot(conn, q.pot_id, "qr_issued", Utc::now()).await?;
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }
}

async fn succeeded(conn: &mut PgConnection, d: Succeeded) -> anyhow::Result<()> {
    if d.amount_cfa <= 0 {
        anyhow::bail!(
            "donation {} has a non-positive amount {}",
            d.donation_id,
            d.amount_cfa
        );
    }
    // Lock the pot first: the ledger row and the totals change together.
    let status: Option<Option<String>> =
        sqlx::query_scalar("select status from pots.pots where id = $1 for update")
            .bind(d.pot_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(status) = status else {
        anyhow::bail!("donation {} is for unknown pot {}", d.donation_id, d.pot_id);
    };
    let inserted = sqlx::query(
        "insert into pots.pot_donation_credits (donation_id, pot_id, amount_cfa, pot_status_at_credit)
         values ($1, $2, $3, $4)
         on conflict (donation_id) do nothing",
    )
    .bind(d.donation_id)
    .bind(d.pot_id)
    .bind(d.amount_cfa)
    .bind(status.as_deref())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        sqlx::query(
            "update pots.pots
             set raised_amount_cfa = raised_amount_cfa + $2, donor_count = donor_count + 1
             where id = $1",
        )
        .bind(d.pot_id)
        .bind(d.amount_cfa)
        .execute(&mut *conn)
        .await?;
    }
    mark_funded_if_reached(conn, d.pot_id).await?;
    Ok(())
}

async fn refunded(conn: &mut PgConnection, d: Refunded) -> anyhow::Result<()> {
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
        .bind(d.amount_cfa.max(1))
        .execute(&mut *conn)
        .await?;
        return Ok(());
    };
    sqlx::query(
        "update pots.pots
         set raised_amount_cfa = greatest(raised_amount_cfa - $2, 0),
             donor_count = greatest(donor_count - 1, 0)
         where id = $1",
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
        platform::outbox::publish(
            conn,
            "pot.refunded",
            &json!({"pot_id": d.pot_id, "owner_user_id": owner}),
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
