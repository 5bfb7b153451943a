//! packs and qr: the public catalogue, and partner staff confined to their own partner
//! (its row, memberships, packs, codes, settlements, scan logs).

use crate::{
    anon, assert_permission_denied, ids, partner, sorted, user, world, ALICE, BOB, LOG1, LOG2, P1,
    P2, PACK1, PACK2, PACK3, PAT, QR1, QR2, QUINN, SETTLEMENT_P1, SETTLEMENT_P2,
};

#[tokio::test]
async fn partner_staff_read_their_own_partners_settlements_only() {
    let db = world().await;
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.partner_settlements").await,
        vec![SETTLEMENT_P1]
    );
    drop(tx);
    let mut tx = partner(&db.pool, QUINN).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.partner_settlements").await,
        vec![SETTLEMENT_P2]
    );
    drop(tx);
    // Not writable by them, not readable by users or anonymous callers.
    assert_permission_denied(
        &db.pool,
        "wolo_partner",
        Some(PAT),
        "update qr.partner_settlements set status = 'paid'",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "select id from qr.partner_settlements",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select id from qr.partner_settlements",
    )
    .await;
}

#[tokio::test]
async fn a_user_with_partner_role_but_no_membership_sees_no_partner_data() {
    let db = world().await;
    // Bob's token claims the partner role, but he is staff of no partner.
    let mut tx = partner(&db.pool, BOB).await;
    assert!(ids(&mut tx, "select id from qr.partner_settlements")
        .await
        .is_empty());
    assert!(ids(&mut tx, "select id from packs.partners")
        .await
        .is_empty());
    assert!(ids(&mut tx, "select id from qr.qr_codes").await.is_empty());
    assert!(ids(&mut tx, "select id from qr.qr_redemption_logs")
        .await
        .is_empty());
}

#[tokio::test]
async fn partner_staff_read_their_partner_whole_the_public_only_its_public_columns() {
    let db = world().await;
    let mut tx = partner(&db.pool, PAT).await;
    let rows: Vec<(uuid::Uuid, Option<String>)> =
        sqlx::query_as("select id, tax_id from packs.partners")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(rows, vec![(P1, Some("TAX-P1".to_string()))]);
    assert_eq!(
        ids(&mut tx, "select partner_id from packs.partner_members").await,
        vec![P1],
        "own memberships only"
    );
    drop(tx);

    // Anonymous callers and users: active partners, public columns.
    for (role, sub) in [("wolo_anon", None), ("wolo_user", Some(ALICE))] {
        let mut tx = crate::as_role(&db.pool, role, sub).await;
        assert_eq!(
            ids(&mut tx, "select id from packs.partners").await,
            sorted(&[P1, P2]),
            "{role}: not the pending partner"
        );
        let public =
            sqlx::query("select name, type, description, venues, status from packs.partners")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert_eq!(public.len(), 2);
        drop(tx);
        for column in [
            "contact_name",
            "contact_email",
            "contact_phone",
            "business_registration",
            "tax_id",
            "revenue_split_percentage",
            "payment_terms",
            "minimum_payout_cfa",
            "notification_preferences",
            "*",
        ] {
            let sql = format!("select {column} from packs.partners");
            assert_permission_denied(&db.pool, role, sub, &sql).await;
        }
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "select user_id from packs.partner_members",
        )
        .await;
    }
    // Only admins write partners, packs, campaigns and memberships.
    for (role, sub) in [
        ("wolo_anon", None),
        ("wolo_user", Some(ALICE)),
        ("wolo_partner", Some(PAT)),
    ] {
        for sql in [
            "update packs.partners set revenue_split_percentage = 100",
            "update packs.packs set base_price_cfa = 1",
            "update packs.sponsor_campaigns set budget_cfa = 1",
            "delete from packs.partner_members",
        ] {
            assert_permission_denied(&db.pool, role, sub, sql).await;
        }
        let join = format!(
            "insert into packs.partner_members (partner_id, user_id) values ('{P2}', '{PAT}')"
        );
        assert_permission_denied(&db.pool, role, sub, &join).await;
    }
}

#[tokio::test]
async fn the_catalogue_shows_active_packs_and_campaigns() {
    let db = world().await;
    let mut tx = anon(&db.pool).await;
    assert_eq!(
        ids(&mut tx, "select id from packs.packs").await,
        sorted(&[PACK1, PACK2])
    );
    let campaigns: Vec<String> =
        sqlx::query_scalar("select campaign_name from packs.sponsor_campaigns")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(campaigns, vec!["Active campaign".to_string()]);
    drop(tx);
    for column in [
        "budget_cfa",
        "spent_cfa",
        "target_demographics",
        "impressions",
        "clicks",
        "conversions",
    ] {
        let sql = format!("select {column} from packs.sponsor_campaigns");
        assert_permission_denied(&db.pool, "wolo_anon", None, &sql).await;
    }
    // A pack out of its window is hidden too.
    sqlx::query("update packs.packs set available_until = current_date - 1 where id = $1")
        .bind(PACK2)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from packs.packs").await,
        vec![PACK1]
    );
    drop(tx);
    // Partner staff also see their own inactive pack.
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from packs.packs").await,
        sorted(&[PACK1, PACK3])
    );
}

#[tokio::test]
async fn qr_codes_for_the_pot_owner_and_the_partners_concerned() {
    let db = world().await;
    // Alice owns the pot of both codes and sees them whole.
    let mut tx = user(&db.pool, ALICE).await;
    let codes: Vec<String> = sqlx::query_scalar("select code from qr.qr_codes order by code")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(codes, vec!["CODE-ONE".to_string(), "CODE-TWO".to_string()]);
    drop(tx);
    let mut tx = user(&db.pool, BOB).await;
    assert!(ids(&mut tx, "select id from qr.qr_codes").await.is_empty());
    drop(tx);

    // Pat (P1): QR1 is a P1 pack. Quinn (P2): QR2, a P2 pack redeemed at P2.
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(ids(&mut tx, "select id from qr.qr_codes").await, vec![QR1]);
    drop(tx);
    let mut tx = partner(&db.pool, QUINN).await;
    assert_eq!(ids(&mut tx, "select id from qr.qr_codes").await, vec![QR2]);
    drop(tx);
    // A code redeemed at P1 for another partner's pack becomes visible to P1.
    sqlx::query("update qr.qr_codes set redeemed_by_partner_id = $1 where id = $2")
        .bind(P1)
        .bind(QR2)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.qr_codes").await,
        sorted(&[QR1, QR2])
    );
    drop(tx);

    // Partner staff never read the code value, and nobody but admins writes codes.
    assert_permission_denied(
        &db.pool,
        "wolo_partner",
        Some(PAT),
        "select code from qr.qr_codes",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_partner",
        Some(PAT),
        "select qr_image_url from qr.qr_codes",
    )
    .await;
    assert_permission_denied(&db.pool, "wolo_anon", None, "select id from qr.qr_codes").await;
    for (role, sub) in [("wolo_user", Some(ALICE)), ("wolo_partner", Some(PAT))] {
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "update qr.qr_codes set status = 'redeemed'",
        )
        .await;
        assert_permission_denied(&db.pool, role, sub, "delete from qr.qr_redemption_logs").await;
    }
}

#[tokio::test]
async fn scan_logs_for_the_partner_that_scanned_or_owns_the_pack() {
    let db = world().await;
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.qr_redemption_logs").await,
        vec![LOG1]
    );
    drop(tx);
    let mut tx = partner(&db.pool, QUINN).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.qr_redemption_logs").await,
        vec![LOG2]
    );
    drop(tx);
    // A colleague of Pat at P1 sees Pat's scans.
    sqlx::query("insert into packs.partner_members (partner_id, user_id) values ($1, $2)")
        .bind(P1)
        .bind(QUINN)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = partner(&db.pool, QUINN).await;
    assert_eq!(
        ids(&mut tx, "select id from qr.qr_redemption_logs").await,
        sorted(&[LOG1, LOG2])
    );
    drop(tx);
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "select id from qr.qr_redemption_logs",
    )
    .await;
}
