//! pots: public pots for everyone, the owner's own pots whole, owner-only edits of the
//! editable columns, invitations and analytics for the owner.

use crate::{
    affected, anon, assert_permission_denied, assert_rls_violation, ids, partner, sorted, user,
    world, ALICE, ALICE_PRIVATE_POT, ALICE_PUBLIC_POT, BOB, BOB_PRIVATE_POT, CAROL, PAT,
};

#[tokio::test]
async fn anon_reads_public_pots_but_not_private_ones() {
    let db = world().await;
    let mut tx = anon(&db.pool).await;
    assert_eq!(
        ids(&mut tx, "select id from pots.pots").await,
        vec![ALICE_PUBLIC_POT]
    );
    let private = format!("select id from pots.pots where id = '{ALICE_PRIVATE_POT}'");
    assert!(ids(&mut tx, &private).await.is_empty());
    drop(tx);
    // Partner staff see the public pots too.
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from pots.pots").await,
        vec![ALICE_PUBLIC_POT]
    );
    drop(tx);
    // Anonymous callers never write.
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "update pots.pots set title = 'x'",
    )
    .await;
}

#[tokio::test]
async fn an_owner_reads_own_pots_others_read_only_public_ones() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from pots.pots").await,
        sorted(&[ALICE_PUBLIC_POT, ALICE_PRIVATE_POT])
    );
    drop(tx);
    let mut tx = user(&db.pool, BOB).await;
    assert_eq!(
        ids(&mut tx, "select id from pots.pots").await,
        sorted(&[ALICE_PUBLIC_POT, BOB_PRIVATE_POT])
    );
}

#[tokio::test]
async fn a_user_creates_pots_as_themselves_only() {
    let db = world().await;
    let pot = |owner: uuid::Uuid| {
        format!(
            "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
             values ('{owner}', 'Mon anniversaire', 30000, current_date + 60, now() + interval '30 days')"
        )
    };
    assert_rls_violation(&db.pool, "wolo_user", Some(CAROL), &pot(ALICE)).await;
    let mut tx = user(&db.pool, CAROL).await;
    assert_eq!(affected(&mut tx, &pot(CAROL)).await, 1);
    drop(tx);
    // The lifecycle is the service's: no status on insert.
    let funded = format!(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at, status)
         values ('{CAROL}', 'x', 30000, current_date + 60, now() + interval '30 days', 'funded')"
    );
    assert_permission_denied(&db.pool, "wolo_user", Some(CAROL), &funded).await;
    assert_permission_denied(&db.pool, "wolo_partner", Some(PAT), &pot(PAT)).await;
}

#[tokio::test]
async fn an_owner_edits_the_editable_columns_of_own_pots_only() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    let edit = format!(
        "update pots.pots set title = 'Nouveau titre', description = 'd', target_amount_cfa = 60000, visibility = 'private',
                allow_anonymous_donations = false, show_donor_names = false, enable_messages = false,
                cover_image_url = 'https://cdn.example.com/c.png', gallery_images = '[]'
         where id = '{ALICE_PUBLIC_POT}'"
    );
    assert_eq!(affected(&mut tx, &edit).await, 1);
    let bobs = format!("update pots.pots set title = 'pwned' where id = '{BOB_PRIVATE_POT}'");
    assert_eq!(affected(&mut tx, &bobs).await, 0);
    drop(tx);
    // Bob cannot touch Alice's public pot either (he can read it).
    let mut tx = user(&db.pool, BOB).await;
    let alices = format!("update pots.pots set title = 'pwned' where id = '{ALICE_PUBLIC_POT}'");
    assert_eq!(affected(&mut tx, &alices).await, 0);
    drop(tx);

    for set in [
        "status = 'funded'",
        "actual_opened_at = now()",
        "closed_at = now()",
        "share_count = 1000",
        "view_count = 1000",
        "birthday_date = current_date + 100",
        "scheduled_open_at = now()",
        "created_from_referral_id = null",
        format!("owner_user_id = '{BOB}'").as_str(),
    ] {
        let sql = format!("update pots.pots set {set} where id = '{ALICE_PUBLIC_POT}'");
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
    assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), "delete from pots.pots").await;
}

#[tokio::test]
async fn invitations_and_analytics_belong_to_the_pot_owner() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select pot_id from pots.pot_invitations").await,
        vec![ALICE_PUBLIC_POT]
    );
    assert_eq!(
        ids(&mut tx, "select pot_id from pots.pot_analytics").await,
        vec![ALICE_PUBLIC_POT]
    );
    let invite = |pot: uuid::Uuid, by: uuid::Uuid| {
        format!(
            "insert into pots.pot_invitations (pot_id, invited_by_user_id, invitation_method, recipient_identifier)
             values ('{pot}', '{by}', 'whatsapp', '+221770004444')"
        )
    };
    assert_eq!(
        affected(&mut tx, &invite(ALICE_PRIVATE_POT, ALICE)).await,
        1
    );
    drop(tx);
    // Not on someone else's pot, not in someone else's name.
    assert_rls_violation(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        &invite(BOB_PRIVATE_POT, ALICE),
    )
    .await;
    assert_rls_violation(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        &invite(ALICE_PUBLIC_POT, BOB),
    )
    .await;
    // Carol (not the owner) sees neither.
    let mut tx = user(&db.pool, CAROL).await;
    assert!(ids(&mut tx, "select pot_id from pots.pot_invitations")
        .await
        .is_empty());
    assert!(ids(&mut tx, "select pot_id from pots.pot_analytics")
        .await
        .is_empty());
    drop(tx);
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "update pots.pot_analytics set view_count = 1",
    )
    .await;
}
