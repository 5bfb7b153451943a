//! referral: sponsors read their own data and invite as themselves; points are never
//! self-awarded.

use crate::{
    affected, assert_permission_denied, assert_rls_violation, ids, user, world, ALICE, BOB, CAROL,
    REFERRAL_ALICE_BOB,
};

#[tokio::test]
async fn sponsor_and_sponsored_user_read_the_referral_nobody_else_does() {
    let db = world().await;
    for (who, expected) in [
        (ALICE, vec![REFERRAL_ALICE_BOB]),
        (BOB, vec![REFERRAL_ALICE_BOB]),
        (CAROL, vec![]),
    ] {
        let mut tx = user(&db.pool, who).await;
        assert_eq!(
            ids(&mut tx, "select id from referral.referrals").await,
            expected,
            "{who}"
        );
    }
    // The points, daily limits and batches are the sponsor's alone.
    for (who, expected) in [(ALICE, 1), (BOB, 0)] {
        let mut tx = user(&db.pool, who).await;
        for table in ["points_ledger", "sponsor_daily_limits"] {
            let n = ids(&mut tx, &format!("select id from referral.{table}"))
                .await
                .len();
            assert_eq!(n, expected, "{who} {table}");
        }
    }
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select id from referral.referrals",
    )
    .await;
}

#[tokio::test]
async fn a_sponsor_invites_as_themselves_only() {
    let db = world().await;
    let mut tx = user(&db.pool, CAROL).await;
    let own = format!(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone) values ('{CAROL}', 'CAROL-1', '+221770001111')"
    );
    assert_eq!(affected(&mut tx, &own).await, 1);
    tx.commit().await.unwrap();

    let as_alice = format!(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone) values ('{ALICE}', 'FAKE-1', '+221770001112')"
    );
    assert_rls_violation(&db.pool, "wolo_user", Some(CAROL), &as_alice).await;

    // Status, sponsored user and the rest belong to the referral service.
    let accepted = format!(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, status, sponsored_user_id)
         values ('{CAROL}', 'CAROL-2', '+221770001113', 'accepted', '{BOB}')"
    );
    assert_permission_denied(&db.pool, "wolo_user", Some(CAROL), &accepted).await;
    // No update or delete at all.
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "update referral.referrals set status = 'accepted'",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "delete from referral.referrals",
    )
    .await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from referral.referrals").await,
        vec![REFERRAL_ALICE_BOB]
    );
}

#[tokio::test]
async fn points_are_never_self_awarded() {
    let db = world().await;
    for sql in [
        format!("insert into referral.points_ledger (sponsor_user_id, event_type, points_earned) values ('{ALICE}', 'referral_accepted', 1000000)"),
        "update referral.points_ledger set points_earned = 1000000".to_string(),
        "update referral.points_ledger set status = 'matured'".to_string(),
        "delete from referral.points_ledger".to_string(),
        format!("insert into referral.points_conversions (sponsor_user_id, points_converted, credits_issued, conversion_rate) values ('{ALICE}', 1, 100000, 10)"),
        "update referral.sponsor_daily_limits set max_invitations_per_day = 10000".to_string(),
        "update referral.sponsor_daily_limits set invitations_sent_today = 0".to_string(),
        format!("insert into referral.sponsor_contact_batches (sponsor_user_id, start_position, end_position) values ('{ALICE}', 0, 50)"),
    ] {
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
}
