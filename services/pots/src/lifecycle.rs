//! The J-30 lifecycle: when a pot opens, and every status change with its event.
//!
//! ```text
//!   scheduled --(now >= scheduled_open_at)--> open --(raised >= target)--> funded
//!     |   |                                    |  |                          |
//!     |   '--(birthday day over)--> expired <--'  |                          |
//!     |                                |          |                          |
//!     '----------(close)----------> closed <------'-----------(close)--------'
//! ```
//!
//! `expired -> closed` is allowed too (the owner closes an expired pot); a funded pot never
//! expires; `closed` is final.
//!
//! Every change is a conditional `update ... where status = <expected>` (two replicas, or a
//! job racing an owner, apply it once), backed by the `guard_status_transition` trigger
//! (V60) that refuses any other change whoever makes it. The event goes to the outbox in the
//! same transaction as the change.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use platform::{
    events::{self, NotificationRequested, PotClosed, PotExpired, PotFunded, PotOpened},
    links::Links,
    names::first_name,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The outbox `source` of the pots service's events.
pub const SOURCE: &str = "pots";

/// How many pots one transaction of a job handles at most (the job loops until done).
const BATCH: i64 = 500;

/// When a pot for `birthday` opens, as of `now` (J-30): see
/// [`platform::calendar::pot_opens_at`], the same rule as the SQL function
/// `pots.scheduled_open_at` (which the database uses).
pub use platform::calendar::pot_opens_at as scheduled_open_at;

/// The moment a pot for `birthday` expires if unfunded: see
/// [`platform::calendar::pot_expires_at`].
pub use platform::calendar::pot_expires_at as expires_at;

/// What one [`lifecycle_once`] run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleCounts {
    pub opened: u64,
    pub funded: u64,
    pub expired: u64,
}

/// One pass of the lifecycle job as of `now`: opens due pots, marks open pots whose raised
/// total reached the target funded (a target lowered by the owner, or money that arrived
/// while the pot was not open yet), expires scheduled and open pots whose birthday day is
/// over in Dakar. Safe to run concurrently (row locks taken with `skip locked`, conditional
/// updates). `web` gives the owner's share link in the `pot_opened` message.
pub async fn lifecycle_once(
    pool: &PgPool,
    now: DateTime<Utc>,
    web: &Links,
) -> anyhow::Result<LifecycleCounts> {
    let mut counts = LifecycleCounts::default();
    loop {
        let n = open_due(pool, now, web).await?;
        counts.opened += n;
        if n < BATCH as u64 {
            break;
        }
    }
    loop {
        let n = fund_reached(pool).await?;
        counts.funded += n;
        if n < BATCH as u64 {
            break;
        }
    }
    loop {
        let n = expire_past(pool, now).await?;
        counts.expired += n;
        if n < BATCH as u64 {
            break;
        }
    }
    Ok(counts)
}

async fn open_due(pool: &PgPool, now: DateTime<Utc>, web: &Links) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(Uuid, Uuid, NaiveDate)> = sqlx::query_as(
        "update pots.pots p set status = 'open', actual_opened_at = $1
         where p.id in (select id from pots.pots
                        where status = 'scheduled' and scheduled_open_at <= $1
                          and birthday_date >= ($1 at time zone 'Africa/Dakar')::date
                          and profiles.can_open_pot(owner_user_id, $1)
                        order by scheduled_open_at
                        limit $2
                        for update skip locked)
           and p.status = 'scheduled'
         returning p.id, p.owner_user_id, p.birthday_date",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for (pot_id, owner, birthday) in &rows {
        let opened = PotOpened {
            pot_id: *pot_id,
            owner_user_id: *owner,
            birthday_date: *birthday,
        };
        events::publish(&mut tx, &opened, SOURCE).await?;
        notify_opened(&mut tx, *pot_id, now, web).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

async fn fund_reached(pool: &PgPool) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from pots.pots
         where status = 'open' and raised_amount_cfa >= target_amount_cfa
         limit $1 for update skip locked",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut n = 0;
    for id in ids {
        if mark_funded_if_reached(&mut tx, id).await? {
            n += 1;
        }
    }
    tx.commit().await?;
    Ok(n)
}

async fn expire_past(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    // The birthday day is over in Dakar when its date is before today's date there.
    let rows: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
        "update pots.pots p set status = 'expired'
         where p.id in (select id from pots.pots
                        where status in ('scheduled', 'open')
                          and birthday_date < ($1 at time zone 'Africa/Dakar')::date
                        limit $2
                        for update skip locked)
           and p.status in ('scheduled', 'open')
         returning p.id, p.owner_user_id, p.raised_amount_cfa",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for (pot_id, owner, raised) in &rows {
        let expired = PotExpired {
            pot_id: *pot_id,
            owner_user_id: *owner,
            raised_amount_cfa: i64::from(*raised),
        };
        events::publish(&mut tx, &expired, SOURCE).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Marks the pot `funded` if it is open and its raised total reached the target, and
/// publishes `pot.funded`, in the caller's transaction. True when this call made the change
/// (at most once per pot: the update is conditional on `status = 'open'`).
pub async fn mark_funded_if_reached(conn: &mut PgConnection, pot_id: Uuid) -> anyhow::Result<bool> {
    let row: Option<(Uuid, i32, i32, Option<Uuid>, NaiveDate)> = sqlx::query_as(
        "update pots.pots set status = 'funded'
         where id = $1 and status = 'open' and raised_amount_cfa >= target_amount_cfa
         returning owner_user_id, raised_amount_cfa, target_amount_cfa, preferred_pack_id, birthday_date",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((owner, raised, target, pack, birthday)) = row else {
        return Ok(false);
    };
    let funded = PotFunded {
        pot_id,
        owner_user_id: owner,
        raised_amount_cfa: i64::from(raised),
        target_amount_cfa: i64::from(target),
        preferred_pack_id: pack,
        birthday_date: birthday,
    };
    events::publish(conn, &funded, SOURCE).await?;
    notify_funded(conn, pot_id).await?;
    Ok(true)
}

/// The owner's first name for messages (`Bonjour` when the profile has none).
async fn greeting(conn: &mut PgConnection, owner: Uuid) -> Result<String, sqlx::Error> {
    let name = first_name(conn, owner).await?;
    Ok(if name.is_empty() {
        "Bonjour".to_string()
    } else {
        name
    })
}

/// `pot_opened` to the owner, with the pot's link.
async fn notify_opened(
    conn: &mut PgConnection,
    pot_id: Uuid,
    now: DateTime<Utc>,
    web: &Links,
) -> anyhow::Result<()> {
    let (owner, title, birthday, target, short_code): (Uuid, String, NaiveDate, i32, String) =
        sqlx::query_as(
            "select owner_user_id, title, birthday_date, target_amount_cfa, short_code
             from pots.pots where id = $1",
        )
        .bind(pot_id)
        .fetch_one(&mut *conn)
        .await?;
    let today = now.with_timezone(&Dakar).date_naive();
    let request = NotificationRequested::to_user(owner, "pot_opened")
        .var("first_name", greeting(conn, owner).await?)
        .var("pot_title", title)
        .var("birthday_date", birthday)
        .var("days_left", (birthday - today).num_days().max(0))
        .var("target_amount_cfa", target)
        .var("pot_url", web.pot(pot_id))
        // What relatives on feature phones type (USSD menu, SMS).
        .var("short_code", short_code);
    events::publish(conn, &request, SOURCE).await?;
    Ok(())
}

/// `pot_funded` to the owner.
async fn notify_funded(conn: &mut PgConnection, pot_id: Uuid) -> anyhow::Result<()> {
    let (owner, title, raised, pack): (Uuid, String, i32, Option<String>) = sqlx::query_as(
        "select p.owner_user_id, p.title, p.raised_amount_cfa,
                (select k.name from packs.packs k where k.id = p.preferred_pack_id)
         from pots.pots p where p.id = $1",
    )
    .bind(pot_id)
    .fetch_one(&mut *conn)
    .await?;
    let request = NotificationRequested::to_user(owner, "pot_funded")
        .var("first_name", greeting(conn, owner).await?)
        .var("pot_title", title)
        .var("raised_cfa", raised)
        .var(
            "pack_name",
            pack.unwrap_or_else(|| "Cadeau WOLO".to_string()),
        );
    events::publish(conn, &request, SOURCE).await?;
    Ok(())
}

/// Why [`close_pot`] did not close a pot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseError {
    NotFound,
    /// Closed already (the status it has).
    AlreadyClosed,
}

/// Closes a pot (scheduled, open, funded or expired) at `now` for `reason`, and publishes
/// `pot.closed`, in the caller's transaction. The row is locked first, so a close racing the
/// lifecycle job or another close applies once.
pub async fn close_pot(
    conn: &mut PgConnection,
    pot_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), CloseError>> {
    let status: Option<Option<String>> =
        sqlx::query_scalar("select status from pots.pots where id = $1 for update")
            .bind(pot_id)
            .fetch_optional(&mut *conn)
            .await?;
    match status {
        None => return Ok(Err(CloseError::NotFound)),
        Some(Some(s)) if s == "closed" => return Ok(Err(CloseError::AlreadyClosed)),
        _ => {}
    }
    let (owner, raised, pack, birthday): (Uuid, i32, Option<Uuid>, NaiveDate) = sqlx::query_as(
        "update pots.pots set status = 'closed', closed_at = $2
         where id = $1 and status in ('scheduled', 'open', 'funded', 'expired')
         returning owner_user_id, raised_amount_cfa, preferred_pack_id, birthday_date",
    )
    .bind(pot_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let closed = PotClosed {
        pot_id,
        owner_user_id: owner,
        reason: reason.to_string(),
        raised_amount_cfa: i64::from(raised),
        preferred_pack_id: pack,
        birthday_date: birthday,
    };
    events::publish(conn, &closed, SOURCE).await?;
    Ok(Ok(()))
}
