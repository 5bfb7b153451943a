//! profiles: own profile and addresses, public profiles for signed-in users, the guardian
//! sees the minor's profile, identity-document columns for admins only.

use crate::{
    admin, affected, assert_permission_denied, assert_rls_violation, ids, partner, sorted, user,
    world, ALICE, BOB, CAROL, MIA, PAT,
};

#[tokio::test]
async fn a_user_cannot_read_another_users_private_profile() {
    let db = world().await;
    // Alice: her own; not Bob's or Mia's (private).
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select user_id from profiles.profiles").await,
        vec![ALICE]
    );
    let bob = format!("select user_id from profiles.profiles where user_id = '{BOB}'");
    assert!(ids(&mut tx, &bob).await.is_empty());
    drop(tx);

    // Carol (no profile) sees no row of the table: public profiles are read through
    // profiles.public_profiles (V103, tests/security/hidden.rs).
    let mut tx = user(&db.pool, CAROL).await;
    assert!(ids(&mut tx, "select user_id from profiles.profiles")
        .await
        .is_empty());
    drop(tx);

    // Anonymous callers see no profile; partner staff only their own.
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select user_id from profiles.profiles",
    )
    .await;
    let mut tx = partner(&db.pool, PAT).await;
    assert!(ids(&mut tx, "select user_id from profiles.profiles")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_guardian_reads_the_minors_profile() {
    let db = world().await;
    // Bob: his own and his minor's (Alice's public profile is in profiles.public_profiles).
    let mut tx = user(&db.pool, BOB).await;
    assert_eq!(
        ids(&mut tx, "select user_id from profiles.profiles").await,
        sorted(&[BOB, MIA])
    );
    drop(tx);
    let mut tx = user(&db.pool, ALICE).await;
    let mia = format!("select user_id from profiles.profiles where user_id = '{MIA}'");
    assert!(ids(&mut tx, &mia).await.is_empty());
}

#[tokio::test]
async fn identity_document_columns_are_for_admins_only() {
    let db = world().await;
    for column in [
        "id_number",
        "id_hash",
        "id_media_url",
        "id_type",
        "id_country",
    ] {
        let sql = format!("select {column} from profiles.profiles where user_id = '{ALICE}'");
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await;
        assert_permission_denied(&db.pool, "wolo_user", Some(BOB), &sql).await;
    }
    // The rest of a profile is readable; admins read the document too.
    let mut tx = user(&db.pool, ALICE).await;
    let (name, verified): (String, Option<String>) = sqlx::query_as(
        "select full_name, id_verified_at::text from profiles.profiles where user_id = $1",
    )
    .bind(ALICE)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(name, "Alice Ndiaye");
    assert!(verified.is_none());
    drop(tx);
    let mut tx = admin(&db.pool).await;
    let number: Option<String> =
        sqlx::query_scalar("select id_number from profiles.profiles where user_id = $1")
            .bind(MIA)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(number.as_deref(), Some("BC-777"));
}

#[tokio::test]
async fn a_user_creates_only_their_own_profile() {
    let db = world().await;
    let as_bob = format!(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ('{BOB}', 'Not Bob', date '1990-01-01')"
    );
    assert_rls_violation(&db.pool, "wolo_user", Some(CAROL), &as_bob).await;
    let as_alice = format!(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ('{ALICE}', 'Not Alice', date '1990-01-01')"
    );
    assert_rls_violation(&db.pool, "wolo_user", Some(CAROL), &as_alice).await;

    let mut tx = user(&db.pool, CAROL).await;
    let own = format!(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ('{CAROL}', 'Carol Fall', date '1990-01-01')"
    );
    assert_eq!(affected(&mut tx, &own).await, 1);
    tx.commit().await.unwrap();

    // Nor can she write the identity document herself.
    let document = format!(
        "insert into profiles.profiles (user_id, full_name, date_of_birth, id_number) values ('{CAROL}', 'x', date '1990-01-01', 'X1')"
    );
    assert_permission_denied(&db.pool, "wolo_user", Some(CAROL), &document).await;
}

#[tokio::test]
async fn a_user_edits_only_their_own_profile() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        affected(&mut tx, "update profiles.profiles set bio = 'Hello'").await,
        1
    );
    // Bob's private profile and Mia's are out of reach.
    let bob = format!("update profiles.profiles set bio = 'pwned' where user_id = '{BOB}'");
    assert_eq!(affected(&mut tx, &bob).await, 0);
    drop(tx);
    // Deleting a profile is DELETE /profiles/me (the account deletion), not a REST delete
    // (V103).
    let bob = format!("delete from profiles.profiles where user_id = '{BOB}'");
    assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &bob).await;

    // The date of birth, the guardian link and the verification are not the user's to change.
    for set in [
        "date_of_birth = date '2000-01-01'",
        format!("guardian_user_id = '{CAROL}'").as_str(),
        "id_verified_at = now()",
        "user_id = gen_random_uuid()",
    ] {
        let sql = format!("update profiles.profiles set {set} where user_id = '{ALICE}'");
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
    let mia = format!(
        "update profiles.profiles set guardian_user_id = '{CAROL}' where user_id = '{MIA}'"
    );
    assert_permission_denied(&db.pool, "wolo_user", Some(MIA), &mia).await;
}

#[tokio::test]
async fn addresses_are_private_to_their_owner() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    let cities: Vec<String> = sqlx::query_scalar("select city from profiles.user_addresses")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(cities, vec!["Dakar".to_string()]);
    assert_eq!(
        affected(
            &mut tx,
            "update profiles.user_addresses set city = 'Rufisque'"
        )
        .await,
        1
    );
    assert_eq!(
        affected(&mut tx, "delete from profiles.user_addresses").await,
        1
    );
    drop(tx);
    let for_bob =
        format!("insert into profiles.user_addresses (user_id, city) values ('{BOB}', 'Mbour')");
    assert_rls_violation(&db.pool, "wolo_user", Some(ALICE), &for_bob).await;
    let move_it = format!("update profiles.user_addresses set user_id = '{BOB}'");
    assert_rls_violation(&db.pool, "wolo_user", Some(ALICE), &move_it).await;
}
