//! The qr jobs: expiry of codes and partner settlements. Each is `<job>_once(pool, now)`;
//! `spawn_jobs` runs them every five minutes. Safe with several replicas (conditional
//! updates; settlements lock the partner row with `skip locked` and are unique per period).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once):
/// the consumer `qr.pots`, and every 5 minutes the expiry of codes and the partner
/// settlements.
pub fn spawn_jobs(ctx: &platform::Context) {
    let cfg = ctx.settings::<crate::QrSettings>();
    crate::issue::consumer(cfg.secret.clone(), cfg.links.clone())
        .spawn(ctx.db.clone(), platform::outbox::watcher(ctx));
    let pool = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        crate::NAME,
        "expire_codes",
        std::time::Duration::from_secs(300),
        move || {
            let pool = pool.clone();
            async move { expire_codes_once(&pool, chrono::Utc::now()).await }
        },
    );
    let pool = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        crate::NAME,
        "build_settlements",
        std::time::Duration::from_secs(300),
        move || {
            let pool = pool.clone();
            async move { build_settlements_once(&pool, chrono::Utc::now()).await }
        },
    );
}

/// Codes still `issued` whose `expires_at` has passed become `expired`. Returns how many.
pub async fn expire_codes_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "update qr.qr_codes set status = 'expired' where status = 'issued' and expires_at <= $1",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}

/// A settlement period's payment terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terms {
    Weekly,
    Monthly,
    Quarterly,
}

impl Terms {
    /// `weekly`, `quarterly`, anything else (and NULL) = `monthly`.
    pub fn parse(s: Option<&str>) -> Terms {
        match s {
            Some("weekly") => Terms::Weekly,
            Some("quarterly") => Terms::Quarterly,
            _ => Terms::Monthly,
        }
    }

    /// The first day of the period containing `d` (weeks start on Monday).
    pub fn period_start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Terms::Weekly => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Terms::Monthly => d.with_day(1).expect("day 1 exists"),
            Terms::Quarterly => {
                NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).expect("valid")
            }
        }
    }

    /// The last day of the period containing `d`.
    pub fn period_end(self, d: NaiveDate) -> NaiveDate {
        match self {
            Terms::Weekly => self.period_start(d) + Duration::days(6),
            Terms::Monthly | Terms::Quarterly => {
                let months = if self == Terms::Monthly { 1 } else { 3 };
                let start = self.period_start(d);
                let m0 = start.month0() + months;
                let next = NaiveDate::from_ymd_opt(start.year() + (m0 / 12) as i32, m0 % 12 + 1, 1)
                    .expect("valid");
                next - Duration::days(1)
            }
        }
    }
}

/// The split of a period's revenue: the partner's share is floored, WOLO's commission is the
/// remainder, so share + commission = revenue to the franc. `pct_hundredths` is the
/// percentage × 100 (67.5 % → 6750).
pub fn split(revenue: i64, pct_hundredths: i64) -> (i64, i64) {
    let share = revenue * pct_hundredths / 10_000;
    (share, revenue - share)
}

/// What is paid and what is carried to the next period: everything owed (`carried_in +
/// share`) when it reaches `minimum`, else nothing.
pub fn payout(carried_in: i64, share: i64, minimum: i64) -> (i64, i64) {
    let owed = carried_in + share;
    if owed > 0 && owed >= minimum {
        (owed, 0)
    } else {
        (0, owed)
    }
}

/// Builds the settlements of every finished period (Africa/Dakar dates) not built yet, per
/// partner, from the codes redeemed at the partner. Returns how many rows were created.
/// Re-running creates nothing new.
pub async fn build_settlements_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let today = platform::calendar::dakar_day(now);
    let partners: Vec<Uuid> = sqlx::query_scalar(
        "select distinct redeemed_by_partner_id from qr.qr_codes
         where status = 'redeemed' and redeemed_by_partner_id is not null",
    )
    .fetch_all(pool)
    .await?;
    let mut created = 0;
    for partner in partners {
        created += settle_partner(pool, partner, today).await?;
    }
    Ok(created)
}

async fn settle_partner(pool: &PgPool, partner: Uuid, today: NaiveDate) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    // One run per partner at a time: the partner row locked FOR UPDATE SKIP LOCKED (as its
    // owner: V102); another run holding it skips the partner.
    let locked: bool = sqlx::query_scalar("select qr.lock_partner_for_settlement($1)")
        .bind(partner)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let p = sqlx::query(
        "select payment_terms, (revenue_split_percentage * 100)::bigint as pct,
                coalesce(minimum_payout_cfa, 0)::bigint as minimum
         from packs.partners where id = $1",
    )
    .bind(partner)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(p) = p else { return Ok(0) };
    let terms = Terms::parse(p.get::<Option<String>, _>("payment_terms").as_deref());
    let pct: i64 = p.get("pct");
    let minimum: i64 = p.get("minimum");
    let last = sqlx::query(
        "select period_end, carried_out_cfa from qr.partner_settlements
         where partner_id = $1 order by period_end desc limit 1",
    )
    .bind(partner)
    .fetch_optional(&mut *tx)
    .await?;
    let (mut start, mut carry) = match last {
        Some(l) => (
            l.get::<NaiveDate, _>("period_end") + Duration::days(1),
            i64::from(l.get::<i32, _>("carried_out_cfa")),
        ),
        None => {
            let first: Option<NaiveDate> = sqlx::query_scalar(
                "select min((redeemed_at at time zone 'Africa/Dakar')::date) from qr.qr_codes
                 where redeemed_by_partner_id = $1 and status = 'redeemed'",
            )
            .bind(partner)
            .fetch_one(&mut *tx)
            .await?;
            match first {
                Some(f) => (terms.period_start(f), 0),
                None => return Ok(0),
            }
        }
    };
    let mut created = 0;
    loop {
        let end = terms.period_end(start);
        if end >= today {
            break;
        }
        let figures = sqlx::query(
            "select count(*)::bigint as n,
                    coalesce(sum(coalesce(price_cfa, packs.effective_price_cfa(pack_id))), 0)::bigint as revenue
             from qr.qr_codes
             where redeemed_by_partner_id = $1 and status = 'redeemed'
               and (redeemed_at at time zone 'Africa/Dakar')::date between $2 and $3",
        )
        .bind(partner)
        .bind(start)
        .bind(end)
        .fetch_one(&mut *tx)
        .await?;
        let n: i64 = figures.get("n");
        let revenue: i64 = figures.get("revenue");
        if n > 0 || carry > 0 {
            let (share, commission) = split(revenue, pct);
            let (pay, carried_out) = payout(carry, share, minimum);
            let status = if pay > 0 { "pending" } else { "carried_over" };
            created += sqlx::query(
                "insert into qr.partner_settlements
                    (partner_id, period_start, period_end, total_redemptions_count,
                     total_revenue_cfa, partner_share_cfa, wolo_commission_cfa, status,
                     carried_in_cfa, payout_cfa, carried_out_cfa)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 on conflict (partner_id, period_start, period_end) do nothing",
            )
            .bind(partner)
            .bind(start)
            .bind(end)
            .bind(n as i32)
            .bind(revenue as i32)
            .bind(share as i32)
            .bind(commission as i32)
            .bind(status)
            .bind(carry as i32)
            .bind(pay as i32)
            .bind(carried_out as i32)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            carry = carried_out;
        }
        start = end + Duration::days(1);
    }
    tx.commit().await?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_split_loses_no_franc() {
        // 3 redemptions of 3 333 CFA at 67.5 %: 9 999 → 6 749 (6 749.325 floored) + 3 250.
        assert_eq!(split(9_999, 6_750), (6_749, 3_250));
        for revenue in [0, 1, 7, 3_333, 9_999, 123_457] {
            for pct in [0, 1, 3_333, 6_750, 9_999, 10_000] {
                let (s, c) = split(revenue, pct);
                assert_eq!(s + c, revenue);
                assert!(s >= 0 && c >= 0);
            }
        }
    }

    #[test]
    fn periods() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(); // a Thursday
        assert_eq!(
            Terms::Weekly.period_start(d),
            NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
        );
        assert_eq!(
            Terms::Weekly.period_end(d),
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
        );
        assert_eq!(
            Terms::Monthly.period_end(d),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(
            Terms::Quarterly.period_start(d),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert_eq!(
            Terms::Quarterly.period_end(d),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert_eq!(payout(0, 6_749, 10_000), (0, 6_749));
        assert_eq!(payout(6_749, 6_749, 10_000), (13_498, 0));
    }
}
