//! Background jobs: expiry of unpaid donations, donation analytics, and with PayDunya the
//! start of phone payments, the reconciliation of pending PayDunya donations and the
//! follow-up of payouts (refunds); the purge of USSD sessions. Each is a `*_once(pool,
//! now)` function (tests drive it with a chosen `now`) that [`spawn_jobs`] runs periodically.

use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as CDuration, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;

use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::NAME;

/// A pending donation without a Wave session (the checkout died between its two steps) is
/// failed after this long.
pub const ABANDONED_AFTER_MINUTES: i32 = 60;

/// Fails donations still `pending` whose Wave session expired before `now` (or that never got
/// a session), publishing `donation.failed` for each. Safe with several replicas (SKIP LOCKED
/// and a conditional update). Returns how many were failed.
pub async fn expire_pending_once(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "with due as (
             select id from donations.donations
             where status = 'pending'
               and (wave_session_expires_at < $1
                    or (wave_session_id is null and initiated_at < $1 - make_interval(mins => $2)
                        -- PayDunya's invoices are confirmed, then failed, by paydunya_ipn::reconcile_once.
                        and (payment_provider = 'wave' or provider_token is null)))
             order by initiated_at
             limit 500
             for update skip locked)
         update donations.donations d
         set status = 'failed', failed_at = $1,
             failure_reason = case when d.wave_session_id is null then 'checkout_abandoned'
                                   else 'session_expired' end
         from due
         where d.id = due.id and d.status = 'pending'
         returning d.id, d.pot_id, d.failure_reason",
    )
    .bind(now)
    .bind(ABANDONED_AFTER_MINUTES)
    .fetch_all(&mut *tx)
    .await?;
    for r in &rows {
        let id: Uuid = r.get(0);
        // `donation.failed` (DonationFailed's shape), and for a USSD or SMS donor the SMS
        // saying nothing was taken (V119).
        sqlx::query("select donations.publish_failed($1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// The periods (type, first day, last day) around `today` that analytics recompute: the
/// current and the previous day, ISO week and month.
pub fn periods(today: NaiveDate) -> Vec<(&'static str, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    for d in [today, today - CDuration::days(1)] {
        out.push(("daily", d, d));
    }
    let week = today - CDuration::days(today.weekday().num_days_from_monday() as i64);
    for w in [week, week - CDuration::days(7)] {
        out.push(("weekly", w, w + CDuration::days(6)));
    }
    let month = today.with_day(1).unwrap();
    let prev = (month - CDuration::days(1)).with_day(1).unwrap();
    for m in [month, prev] {
        let next = if m.month() == 12 {
            NaiveDate::from_ymd_opt(m.year() + 1, 1, 1).unwrap()
        } else {
            NaiveDate::from_ymd_opt(m.year(), m.month() + 1, 1).unwrap()
        };
        out.push(("monthly", m, next - CDuration::days(1)));
    }
    out
}

/// Recomputes (upserts) `donation_analytics` for the periods around `now` (Africa/Dakar
/// dates, by `initiated_at`): total of succeeded donations, all donations started, distinct
/// donors of succeeded ones, average, success rate (succeeded or refunded / started), and the
/// succeeded total per region (the donor's default address, else the pot owner's, else
/// "Inconnue"). Returns the number of rows written.
pub async fn donation_analytics_once(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let today = now.with_timezone(&Dakar).date_naive();
    let mut tx = pool.begin().await?;
    let mut n = 0;
    for (kind, start, end) in periods(today) {
        n += sqlx::query(
            "with d as (
                 select d.*, coalesce(
                     (select a.region from profiles.user_addresses a
                       where a.user_id = d.donor_user_id and a.region is not null
                       order by a.is_default desc nulls last, a.created_at limit 1),
                     (select a.region from profiles.user_addresses a join pots.pots p on p.owner_user_id = a.user_id
                       where p.id = d.pot_id and a.region is not null
                       order by a.is_default desc nulls last, a.created_at limit 1),
                     'Inconnue') as region
                 from donations.donations d
                 where (d.initiated_at at time zone 'Africa/Dakar')::date between $2 and $3),
             ok as (select * from d where status = 'succeeded'),
             regions as (select region, sum(amount_cfa)::bigint as amount from ok group by region)
             insert into donations.donation_analytics
                 (period_type, period_start, period_end, total_amount_cfa, transaction_count,
                  unique_donors, average_donation_cfa, success_rate, region_breakdown)
             select $1, $2, $3,
                    (select coalesce(sum(amount_cfa), 0) from ok),
                    (select count(*) from d),
                    (select count(distinct coalesce(donor_user_id::text, donor_phone, id::text)) from ok),
                    (select coalesce(round(avg(amount_cfa)), 0)::int from ok),
                    (select case when count(*) = 0 then null
                                 else round((count(*) filter (where status in ('succeeded', 'refunded')))::numeric
                                            / count(*), 4) end from d),
                    coalesce((select jsonb_object_agg(region, amount) from regions), '{}'::jsonb)
             on conflict (period_type, period_start, period_end) do update
                 set total_amount_cfa = excluded.total_amount_cfa,
                     transaction_count = excluded.transaction_count,
                     unique_donors = excluded.unique_donors,
                     average_donation_cfa = excluded.average_donation_cfa,
                     success_rate = excluded.success_rate,
                     region_breakdown = excluded.region_breakdown",
        )
        .bind(kind)
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(n)
}

/// How often the expiry job runs.
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);
/// How often analytics are recomputed.
pub const ANALYTICS_INTERVAL: Duration = Duration::from_secs(900);

/// Starts the expiry job (every minute) and the analytics job (every 15 minutes).
/// How often pending PayDunya donations are confirmed, and phone payments started.
pub const PAYDUNYA_INTERVAL: Duration = Duration::from_secs(30);
/// How often old USSD sessions are erased.
pub const USSD_PURGE_INTERVAL: Duration = Duration::from_secs(3600);

pub fn spawn_jobs(ctx: &platform::Context) {
    let cfg = ctx.settings::<crate::DonationsConfig>();
    if let Some(p) = cfg.paydunya.clone() {
        let paydunya = crate::paydunya::PayDunya::new(p);
        let links = cfg.links.clone();
        let db = ctx.db.clone();
        platform::jobs::every(
            &ctx.db,
            NAME,
            "paydunya_reconcile",
            PAYDUNYA_INTERVAL,
            move || {
                let (db, paydunya, links) = (db.clone(), paydunya.clone(), links.clone());
                async move {
                    let started =
                        crate::ussd::start_phone_payments_once(&db, &paydunya, &links).await?;
                    let confirmed =
                        crate::paydunya_ipn::reconcile_once(&db, &paydunya, Utc::now()).await?;
                    let paid_back = crate::refunds::payouts_once(&db, &paydunya).await?;
                    Ok(started + confirmed + paid_back)
                }
            },
        );
    }
    let db = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        NAME,
        "ussd_purge",
        USSD_PURGE_INTERVAL,
        move || {
            let db = db.clone();
            async move { Ok(crate::ussd::purge_sessions_once(&db).await?) }
        },
    );
    let db = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        NAME,
        "expire_pending",
        EXPIRY_INTERVAL,
        move || {
            let db = db.clone();
            async move { Ok(expire_pending_once(&db, Utc::now()).await?) }
        },
    );
    let db = ctx.db.clone();
    platform::jobs::every(&ctx.db, NAME, "analytics", ANALYTICS_INTERVAL, move || {
        let db = db.clone();
        async move { Ok(donation_analytics_once(&db, Utc::now()).await?) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_day_week_month() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(); // a Sunday
        let p = periods(d);
        assert_eq!(p[0], ("daily", d, d));
        assert_eq!(p[2].1, NaiveDate::from_ymd_opt(2026, 2, 23).unwrap());
        assert_eq!(p[2].2, d);
        assert_eq!(
            p[4],
            ("monthly", d, NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())
        );
        assert_eq!(p[5].1, NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(p[5].2, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    }
}
