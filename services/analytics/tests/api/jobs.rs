use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use analytics::jobs;

use crate::{stack, user};

async fn event(
    pool: &PgPool,
    name: &str,
    user: Option<Uuid>,
    anon: Option<&str>,
    props: Value,
    at: chrono::DateTime<Utc>,
    region: Option<&str>,
) {
    sqlx::query(
        "insert into analytics.analytics_events (event_name, event_category, user_id, anonymous_id, properties, timestamp, region)
         values ($1, 'test', $2, $3, $4, $5, $6)",
    )
    .bind(name)
    .bind(user)
    .bind(anon)
    .bind(props)
    .bind(at)
    .bind(region)
    .execute(pool)
    .await
    .unwrap();
}

async fn metric(
    pool: &PgPool,
    day: NaiveDate,
    t: &str,
    dims: Value,
) -> (f64, Option<i32>, Option<f64>, Option<f64>) {
    sqlx::query_as(
        "select metric_value::float8, metric_count, previous_period_value::float8, period_over_period_change::float8
           from analytics.business_metrics where metric_date = $1 and metric_type = $2 and dimensions = $3",
    )
    .bind(day)
    .bind(t)
    .bind(dims)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{t} {day}: {e}"))
}

#[tokio::test]
async fn daily_metrics_add_up_per_dimension_and_compare_with_the_day_before() {
    let s = stack().await;
    let pool = &s.db.pool;
    let d1 = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let d2 = d1 + Duration::days(1);
    let t1 = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    let t2 = t1 + Duration::days(1);
    let a = user(pool, "+221770000101", "2000-03-01", Some("Dakar")).await; // 26 → 26-35
    let b = user(pool, "+221770000102", "1980-03-01", Some("Thiès")).await; // 46 → 46-60
    sqlx::query("update identity.users set created_at = $1 where id = $2")
        .bind(t2)
        .bind(b)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("update identity.users set created_at = $1 where id = $2")
        .bind(t1 - Duration::days(30))
        .bind(a)
        .execute(pool)
        .await
        .unwrap();

    // Day 1: one active user, 1 donation of 2,000.
    event(pool, "page_view", Some(a), None, json!({}), t1, None).await;
    event(
        pool,
        "donation_made",
        Some(a),
        None,
        json!({"pot_id": "p0", "amount_cfa": 2000}),
        t1,
        None,
    )
    .await;
    // Day 2: a, b and an anonymous visitor; two pots opened (one twice: counted once);
    // donations 3,000 + 6,000 + 1,500; one pot funded, one expired.
    event(pool, "page_view", Some(a), None, json!({}), t2, None).await;
    event(pool, "page_view", Some(b), None, json!({}), t2, None).await;
    event(
        pool,
        "page_view",
        None,
        Some("anon-9"),
        json!({}),
        t2,
        Some("Dakar"),
    )
    .await;
    event(
        pool,
        "pot_opened",
        Some(a),
        None,
        json!({"pot_id": "p1"}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "pot_opened",
        Some(a),
        None,
        json!({"pot_id": "p1"}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "pot_opened",
        Some(b),
        None,
        json!({"pot_id": "p2"}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "donation_made",
        Some(a),
        None,
        json!({"pot_id": "p1", "amount_cfa": 3000}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "donation_made",
        Some(b),
        None,
        json!({"pot_id": "p2", "amount_cfa": 6000}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "donation_made",
        None,
        Some("anon-9"),
        json!({"pot_id": "p2", "amount_cfa": 1500}),
        t2,
        Some("Dakar"),
    )
    .await;
    event(
        pool,
        "pot_funded",
        Some(b),
        None,
        json!({"pot_id": "p2"}),
        t2,
        None,
    )
    .await;
    event(
        pool,
        "pot_expired",
        Some(a),
        None,
        json!({"pot_id": "p9"}),
        t2,
        None,
    )
    .await;
    // Outside both days.
    event(
        pool,
        "page_view",
        None,
        Some("anon-late"),
        json!({}),
        t2 + Duration::days(1),
        None,
    )
    .await;

    jobs::business_metrics_once(&testkit::service_pool_of(pool, "analytics"), d1)
        .await
        .unwrap();
    jobs::business_metrics_once(&testkit::service_pool_of(pool, "analytics"), d2)
        .await
        .unwrap();
    // Reruns change nothing.
    let before: i64 = sqlx::query_scalar("select count(*) from analytics.business_metrics")
        .fetch_one(pool)
        .await
        .unwrap();
    jobs::business_metrics_once(&testkit::service_pool_of(pool, "analytics"), d2)
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from analytics.business_metrics")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(before, after);

    let all = json!({});
    assert_eq!(
        metric(pool, d1, "daily_active_users", all.clone()).await.0,
        1.0
    );
    let dau = metric(pool, d2, "daily_active_users", all.clone()).await;
    assert_eq!((dau.0, dau.2, dau.3), (3.0, Some(1.0), Some(2.0)));
    assert_eq!(metric(pool, d2, "pots_opened", all.clone()).await.0, 2.0);
    let raised = metric(pool, d2, "amount_raised_cfa", all.clone()).await;
    assert_eq!(
        (raised.0, raised.1, raised.2),
        (10500.0, Some(3), Some(2000.0))
    );
    assert_eq!(
        metric(pool, d2, "average_donation_cfa", all.clone())
            .await
            .0,
        3500.0
    );
    assert_eq!(metric(pool, d2, "funded_rate", all.clone()).await.0, 0.5);
    assert_eq!(metric(pool, d2, "new_users", all.clone()).await.0, 1.0);
    assert_eq!(metric(pool, d1, "new_users", all.clone()).await.0, 0.0);
    // Per region: a and the anonymous visitor in Dakar, b in Thiès.
    assert_eq!(
        metric(pool, d2, "daily_active_users", json!({"region": "Dakar"}))
            .await
            .0,
        2.0
    );
    assert_eq!(
        metric(pool, d2, "amount_raised_cfa", json!({"region": "Dakar"}))
            .await
            .0,
        4500.0
    );
    assert_eq!(
        metric(pool, d2, "amount_raised_cfa", json!({"region": "Thiès"}))
            .await
            .0,
        6000.0
    );
    assert_eq!(
        metric(pool, d2, "new_users", json!({"region": "Thiès"}))
            .await
            .0,
        1.0
    );
    // Per age group.
    assert_eq!(
        metric(pool, d2, "amount_raised_cfa", json!({"age_group": "46-60"}))
            .await
            .0,
        6000.0
    );
    assert_eq!(
        metric(pool, d2, "amount_raised_cfa", json!({"age_group": "26-35"}))
            .await
            .0,
        3000.0
    );
    assert_eq!(
        metric(
            pool,
            d2,
            "amount_raised_cfa",
            json!({"age_group": "unknown"})
        )
        .await
        .0,
        1500.0
    );
}

#[tokio::test]
async fn funnels_count_each_step_from_the_previous_one() {
    let s = stack().await;
    let pool = &s.db.pool;
    let start = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    let inside = Utc.with_ymd_and_hms(2026, 10, 15, 9, 0, 0).unwrap();
    let sponsor = user(pool, "+221770000200", "1985-01-01", None).await;
    let mut sponsored = Vec::new();
    for i in 0..3 {
        sponsored.push(user(pool, &format!("+22177000021{i}"), "1999-01-01", None).await);
    }
    // 5 invitations in October (3 accepted), 1 in September.
    for i in 0..6 {
        let accepted = sponsored.get(i).copied();
        let sent = if i == 5 {
            inside - Duration::days(30)
        } else {
            inside
        };
        sqlx::query(
            "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, status, sponsored_user_id, sent_at)
             values ($1, $2, '+221700000000', $3, $4, $5)",
        )
        .bind(sponsor)
        .bind(format!("CODE{i}"))
        .bind(if accepted.is_some() { "accepted" } else { "sent" })
        .bind(accepted)
        .bind(sent)
        .execute(pool)
        .await
        .unwrap();
    }
    for u in &sponsored {
        sqlx::query("update identity.users set created_at = $1 where id = $2")
            .bind(inside)
            .bind(u)
            .execute(pool)
            .await
            .unwrap();
    }
    // Two sponsored users create and open a pot; one of those pots gets a donation and is funded.
    for (i, u) in sponsored.iter().take(2).enumerate() {
        let pot = format!("pot-{i}");
        event(
            pool,
            "pot_created",
            Some(*u),
            None,
            json!({"pot_id": pot}),
            inside,
            None,
        )
        .await;
        event(
            pool,
            "pot_opened",
            Some(*u),
            None,
            json!({"pot_id": pot}),
            inside,
            None,
        )
        .await;
    }
    event(
        pool,
        "donation_made",
        None,
        Some("x"),
        json!({"pot_id": "pot-0", "amount_cfa": 1000}),
        inside,
        None,
    )
    .await;
    event(
        pool,
        "pot_funded",
        Some(sponsored[0]),
        None,
        json!({"pot_id": "pot-0"}),
        inside,
        None,
    )
    .await;

    jobs::funnel_analytics_once(&testkit::service_pool_of(pool, "analytics"), start, end)
        .await
        .unwrap();
    jobs::funnel_analytics_once(&testkit::service_pool_of(pool, "analytics"), start, end)
        .await
        .unwrap();
    let rows: Vec<(String, i32, String, i32, i32, Option<f64>)> = sqlx::query_as(
        "select funnel_name, step_number, step_name, users_entered, users_completed, completion_rate::float8
           from analytics.funnel_analytics where period_start = $1 and period_end = $2 order by 1, 2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
    .unwrap();
    let got: Vec<(String, i32, String, i32, i32, Option<f64>)> = rows;
    let want = vec![
        ("pot_creation", 1, "signed_up", 3, 3, Some(1.0)),
        ("pot_creation", 2, "pot_created", 3, 2, Some(0.6667)),
        ("pot_creation", 3, "pot_opened", 2, 2, Some(1.0)),
        ("pot_creation", 4, "first_donation", 2, 1, Some(0.5)),
        ("pot_creation", 5, "pot_funded", 1, 1, Some(1.0)),
        ("sponsorship_conversion", 1, "invited", 5, 5, Some(1.0)),
        ("sponsorship_conversion", 2, "accepted", 5, 3, Some(0.6)),
        (
            "sponsorship_conversion",
            3,
            "pot_opened",
            3,
            2,
            Some(0.6667),
        ),
        (
            "sponsorship_conversion",
            4,
            "first_donation",
            2,
            1,
            Some(0.5),
        ),
    ];
    let want: Vec<(String, i32, String, i32, i32, Option<f64>)> = want
        .into_iter()
        .map(|w| (w.0.to_string(), w.1, w.2.to_string(), w.3, w.4, w.5))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn old_events_move_to_monthly_partitions_and_expire_after_two_years() {
    let s = stack().await;
    let pool = &s.db.pool;
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    for (i, at) in [
        now - Duration::days(1),
        now - Duration::days(100),
        now - Duration::days(120),
        now - Duration::days(365 * 3),
    ]
    .into_iter()
    .enumerate()
    {
        event(
            pool,
            "page_view",
            None,
            Some(&format!("a{i}")),
            json!({}),
            at,
            None,
        )
        .await;
    }
    // A partition past retention, made earlier.
    sqlx::query("select analytics.ensure_archive_partition('2024-06-01')")
        .execute(pool)
        .await
        .unwrap();
    let run = jobs::partitions_once(&testkit::service_pool_of(pool, "analytics"), now)
        .await
        .unwrap();
    assert_eq!(run.moved, 2);
    assert_eq!(run.deleted_expired, 1);
    assert_eq!(
        run.dropped,
        vec!["analytics_events_archive_2024_06".to_string()]
    );
    let hot: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(hot, 1);
    let parts: Vec<(String, i64)> = sqlx::query_as(
        "select tableoid::regclass::text, count(*) from analytics.analytics_events_archive group by 1 order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        parts,
        vec![
            ("analytics.analytics_events_archive_2026_07".to_string(), 1),
            ("analytics.analytics_events_archive_2026_08".to_string(), 1),
        ]
    );
    // Next months exist ahead of time, with row-level security.
    let rls: bool = sqlx::query_scalar("select relrowsecurity from pg_class where oid = 'analytics.analytics_events_archive_2027_01'::regclass")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(rls);
    // Idempotent.
    let again = jobs::partitions_once(&testkit::service_pool_of(pool, "analytics"), now)
        .await
        .unwrap();
    assert_eq!(again, jobs::PartitionRun::default());
}
