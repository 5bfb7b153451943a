//! Issuing QR codes: the outbox consumer `qr.pots` of `pot.funded`, `pot.closed` and
//! `pot.refunded`.
//!
//! - `pot.funded` / `pot.closed`: when the pot's preferred pack exists and the amount raised
//!   covers the pack's effective price, one QR code is issued for the pot (unique per pot:
//!   a second event changes nothing: `qr_codes.issuance_key` = the pot id is unique). `redeemable_from` = the birthday at 00:00
//!   Africa/Dakar, `expires_at` = that + the pack's `validity_days` (90 when unset). No
//!   preferred pack, an unknown pack, too little raised, no quantity left, or a pack that
//!   is no longer available (inactive or out of its dates, `packs.is_available`, re-checked
//!   here and by the trigger `qr.check_code_issuance`): nothing is issued and a warning is
//!   logged. Issuing publishes `qr.issued` and asks for the
//!   `qr_ready` message to the owner.
//! - `pot.refunded`: the pot's code, if still `issued`, becomes `cancelled`.

use chrono::{DateTime, NaiveDate, Utc};
use platform::events::{
    self, NotificationRequested, PotClosed, PotFunded, PotRefunded, Published, QrIssued, Topic,
};
use platform::links::Links;
use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use sqlx::{PgConnection, Row};
use tracing::Instrument;
use uuid::Uuid;

use crate::code::{grouped, QrSecret};

/// Topics the consumer applies.
pub const TOPICS: [&str; 3] = [PotFunded::TOPIC, PotClosed::TOPIC, PotRefunded::TOPIC];

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Issued(Uuid),
    AlreadyIssued,
    Skipped(&'static str),
    Cancelled(u64),
}

/// The birthday at 00:00 in Dakar (the start of [`platform::calendar::qr_window`]).
pub fn redeemable_from(birthday: NaiveDate) -> DateTime<Utc> {
    platform::calendar::qr_window(birthday, 0).0
}

struct Pots {
    secret: QrSecret,
    links: Links,
}

impl Handler for Pots {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let (pot_id, preferred_pack, raised) = match event.decode()? {
                Published::PotFunded(e) => {
                    (e.pot_id, e.preferred_pack_id, Some(e.raised_amount_cfa))
                }
                Published::PotClosed(e) => {
                    (e.pot_id, e.preferred_pack_id, Some(e.raised_amount_cfa))
                }
                Published::PotRefunded(e) => (e.pot_id, None, None),
                other => anyhow::bail!("qr.pots does not apply {}", other.topic()),
            };
            let span = tracing::info_span!("qr.pots", topic = %event.topic, %pot_id);
            async {
                let out = match raised {
                    None => cancel_for_pot(conn, pot_id).await?,
                    Some(raised) => {
                        issue_for_pot(
                            conn,
                            &self.secret,
                            &self.links,
                            pot_id,
                            Funding {
                                preferred_pack_id: preferred_pack,
                                raised_amount_cfa: raised,
                            },
                        )
                        .await?
                    }
                };
                tracing::info!(outcome = ?out, "qr.pots");
                Ok(())
            }
            .instrument(span)
            .await
        })
    }
}

/// The consumer `qr.pots`.
pub fn consumer(secret: QrSecret, links: Links) -> Consumer {
    Consumer::new("qr.pots", &TOPICS, Pots { secret, links })
}

/// Cancels the pot's code if it was not used yet.
pub async fn cancel_for_pot(conn: &mut PgConnection, pot_id: Uuid) -> anyhow::Result<Outcome> {
    let n = sqlx::query(
        "update qr.qr_codes set status = 'cancelled' where pot_id = $1 and status = 'issued'",
    )
    .bind(pot_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Outcome::Cancelled(n))
}

/// What a `pot.funded` or `pot.closed` event says of the pot's money.
#[derive(Debug, Clone, Copy)]
pub struct Funding {
    /// The pack chosen when the event was published (the pot's current one wins).
    pub preferred_pack_id: Option<Uuid>,
    pub raised_amount_cfa: i64,
}

/// Issues the pot's code (see the module docs).
pub async fn issue_for_pot(
    conn: &mut PgConnection,
    secret: &QrSecret,
    links: &Links,
    pot_id: Uuid,
    funding: Funding,
) -> anyhow::Result<Outcome> {
    // Locked FOR SHARE: the preferred pack cannot change while the code is issued (a change
    // waits for this transaction, then sees the code and is refused: pots.check_preferred_pack).
    let pot = sqlx::query(
        "select owner_user_id, birthday_date, preferred_pack_id from qr.lock_pot_for_issuance($1)",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(pot) = pot else {
        tracing::warn!(%pot_id, "qr.pots: unknown pot, no QR code");
        return Ok(Outcome::Skipped("unknown_pot"));
    };
    let owner: Uuid = pot.get("owner_user_id");
    let birthday: NaiveDate = pot.get("birthday_date");
    let pack_id: Option<Uuid> = pot
        .get::<Option<Uuid>, _>("preferred_pack_id")
        .or(funding.preferred_pack_id);
    let Some(pack_id) = pack_id else {
        tracing::warn!(%pot_id, "qr.pots: the pot has no preferred pack, no QR code issued");
        return Ok(Outcome::Skipped("no_pack"));
    };
    if sqlx::query_scalar::<_, i32>("select 1 from qr.qr_codes where issuance_key = $1")
        .bind(pot_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some()
    {
        return Ok(Outcome::AlreadyIssued);
    }
    // The pack row lock serialises issuance against the quantity left (taken as the pack's
    // owner, V102: FOR UPDATE needs UPDATE on packs.packs, which the qr service does not hold).
    sqlx::query("select qr.lock_pack_for_issuance($1)")
        .bind(pack_id)
        .execute(&mut *conn)
        .await?;
    let pack = sqlx::query(
        "select p.name, coalesce(p.validity_days, 90) as validity_days,
                packs.effective_price_cfa(p.id) as price, packs.quantity_left(p.id) as left_qty,
                packs.is_available(p.id) as available, pa.name as partner_name
         from packs.packs p left join packs.partners pa on pa.id = p.partner_id
         where p.id = $1",
    )
    .bind(pack_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(pack) = pack else {
        tracing::warn!(%pot_id, %pack_id, "qr.pots: unknown pack, no QR code issued");
        return Ok(Outcome::Skipped("unknown_pack"));
    };
    let price: i32 = pack.get("price");
    let raised = funding.raised_amount_cfa;
    if raised < i64::from(price) {
        tracing::warn!(%pot_id, %pack_id, raised, price, "qr.pots: raised amount below the pack price, no QR code issued");
        return Ok(Outcome::Skipped("not_enough_raised"));
    }
    if pack
        .get::<Option<i32>, _>("left_qty")
        .is_some_and(|q| q <= 0)
    {
        tracing::warn!(%pot_id, %pack_id, "qr.pots: pack sold out, no QR code issued");
        return Ok(Outcome::Skipped("sold_out"));
    }
    // Re-checked now, whatever the pack was when the owner chose it.
    if !pack.get::<bool, _>("available") {
        tracing::warn!(%pot_id, %pack_id, "qr.pots: pack inactive or out of its dates, no QR code issued");
        return Ok(Outcome::Skipped("pack_unavailable"));
    }
    let validity: i32 = pack.get("validity_days");
    let validity = if validity > 0 { validity } else { 90 };
    let (from, until) = platform::calendar::qr_window(birthday, validity.unsigned_abs());
    let code = secret.generate();
    let id: Option<Uuid> = sqlx::query_scalar(
        "insert into qr.qr_codes
            (pot_id, pack_id, code, redeemable_from, expires_at, status, price_cfa, issuance_key)
         values ($1, $2, $3, $4, $5, 'issued', $6, $1)
         on conflict (issuance_key) do nothing returning id",
    )
    .bind(pot_id)
    .bind(pack_id)
    .bind(&code)
    .bind(from)
    .bind(until)
    .bind(price)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(Outcome::AlreadyIssued);
    };
    sqlx::query("update qr.qr_codes set qr_image_url = $2 where id = $1")
        .bind(id)
        .bind(format!("/qr/codes/{}.png", grouped(&code)))
        .execute(&mut *conn)
        .await?;
    events::publish(
        &mut *conn,
        &QrIssued {
            qr_code_id: id,
            pot_id,
            pack_id,
            owner_user_id: owner,
        },
        crate::NAME,
    )
    .await?;
    let first_name = platform::names::first_name(&mut *conn, owner).await?;
    let partner_name: Option<String> = pack.get("partner_name");
    let pack_name: String = pack.get("name");
    let message = NotificationRequested::to_user(owner, "qr_ready")
        .var("first_name", first_name)
        .var("pack_name", pack_name)
        .var(
            "partner_name",
            partner_name.unwrap_or_else(|| "notre partenaire".into()),
        )
        .var(
            "redeemable_from",
            platform::calendar::dakar_day(from).to_string(),
        )
        .var(
            "expires_at",
            platform::calendar::dakar_day(until).to_string(),
        )
        .var("qr_url", links.gift(id));
    events::publish(&mut *conn, &message, crate::NAME).await?;
    Ok(Outcome::Issued(id))
}
