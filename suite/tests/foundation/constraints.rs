//! The spec's constraints bite: each test does what the product must never allow and
//! checks the database refuses it with the spec's constraint.

use testkit::TestDb;
use uuid::Uuid;

use crate::{user, violation};

#[tokio::test]
async fn a_minor_without_a_guardian_is_rejected() {
    let db = TestDb::new().await;
    let minor = user(&db.pool, "+221771000001").await;
    let err = sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth)
         values ($1, 'Khady Diallo', current_date - interval '15 years')",
    )
    .bind(minor)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_minor_has_guardian".into()))
    );

    // With a guardian and a relationship the same profile is accepted.
    let parent = user(&db.pool, "+221771000002").await;
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth, guardian_user_id, relationship_type)
         values ($1, 'Khady Diallo', current_date - interval '15 years', $2, 'parent')",
    )
    .bind(minor)
    .bind(parent)
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn an_adult_needs_no_guardian() {
    let db = TestDb::new().await;
    let adult = user(&db.pool, "+221771000003").await;
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth)
         values ($1, 'Moussa Diop', current_date - interval '30 years')",
    )
    .bind(adult)
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_pot_that_opens_after_the_birthday_is_rejected() {
    let db = TestDb::new().await;
    let owner = user(&db.pool, "+221771000004").await;
    let insert = |open_offset_days: i32| {
        sqlx::query(
            "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
             values ($1, 'Anniversaire', 50000, current_date + 40, (current_date + $2)::timestamptz)",
        )
        .bind(owner)
        .bind(open_offset_days)
    };
    let err = insert(41).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_open_before_birthday".into()))
    );
    // Opening on the birthday itself is also too late: the pot must open the day before at the latest.
    let err = insert(40).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err).1.as_deref(),
        Some("check_open_before_birthday")
    );
    // J-30 is what the product does.
    insert(10).execute(&db.pool).await.unwrap();
}

#[tokio::test]
async fn a_pot_target_must_be_positive() {
    let db = TestDb::new().await;
    let owner = user(&db.pool, "+221771000005").await;
    let err = sqlx::query(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
         values ($1, 'Anniversaire', 0, current_date + 40, now())",
    )
    .bind(owner)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert_eq!(violation(err).0, "23514");
}

#[tokio::test]
async fn more_than_fifty_invitations_in_a_day_are_rejected() {
    let db = TestDb::new().await;
    let sponsor = user(&db.pool, "+221771000006").await;
    let id: Uuid = sqlx::query_scalar(
        "insert into referral.sponsor_daily_limits (sponsor_user_id, invitations_sent_today)
         values ($1, 50) returning id",
    )
    .bind(sponsor)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let err = sqlx::query(
        "update referral.sponsor_daily_limits set invitations_sent_today = invitations_sent_today + 1 where id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_daily_limit".into()))
    );
    let sent: i32 = sqlx::query_scalar(
        "select invitations_sent_today from referral.sponsor_daily_limits where id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(sent, 50);
    // One row per sponsor and day.
    let err =
        sqlx::query("insert into referral.sponsor_daily_limits (sponsor_user_id) values ($1)")
            .bind(sponsor)
            .execute(&db.pool)
            .await
            .unwrap_err();
    assert_eq!(violation(err).0, "23505");
}

#[tokio::test]
async fn a_contact_batch_wider_than_fifty_is_rejected() {
    let db = TestDb::new().await;
    let sponsor = user(&db.pool, "+221771000007").await;
    let batch = |start: i32, end: i32| {
        sqlx::query(
            "insert into referral.sponsor_contact_batches (sponsor_user_id, start_position, end_position)
             values ($1, $2, $3)",
        )
        .bind(sponsor)
        .bind(start)
        .bind(end)
    };
    let err = batch(0, 51).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_batch_size".into()))
    );
    let err = batch(10, 10).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_batch_positions".into()))
    );
    batch(50, 100).execute(&db.pool).await.unwrap();
}

/// Inserts the rows a QR code hangs on (a funded pot and a pack) and returns their ids.
async fn pot_and_pack(db: &TestDb) -> (Uuid, Uuid) {
    let owner = user(&db.pool, "+221771000008").await;
    let pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at, status)
         values ($1, 'Anniversaire de Fatou', 25000, current_date + 5, now() - interval '25 days', 'funded')
         returning id",
    )
    .bind(owner)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let pack: Uuid = sqlx::query_scalar(
        "insert into packs.packs (name, description, category, base_price_cfa)
         values ('Ciné duo', 'Deux places de cinéma', 'cinema', 15000) returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    (pot, pack)
}

#[tokio::test]
async fn a_qr_code_that_expires_before_it_is_redeemable_is_rejected() {
    let db = TestDb::new().await;
    let (pot, pack) = pot_and_pack(&db).await;
    let qr = |code: &str, expires_in_days: i32| {
        sqlx::query(
            "insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at)
             values ($1, $2, $3, (current_date + 5)::timestamptz, (current_date + 5 + $4)::timestamptz)",
        )
        .bind(pot)
        .bind(pack)
        .bind(code.to_string())
        .bind(expires_in_days)
    };
    let err = qr("WOLO-A", -1).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_valid_redemption_period".into()))
    );
    let err = qr("WOLO-B", 0).execute(&db.pool).await.unwrap_err();
    assert_eq!(
        violation(err).1.as_deref(),
        Some("check_valid_redemption_period")
    );
    qr("WOLO-C", 90).execute(&db.pool).await.unwrap();
    // Codes are unique.
    let err = qr("WOLO-C", 90).execute(&db.pool).await.unwrap_err();
    assert_eq!(violation(err).0, "23505");
}

#[tokio::test]
async fn rollout_percentage_outside_0_to_100_is_rejected() {
    let db = TestDb::new().await;
    for (key, pct) in [("flag_low", -1), ("flag_high", 101)] {
        let err = sqlx::query(
            "insert into admin.feature_flags (flag_key, name, rollout_percentage) values ($1, 'Test', $2)",
        )
        .bind(key)
        .bind(pct)
        .execute(&db.pool)
        .await
        .unwrap_err();
        assert_eq!(violation(err).0, "23514", "rollout {pct}");
    }
    for (key, pct) in [("flag_zero", 0), ("flag_full", 100)] {
        sqlx::query("insert into admin.feature_flags (flag_key, name, rollout_percentage) values ($1, 'Test', $2)")
            .bind(key)
            .bind(pct)
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_duplicate_wave_transaction_id_is_rejected() {
    let db = TestDb::new().await;
    let (pot, _) = pot_and_pack(&db).await;
    let donate = || {
        sqlx::query(
            "insert into donations.donations (pot_id, amount_cfa, wave_transaction_id, status)
             values ($1, 5000, 'TCN4Y4ZC3FM', 'succeeded')",
        )
        .bind(pot)
    };
    donate().execute(&db.pool).await.unwrap();
    let err = donate().execute(&db.pool).await.unwrap_err();
    assert_eq!(violation(err).0, "23505");
    let count: i64 = sqlx::query_scalar("select count(*) from donations.donations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_donation_amount_must_be_positive() {
    let db = TestDb::new().await;
    let (pot, _) = pot_and_pack(&db).await;
    let err = sqlx::query("insert into donations.donations (pot_id, amount_cfa) values ($1, -500)")
        .bind(pot)
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(violation(err).0, "23514");
}

#[tokio::test]
async fn deleting_a_user_cascades_to_sessions_and_profile() {
    let db = TestDb::new().await;
    let awa = user(&db.pool, "+221771000009").await;
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, 'Awa Ndiaye', '1990-05-12')",
    )
    .bind(awa)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into identity.user_sessions (user_id, token_hash, expires_at) values ($1, 'h1', now() + interval '1 day'),
                                                                               ($1, 'h2', now() + interval '1 day')",
    )
    .bind(awa)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into identity.password_reset_tokens (user_id, token_hash, expires_at) values ($1, 'r1', now() + interval '1 hour')",
    )
    .bind(awa)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into profiles.user_addresses (user_id, city, region) values ($1, 'Dakar', 'Dakar')",
    )
    .bind(awa)
    .execute(&db.pool)
    .await
    .unwrap();

    sqlx::query("delete from identity.users where id = $1")
        .bind(awa)
        .execute(&db.pool)
        .await
        .unwrap();

    for table in [
        "identity.user_sessions",
        "identity.password_reset_tokens",
        "profiles.profiles",
        "profiles.user_addresses",
    ] {
        let left: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where user_id = $1"))
                .bind(awa)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table} kept rows of the deleted user");
    }
}

#[tokio::test]
async fn a_user_with_pots_cannot_be_deleted_out_from_under_them() {
    // pots.owner_user_id has no ON DELETE in the spec: financial history is not cascaded away.
    let db = TestDb::new().await;
    let (pot, _) = pot_and_pack(&db).await;
    let owner: Uuid = sqlx::query_scalar("select owner_user_id from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let err = sqlx::query("delete from identity.users where id = $1")
        .bind(owner)
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(violation(err).0, "23503");
}

#[tokio::test]
async fn a_user_needs_a_phone_or_an_email() {
    let db = TestDb::new().await;
    let err = sqlx::query("insert into identity.users (auth_provider) values ('phone')")
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(
        violation(err),
        ("23514".into(), Some("check_contact_method".into()))
    );
}

#[tokio::test]
async fn updated_at_follows_every_update() {
    let db = TestDb::new().await;
    let id = user(&db.pool, "+221771000010").await;
    sqlx::query("update identity.users set updated_at = now() - interval '1 day' where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("update identity.users set email = 'awa@example.sn' where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let fresh: bool = sqlx::query_scalar(
        "select updated_at > now() - interval '1 minute' from identity.users where id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(fresh, "updated_at was not refreshed by the trigger");
}
