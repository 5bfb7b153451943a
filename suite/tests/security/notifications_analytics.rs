//! notifications (own messages and preferences) and analytics (write-only events).

use crate::{
    affected, anon, assert_permission_denied, assert_rls_violation, ids, user, world, ALICE, BOB,
    CAROL,
};

#[tokio::test]
async fn a_user_reads_own_notifications_and_manages_own_preferences() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select user_id from notifications.notifications").await,
        vec![ALICE]
    );
    assert!(ids(
        &mut tx,
        "select user_id from notifications.notification_preferences"
    )
    .await
    .is_empty());
    let own = format!("insert into notifications.notification_preferences (user_id, sms_enabled) values ('{ALICE}', false)");
    assert_eq!(affected(&mut tx, &own).await, 1);
    assert_eq!(
        affected(
            &mut tx,
            "update notifications.notification_preferences set whatsapp_enabled = false"
        )
        .await,
        1
    );
    drop(tx);

    let for_carol =
        format!("insert into notifications.notification_preferences (user_id) values ('{CAROL}')");
    assert_rls_violation(&db.pool, "wolo_user", Some(ALICE), &for_carol).await;
    let mut tx = user(&db.pool, ALICE).await;
    let bobs = format!("update notifications.notification_preferences set sms_enabled = false where user_id = '{BOB}'");
    assert_eq!(affected(&mut tx, &bobs).await, 0);
    drop(tx);

    // Templates and delivery data are the service's.
    for sql in [
        "select id from notifications.notification_templates",
        "update notifications.notifications set status = 'delivered'",
        "select id from notifications.notification_analytics",
    ] {
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), sql).await;
    }
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select id from notifications.notifications",
    )
    .await;
}

#[tokio::test]
async fn clients_record_analytics_events_but_never_read_them() {
    let db = world().await;
    let mut tx = anon(&db.pool).await;
    assert_eq!(
        affected(
            &mut tx,
            "insert into analytics.analytics_events (event_name, event_category, anonymous_id) values ('pot_viewed', 'pot', 'anon-1')"
        )
        .await,
        1
    );
    drop(tx);
    let mut tx = user(&db.pool, ALICE).await;
    let own = format!(
        "insert into analytics.analytics_events (event_name, event_category, user_id) values ('pot_shared', 'pot', '{ALICE}')"
    );
    assert_eq!(affected(&mut tx, &own).await, 1);
    drop(tx);

    let as_bob = format!(
        "insert into analytics.analytics_events (event_name, event_category, user_id) values ('x', 'pot', '{BOB}')"
    );
    assert_rls_violation(&db.pool, "wolo_user", Some(ALICE), &as_bob).await;
    assert_rls_violation(&db.pool, "wolo_anon", None, &as_bob).await;

    for (role, sub) in [("wolo_anon", None), ("wolo_user", Some(ALICE))] {
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "select id from analytics.analytics_events",
        )
        .await;
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "insert into analytics.analytics_events (event_name, event_category) values ('x', 'x') returning id",
        )
        .await;
        for table in [
            "business_metrics",
            "funnel_analytics",
            "ab_tests",
            "ab_test_assignments",
        ] {
            let sql = format!("select id from analytics.{table}");
            assert_permission_denied(&db.pool, role, sub, &sql).await;
        }
    }
    assert_permission_denied(
        &db.pool,
        "wolo_partner",
        Some(crate::PAT),
        "insert into analytics.analytics_events (event_name, event_category) values ('x', 'x')",
    )
    .await;
}
