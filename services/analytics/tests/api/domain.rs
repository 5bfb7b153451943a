use serde_json::json;
use std::time::Duration;

use crate::{stack, user};

#[tokio::test]
async fn domain_events_land_once_in_analytics_events() {
    let s = stack().await;
    let pool = &s.db.pool;
    let owner = user(pool, "+221770000010", "1995-05-05", Some("Kaolack")).await;
    let pot = uuid::Uuid::new_v4();
    let mut tx = pool.begin().await.unwrap();
    platform::outbox::publish(
        &mut tx,
        "pot.opened",
        &json!({"pot_id": pot, "owner_user_id": owner, "birthday_date": "2026-12-01"}),
        "pots",
    )
    .await
    .unwrap();
    platform::outbox::publish(&mut tx, "donation.succeeded",
        &json!({"donation_id": uuid::Uuid::new_v4(), "pot_id": pot, "amount_cfa": 5000, "donor_user_id": null,
                "donor_phone": "+221770000099", "donor_name": "Awa", "is_anonymous": false,
                "confirmed_at": "2026-11-20T10:00:00Z"}), "donations").await.unwrap();
    platform::outbox::publish(&mut tx, "notification.requested", &json!({}), "x")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let consumer = analytics::domain::consumer();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        consumer
            .run_once(&testkit::service_pool_of(pool, "analytics"))
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
            .fetch_one(pool)
            .await
            .unwrap();
        if n >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // More passes change nothing.
    consumer
        .run_once(&testkit::service_pool_of(pool, "analytics"))
        .await
        .unwrap();
    let rows: Vec<(String, Option<uuid::Uuid>, Option<String>, serde_json::Value, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select event_name, user_id, region, properties, timestamp from analytics.analytics_events order by event_name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "donation_made");
    assert_eq!(rows[0].3["amount_cfa"], 5000);
    // The donor's phone and name stay with the donation.
    let properties = rows[0].3.to_string();
    assert!(
        !properties.contains("+221770000099") && !properties.contains("Awa"),
        "{properties}"
    );
    assert_eq!(rows[0].4.to_rfc3339(), "2026-11-20T10:00:00+00:00");
    assert_eq!(rows[1].0, "pot_opened");
    assert_eq!(rows[1].1, Some(owner));
    assert_eq!(rows[1].2.as_deref(), Some("Kaolack"));
}
