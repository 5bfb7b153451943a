//! Analytics jobs: daily business metrics, funnels, A/B results and the archive
//! partitions. Each `*_once` takes the time or day to compute, so tests choose it;
//! reruns upsert the same rows.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sqlx::PgPool;

/// Start of a Dakar day, in UTC.
pub use platform::calendar::dakar_midnight as day_start;

/// The Dakar calendar day of `now`.
pub use platform::calendar::dakar_day;

/// SQL for the age group of a birth date `$dob` on the day `$day` (full years by
/// `wolo.age_years`: dates, never intervals).
const AGE_GROUP: &str = "case when {dob} is null then null
    when wolo.age_years({dob}, {day}) < 18 then 'under_18'
    when wolo.age_years({dob}, {day}) <= 25 then '18-25'
    when wolo.age_years({dob}, {day}) <= 35 then '26-35'
    when wolo.age_years({dob}, {day}) <= 45 then '36-45'
    when wolo.age_years({dob}, {day}) <= 60 then '46-60'
    else '60+' end";

fn age_group(dob: &str, day: &str) -> String {
    AGE_GROUP.replace("{dob}", dob).replace("{day}", day)
}

/// Computes `business_metrics` of the Dakar day `day` (overall `{}`, per `region` and
/// per `age_group`): daily_active_users, new_users, pots_opened, amount_raised_cfa,
/// average_donation_cfa, donations, funded_rate; previous_period_value is the same
/// metric and dimensions the day before. Returns the number of rows written.
pub async fn business_metrics_once(pool: &PgPool, day: NaiveDate) -> anyhow::Result<u64> {
    let sql = format!(
        "with ev as (
            select e.event_name, e.properties, coalesce(e.user_id::text, e.anonymous_id) as subject,
                   -- Active users: client events, and users acting in domain events
                   -- (creating a pot, donating, accepting an invitation).
                   (e.source_event_id is null or e.event_name in
                       ('pot_created', 'donation_made', 'referral_accepted')) as e_client,
                   coalesce(e.region, (select a.region from profiles.user_addresses a
                        where a.user_id = e.user_id and a.region is not null
                        order by a.is_default desc nulls last, a.created_at limit 1), 'unknown') as region,
                   coalesce((select {ag} from profiles.profiles p where p.user_id = e.user_id), 'unknown') as age_group
            from analytics.analytics_events e
            where e.timestamp >= $1 and e.timestamp < $2
        ),
        agg as (
            select region, age_group, grouping(region) as gr, grouping(age_group) as ga,
                   count(distinct subject) filter (where e_client) as dau,
                   count(distinct properties->>'pot_id') filter (where event_name = 'pot_opened') as opened,
                   coalesce(sum((properties->>'amount_cfa')::bigint) filter (where event_name = 'donation_made'), 0) as raised,
                   count(*) filter (where event_name = 'donation_made') as donations,
                   count(distinct properties->>'pot_id') filter (where event_name = 'pot_funded') as funded,
                   count(distinct properties->>'pot_id') filter (where event_name = 'pot_expired') as expired
            from ev group by grouping sets ((), (region), (age_group))
        ),
        nu as (
            select coalesce((select a.region from profiles.user_addresses a
                        where a.user_id = u.id and a.region is not null
                        order by a.is_default desc nulls last, a.created_at limit 1), 'unknown') as region,
                   coalesce((select {ag} from profiles.profiles p where p.user_id = u.id), 'unknown') as age_group
            from identity.users u where u.created_at >= $1 and u.created_at < $2
        ),
        nagg as (
            select region, age_group, grouping(region) as gr, grouping(age_group) as ga, count(*) as n
            from nu group by grouping sets ((), (region), (age_group))
        ),
        m as (
            select a.gr, a.ga, a.region, a.age_group, v.metric_type, v.value, v.cnt
            from agg a cross join lateral (values
                ('daily_active_users', a.dau::numeric, a.dau),
                ('pots_opened', a.opened::numeric, a.opened),
                ('amount_raised_cfa', a.raised::numeric, a.donations),
                ('donations', a.donations::numeric, a.donations),
                ('average_donation_cfa', case when a.donations = 0 then 0
                     else round(a.raised::numeric / a.donations, 4) end, a.donations),
                ('funded_rate', case when a.funded + a.expired = 0 then 0
                     else round(a.funded::numeric / (a.funded + a.expired), 4) end, a.funded + a.expired)
            ) as v(metric_type, value, cnt)
            union all
            select gr, ga, region, age_group, 'new_users', n::numeric, n from nagg
        ),
        d as (
            select m.*, case
                when m.gr = 1 and m.ga = 1 then '{{}}'::jsonb
                when m.gr = 0 then jsonb_build_object('region', m.region)
                else jsonb_build_object('age_group', m.age_group) end as dims
            from m
        )
        insert into analytics.business_metrics as b
            (metric_date, metric_type, metric_value, metric_count, dimensions,
             previous_period_value, period_over_period_change)
        select $3, d.metric_type, d.value, d.cnt, d.dims, prev.metric_value,
               case when prev.metric_value is null or prev.metric_value = 0 then null
                    else greatest(-9999, least(9999, round((d.value - prev.metric_value) / prev.metric_value, 4))) end
        from d
        left join analytics.business_metrics prev
          on prev.metric_date = $3 - 1 and prev.metric_type = d.metric_type and prev.dimensions = d.dims
        on conflict (metric_date, metric_type, dimensions) do update set
            metric_value = excluded.metric_value,
            metric_count = excluded.metric_count,
            previous_period_value = excluded.previous_period_value,
            period_over_period_change = excluded.period_over_period_change",
        ag = age_group("p.date_of_birth", "$3::date")
    );
    let r = sqlx::query(&sql)
        .bind(day_start(day))
        .bind(day_start(day + Duration::days(1)))
        .bind(day)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// Writes `funnel_analytics` for the period `[start, end]` (Dakar days, inclusive):
/// - `sponsorship_conversion`: invitations sent in the period → accepted → the sponsored
///   user's pot opened → that pot's first donation;
/// - `pot_creation`: users who signed up in the period → created a pot → pot opened →
///   first donation → funded.
///
/// Each step's `users_entered` is the previous step's `users_completed` (the first step's
/// is the cohort); later steps count what happened up to now. Returns rows written.
pub async fn funnel_analytics_once(
    pool: &PgPool,
    start: NaiveDate,
    end: NaiveDate,
) -> anyhow::Result<u64> {
    let sql = "with
        owners as (
            select distinct e.properties->>'pot_id' as pot_id, e.user_id as owner
            from analytics.analytics_events e
            where e.event_name in ('pot_created', 'pot_opened', 'pot_funded') and e.user_id is not null
              and e.properties ? 'pot_id'
        ),
        opened_users as (
            select distinct e.user_id from analytics.analytics_events e where e.event_name = 'pot_opened'
        ),
        created_users as (
            select distinct e.user_id from analytics.analytics_events e where e.event_name = 'pot_created'
        ),
        funded_users as (
            select distinct e.user_id from analytics.analytics_events e where e.event_name = 'pot_funded'
        ),
        donated_users as (
            select distinct o.owner as user_id
            from analytics.analytics_events e join owners o on o.pot_id = e.properties->>'pot_id'
            where e.event_name = 'donation_made'
        ),
        invited as (
            select r.id, r.status, r.sponsored_user_id from referral.referrals r
            where r.sent_at >= $1 and r.sent_at < $2
        ),
        accepted as (
            select distinct sponsored_user_id as user_id from invited
            where sponsored_user_id is not null and status = 'accepted'
        ),
        s as (
            select (select count(*) from invited) as invited,
                   (select count(*) from accepted) as accepted,
                   (select count(*) from accepted a where a.user_id in (select user_id from opened_users)) as opened,
                   (select count(*) from accepted a where a.user_id in (select user_id from opened_users)
                        and a.user_id in (select user_id from donated_users)) as donated
        ),
        cohort as (select u.id from identity.users u where u.created_at >= $1 and u.created_at < $2),
        p as (
            select (select count(*) from cohort) as signed_up,
                   (select count(*) from cohort c where c.id in (select user_id from created_users)) as created,
                   (select count(*) from cohort c where c.id in (select user_id from created_users)
                        and c.id in (select user_id from opened_users)) as opened,
                   (select count(*) from cohort c where c.id in (select user_id from created_users)
                        and c.id in (select user_id from opened_users)
                        and c.id in (select user_id from donated_users)) as donated,
                   (select count(*) from cohort c where c.id in (select user_id from created_users)
                        and c.id in (select user_id from opened_users)
                        and c.id in (select user_id from donated_users)
                        and c.id in (select user_id from funded_users)) as funded
        ),
        steps as (
            select 'sponsorship_conversion' as funnel, v.* from s cross join lateral (values
                (1, 'invited', s.invited, s.invited),
                (2, 'accepted', s.invited, s.accepted),
                (3, 'pot_opened', s.accepted, s.opened),
                (4, 'first_donation', s.opened, s.donated)) as v(step, name, entered, completed)
            union all
            select 'pot_creation', v.* from p cross join lateral (values
                (1, 'signed_up', p.signed_up, p.signed_up),
                (2, 'pot_created', p.signed_up, p.created),
                (3, 'pot_opened', p.created, p.opened),
                (4, 'first_donation', p.opened, p.donated),
                (5, 'pot_funded', p.donated, p.funded)) as v(step, name, entered, completed)
        )
        insert into analytics.funnel_analytics
            (funnel_name, step_number, step_name, period_start, period_end,
             users_entered, users_completed, completion_rate, segment_filters)
        select funnel, step, name, $3, $4, entered, completed,
               case when entered = 0 then null else round(completed::numeric / entered, 4) end, '{}'::jsonb
        from steps
        on conflict (funnel_name, step_number, period_start, period_end, segment_filters) do update set
            step_name = excluded.step_name,
            users_entered = excluded.users_entered,
            users_completed = excluded.users_completed,
            completion_rate = excluded.completion_rate";
    let r = sqlx::query(sql)
        .bind(day_start(start))
        .bind(day_start(end + Duration::days(1)))
        .bind(start)
        .bind(end)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// How long events stay in the hot table before moving to the archive.
pub const HOT_DAYS: i64 = 90;
/// How long archived events are kept (months).
pub const RETENTION_MONTHS: u32 = 24;

/// What [`partitions_once`] did.
#[derive(Debug, Default, PartialEq)]
pub struct PartitionRun {
    pub moved: u64,
    pub dropped: Vec<String>,
    pub deleted_expired: u64,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("first of month")
}

fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let m0 = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1, 1).expect("month")
}

/// Archive maintenance at `now`: creates the archive partitions of every month from the
/// oldest hot event to 2 months ahead, moves events older than [`HOT_DAYS`] into the
/// archive (one transaction), drops archive partitions whose month ended more than
/// [`RETENTION_MONTHS`] ago and deletes hot events past retention.
pub async fn partitions_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<PartitionRun> {
    let mut run = PartitionRun::default();
    let cutoff = now - Duration::days(HOT_DAYS);
    let today = now.date_naive();
    let retention_start = add_months(month_start(today), -(RETENTION_MONTHS as i32));
    let retention_ts =
        Utc.from_utc_datetime(&retention_start.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut tx = pool.begin().await?;
    // One maintenance run at a time across replicas.
    platform::db::xact_lock(&mut tx, "analytics.partitions").await?;
    let del = sqlx::query("delete from analytics.analytics_events where timestamp < $1")
        .bind(retention_ts)
        .execute(&mut *tx)
        .await?;
    run.deleted_expired = del.rows_affected();
    let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select min(timestamp) from analytics.analytics_events where timestamp < $1",
    )
    .bind(cutoff)
    .fetch_one(&mut *tx)
    .await?;
    let mut month = month_start(oldest.map(|t| t.date_naive()).unwrap_or(today));
    let last = add_months(month_start(today), 2);
    while month <= last {
        sqlx::query("select analytics.ensure_archive_partition($1)")
            .bind(month)
            .execute(&mut *tx)
            .await?;
        month = add_months(month, 1);
    }
    let moved = sqlx::query(
        "with moved as (delete from analytics.analytics_events where timestamp < $1 returning *)
         insert into analytics.analytics_events_archive select * from moved",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    run.moved = moved.rows_affected();
    let parts: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_inherits i
           join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'analytics.analytics_events_archive'::regclass order by 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    for p in parts {
        let Some(suffix) = p.strip_prefix("analytics_events_archive_") else {
            continue;
        };
        let Ok(m) = NaiveDate::parse_from_str(&format!("{suffix}_01"), "%Y_%m_%d") else {
            continue;
        };
        if add_months(m, 1) <= retention_start {
            // As the owner (V102): the service's role owns no table.
            sqlx::query("select analytics.drop_archive_partition($1)")
                .bind(&p)
                .execute(&mut *tx)
                .await?;
            run.dropped.push(p);
        }
    }
    tx.commit().await?;
    Ok(run)
}

/// How often the analytics jobs run.
pub const JOB_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Starts the outbox consumer `analytics.domain` and the jobs loop (metrics, funnels,
/// A/B results, archive partitions) every 15 minutes.
pub fn spawn_jobs(ctx: &platform::Context) {
    crate::domain::consumer().spawn(ctx.db.clone(), platform::outbox::watcher(ctx));
    let pool = ctx.db.clone();
    platform::jobs::every(&ctx.db, crate::NAME, "run_all", JOB_INTERVAL, move || {
        let pool = pool.clone();
        async move { run_all_once(&pool, chrono::Utc::now()).await }
    });
}

/// Runs the daily jobs at `now`: metrics of yesterday and today (so far), funnels of the
/// last 30 days and of the current month, A/B results, archive maintenance.
pub async fn run_all_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
    let today = dakar_day(now);
    business_metrics_once(pool, today - Duration::days(1)).await?;
    business_metrics_once(pool, today).await?;
    funnel_analytics_once(pool, today - Duration::days(30), today - Duration::days(1)).await?;
    funnel_analytics_once(pool, month_start(today), today).await?;
    crate::ab::results_once(pool, now).await?;
    partitions_once(pool, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_years() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        assert_eq!(
            add_months(month_start(d), -1),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
        assert_eq!(
            add_months(month_start(d), -24),
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        );
        assert_eq!(
            add_months(month_start(d), 13),
            NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()
        );
    }
}
