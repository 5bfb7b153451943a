//! donations: a donor's identity never leaks (column grants + public_donor_name); public
//! pots show their succeeded donations; the pot owner sees all of theirs, a donor their own.

use testkit::TestDb;
use uuid::Uuid;

use crate::{
    admin, anon, assert_permission_denied, ids, partner, sorted, user, world, ALICE,
    ALICE_PUBLIC_POT, BOB, CAROL, D_ANONYMOUS, D_NAMED, D_PENDING, D_PRIVATE_POT, PAT,
};

#[tokio::test]
async fn nobody_but_admins_reads_the_donors_identity() {
    let db = world().await;
    for column in [
        "donor_name",
        "donor_phone",
        "donor_user_id",
        "ip_address",
        "user_agent",
        "risk_score",
        "wave_transaction_id",
        "wave_payment_url",
        "wave_webhook_data",
        "*",
    ] {
        let sql = format!("select {column} from donations.donations");
        assert_permission_denied(&db.pool, "wolo_anon", None, &sql).await;
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await; // the pot owner
        assert_permission_denied(&db.pool, "wolo_user", Some(BOB), &sql).await; // the donor
        assert_permission_denied(&db.pool, "wolo_partner", Some(PAT), &sql).await;
    }
    let mut tx = admin(&db.pool).await;
    let name: Option<String> =
        sqlx::query_scalar("select donor_name from donations.donations where id = $1")
            .bind(D_ANONYMOUS)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(name.as_deref(), Some("Secret Giver"));
}

#[tokio::test]
async fn anon_sees_succeeded_donations_of_public_pots_without_anonymous_names() {
    let db = world().await;
    let mut tx = anon(&db.pool).await;
    let rows: Vec<(Uuid, Option<String>, Option<i32>)> = sqlx::query_as(
        "select id, public_donor_name, public_amount_cfa from donations.donations order by id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (D_NAMED, Some("Bob Donor".to_string()), Some(5000)),
            (D_ANONYMOUS, None, Some(3000)),
        ],
        "no pending donation, nothing of the private pot"
    );
}

#[tokio::test]
async fn the_pot_owner_sees_every_donation_of_their_pots() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from donations.donations").await,
        sorted(&[D_NAMED, D_ANONYMOUS, D_PENDING, D_PRIVATE_POT])
    );
    // Still without the anonymous donor's name.
    let name: Option<String> =
        sqlx::query_scalar("select public_donor_name from donations.donations where id = $1")
            .bind(D_ANONYMOUS)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(name, None);
}

#[tokio::test]
async fn a_donor_sees_their_own_donations_others_only_the_public_ones() {
    let db = world().await;
    // Bob gave to Alice's private pot: he sees that donation, not the pot's other ones.
    let mut tx = user(&db.pool, BOB).await;
    assert_eq!(
        ids(&mut tx, "select id from donations.donations").await,
        sorted(&[D_NAMED, D_ANONYMOUS, D_PRIVATE_POT])
    );
    drop(tx);
    let mut tx = user(&db.pool, CAROL).await;
    assert_eq!(
        ids(&mut tx, "select id from donations.donations").await,
        sorted(&[D_NAMED, D_ANONYMOUS])
    );
    drop(tx);
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from donations.donations").await,
        sorted(&[D_NAMED, D_ANONYMOUS])
    );
}

#[tokio::test]
async fn donations_are_written_by_the_service_only() {
    let db = world().await;
    let insert = format!(
        "insert into donations.donations (pot_id, amount_cfa, status) values ('{ALICE_PUBLIC_POT}', 1000000, 'succeeded')"
    );
    for (role, sub) in [
        ("wolo_anon", None),
        ("wolo_user", Some(ALICE)),
        ("wolo_partner", Some(PAT)),
    ] {
        for sql in [
            insert.as_str(),
            "update donations.donations set status = 'succeeded'",
            "update donations.donations set is_anonymous = false",
            "delete from donations.donations",
        ] {
            assert_permission_denied(&db.pool, role, sub, sql).await;
        }
        for table in ["wave_webhook_events", "refunds", "donation_analytics"] {
            let sql = format!("select id from donations.{table}");
            assert_permission_denied(&db.pool, role, sub, &sql).await;
        }
    }
}

#[tokio::test]
async fn public_donor_name_follows_donor_name_and_anonymity() {
    let db = world().await;
    let public_name = |id: Uuid| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "select public_donor_name from donations.donations where id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(public_name(D_NAMED).await.as_deref(), Some("Bob Donor"));
    assert_eq!(public_name(D_ANONYMOUS).await, None);

    // Becoming anonymous hides the name, at once; so does an unknown (NULL) choice.
    sqlx::query("update donations.donations set is_anonymous = true where id = $1")
        .bind(D_NAMED)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(public_name(D_NAMED).await, None);
    sqlx::query("update donations.donations set is_anonymous = null where id = $1")
        .bind(D_NAMED)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(public_name(D_NAMED).await, None);
    // Writing public_donor_name directly changes nothing.
    sqlx::query("update donations.donations set public_donor_name = 'Leaked' where id = $1")
        .bind(D_ANONYMOUS)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(public_name(D_ANONYMOUS).await, None);
    // Back to named, with a corrected name.
    sqlx::query(
        "update donations.donations set is_anonymous = false, donor_name = 'Bob D.' where id = $1",
    )
    .bind(D_NAMED)
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(public_name(D_NAMED).await.as_deref(), Some("Bob D."));
}

#[tokio::test]
async fn the_demo_data_shows_no_anonymous_donor() {
    let db = TestDb::new().await;
    suite::seed(&db.url).await.unwrap();
    let mut tx = anon(&db.pool).await;
    let rows: Vec<(bool, Option<String>)> =
        sqlx::query_as("select is_anonymous, public_donor_name from donations.donations")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert!(rows.len() >= 5, "anon sees {} demo donations", rows.len());
    assert!(
        rows.iter().any(|(anonymous, _)| *anonymous),
        "the demo has anonymous donations to public pots"
    );
    for (anonymous, name) in rows {
        if anonymous {
            assert_eq!(name, None);
        } else {
            assert!(name.is_some());
        }
    }
}
