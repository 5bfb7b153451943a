//! The daily `pot_analytics` snapshot of open and funded pots.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use sqlx::PgPool;

/// Upserts one `pot_analytics` row per open or funded pot for the day `now` falls on in
/// Dakar (`unique (pot_id, snapshot_date)`: running it again the same day refreshes the
/// row). `conversion_rate` = donations / views, rounded to 4 decimals and capped at 9.9999
/// (the column is `decimal(5,4)`); NULL while the pot has no view. Returns the rows written.
pub async fn snapshot_once(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let day: NaiveDate = now.with_timezone(&Dakar).date_naive();
    let n = sqlx::query(
        "insert into pots.pot_analytics
             (pot_id, snapshot_date, total_raised_cfa, donor_count, view_count, share_count,
              conversion_rate)
         select id, $1, raised_amount_cfa, donor_count, coalesce(view_count, 0),
                coalesce(share_count, 0),
                case when coalesce(view_count, 0) > 0
                     then least(round(donor_count::numeric / view_count, 4), 9.9999) end
         from pots.pots
         where status in ('open', 'funded')
         on conflict (pot_id, snapshot_date) do update
         set total_raised_cfa = excluded.total_raised_cfa,
             donor_count = excluded.donor_count,
             view_count = excluded.view_count,
             share_count = excluded.share_count,
             conversion_rate = excluded.conversion_rate",
    )
    .bind(day)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}
