use chrono::{Duration, Utc};
use serde_json::json;

use crate::{expect, stack};

#[tokio::test]
async fn the_expiry_job_fails_donations_whose_session_expired_and_a_late_success_still_wins() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (old, sid) = st.pending(pot, 5000).await;
    let (fresh, _) = st.pending(pot, 3000).await;
    // Nothing is due yet.
    assert_eq!(
        donations::expire_pending_once(&st.db.service_pool("donations"), Utc::now())
            .await
            .unwrap(),
        0
    );
    sqlx::query("update donations.donations set wave_session_expires_at = now() - interval '1 minute' where id = $1")
        .bind(old)
        .execute(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        donations::expire_pending_once(&st.db.service_pool("donations"), Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(st.status(old).await, "failed");
    assert_eq!(st.status(fresh).await, "pending");
    let reason: Option<String> =
        sqlx::query_scalar("select failure_reason from donations.donations where id = $1")
            .bind(old)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("session_expired"));
    assert_eq!(st.outbox_count("donation.failed", old).await, 1);
    // Twice: nothing more.
    assert_eq!(
        donations::expire_pending_once(&st.db.service_pool("donations"), Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(st.outbox_count("donation.failed", old).await, 1);

    // Everything expires 31 minutes later.
    assert_eq!(
        donations::expire_pending_once(
            &st.db.service_pool("donations"),
            Utc::now() + Duration::minutes(31)
        )
        .await
        .unwrap(),
        1
    );

    // The payment went through after all: the success wins.
    st.wave.complete(&sid).await.unwrap();
    assert_eq!(st.status(old).await, "succeeded");
    assert_eq!(st.outbox_count("donation.succeeded", old).await, 1);
}

#[tokio::test]
async fn analytics_aggregate_days_weeks_and_months_by_region() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let owner: uuid::Uuid = sqlx::query_scalar("select owner_user_id from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    sqlx::query("insert into profiles.user_addresses (user_id, region, is_default) values ($1, 'Thiès', true)")
        .bind(owner)
        .execute(&st.db.pool)
        .await
        .unwrap();
    for amount in [5000, 3000] {
        let (_, sid) = st.pending(pot, amount).await;
        st.wave.complete(&sid).await.unwrap();
    }
    st.pending(pot, 1000).await; // still pending
    let _ = expect(
        st.checkout(json!({"pot_id": pot, "amount_cfa": 50}), None)
            .await,
        400,
    )
    .await;

    let now = Utc::now();
    let n = donations::donation_analytics_once(&st.db.service_pool("donations"), now)
        .await
        .unwrap();
    assert_eq!(n, 6);
    assert_eq!(
        donations::donation_analytics_once(&st.db.service_pool("donations"), now)
            .await
            .unwrap(),
        6,
        "upserts"
    );
    let today = now.with_timezone(&chrono_tz::Africa::Dakar).date_naive();
    let (total, count, donors, avg, rate, regions): (i64, i32, i32, i32, String, serde_json::Value) =
        sqlx::query_as(
            "select total_amount_cfa, transaction_count, unique_donors, average_donation_cfa, success_rate::text, region_breakdown
             from donations.donation_analytics where period_type = 'daily' and period_start = $1",
        )
        .bind(today)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!((total, count, donors, avg), (8000, 3, 1, 4000));
    assert_eq!(rate.to_string(), "0.6667");
    assert_eq!(regions, json!({"Thiès": 8000}));
    let rows: i64 = sqlx::query_scalar("select count(*) from donations.donation_analytics")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 6);
}
