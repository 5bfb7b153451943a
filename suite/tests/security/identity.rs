//! identity: own user row (read only: never email, phone, roles, is_active or id), own
//! sessions (revocable, one way, token hash hidden), reset tokens for admins only.

use crate::{
    admin, affected, assert_permission_denied, assert_rls_violation, ids, partner, user, world,
    ADAM, ALICE, ALICE_SESSION, BOB, BOB_SESSION, PAT,
};

#[tokio::test]
async fn a_user_reads_own_sessions_but_not_another_users() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from identity.user_sessions").await,
        vec![ALICE_SESSION]
    );
    let bobs = format!("select id from identity.user_sessions where user_id = '{BOB}'");
    assert!(ids(&mut tx, &bobs).await.is_empty());
    drop(tx);

    // The token hash stays server-side.
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "select token_hash from identity.user_sessions",
    )
    .await;
    // Anonymous callers see no session at all.
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select id from identity.user_sessions",
    )
    .await;
}

#[tokio::test]
async fn a_user_revokes_own_session_only_and_cannot_unrevoke_it() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    let own =
        format!("update identity.user_sessions set is_revoked = true where id = '{ALICE_SESSION}'");
    assert_eq!(affected(&mut tx, &own).await, 1);
    let other =
        format!("update identity.user_sessions set is_revoked = true where id = '{BOB_SESSION}'");
    assert_eq!(affected(&mut tx, &other).await, 0);
    tx.commit().await.unwrap();

    let unrevoke = format!(
        "update identity.user_sessions set is_revoked = false where id = '{ALICE_SESSION}'"
    );
    assert_rls_violation(&db.pool, "wolo_user", Some(ALICE), &unrevoke).await;
    // Nothing else of a session is writable.
    let extend = format!("update identity.user_sessions set expires_at = now() + interval '1 year' where id = '{ALICE_SESSION}'");
    assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &extend).await;
    assert_permission_denied(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        "delete from identity.user_sessions",
    )
    .await;
}

#[tokio::test]
async fn a_user_reads_and_edits_own_contact_but_not_roles_or_status() {
    let db = world().await;
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        ids(&mut tx, "select id from identity.users").await,
        vec![ALICE]
    );
    drop(tx);

    let me = format!("where id = '{ALICE}'");
    for sql in [
        // E-mail and phone change through verified flows only (V103).
        format!("update identity.users set email = 'alice.new@example.com' {me}"),
        format!("update identity.users set phone = '+221770009998' {me}"),
        format!("update identity.users set email = 'hijack@example.com' where id = '{BOB}'"),
        format!("update identity.users set roles = array['user', 'admin'] {me}"),
        format!("update identity.users set is_active = true {me}"),
        format!("update identity.users set id = gen_random_uuid() {me}"),
        format!("update identity.users set auth_provider = 'google' {me}"),
        "insert into identity.users (phone) values ('+221770009999')".to_string(),
        format!("delete from identity.users {me}"),
    ] {
        assert_permission_denied(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
    // The same holds for partner staff.
    let pat = format!("update identity.users set roles = array['admin'] where id = '{PAT}'");
    assert_permission_denied(&db.pool, "wolo_partner", Some(PAT), &pat).await;
    assert_permission_denied(&db.pool, "wolo_anon", None, "select id from identity.users").await;
}

#[tokio::test]
async fn partner_staff_read_their_own_user_row_only() {
    let db = world().await;
    let mut tx = partner(&db.pool, PAT).await;
    assert_eq!(
        ids(&mut tx, "select id from identity.users").await,
        vec![PAT]
    );
    assert!(ids(&mut tx, "select id from identity.user_sessions")
        .await
        .is_empty());
}

#[tokio::test]
async fn reset_tokens_are_read_by_admins_only() {
    let db = world().await;
    for (role, sub) in [
        ("wolo_anon", None),
        ("wolo_user", Some(ALICE)),
        ("wolo_partner", Some(PAT)),
    ] {
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "select id from identity.password_reset_tokens",
        )
        .await;
    }
    let mut tx = admin(&db.pool).await;
    assert_eq!(
        ids(
            &mut tx,
            "select user_id from identity.password_reset_tokens"
        )
        .await,
        vec![ALICE]
    );
    drop(tx);
    assert_permission_denied(
        &db.pool,
        "wolo_admin",
        Some(ADAM),
        "delete from identity.password_reset_tokens",
    )
    .await;

    // Admins read and update every user.
    let mut tx = admin(&db.pool).await;
    assert_eq!(ids(&mut tx, "select id from identity.users").await.len(), 7);
    let suspend = format!("update identity.users set is_active = false where id = '{BOB}'");
    assert_eq!(affected(&mut tx, &suspend).await, 1);
}

/// V110: whoever sets an account's Google `sub` signs in as that account with their own
/// Google account, so only the identity service writes it (and account deletion clears it).
/// Owners read theirs, admins read every one; nobody writes it through the REST layer.
#[tokio::test]
async fn the_google_link_is_written_by_the_identity_service_only() {
    let db = world().await;
    for (role, sub) in [
        ("wolo_user", ALICE),
        ("wolo_partner", PAT),
        ("wolo_admin", ADAM),
    ] {
        for sql in [
            format!("update identity.users set google_sub = 'attacker-google-sub' where id = '{sub}'"),
            format!("update identity.users set google_sub = 'attacker-google-sub' where id = '{ALICE}'"),
            "insert into identity.users (email, google_sub) values ('x@example.org', 'attacker-google-sub')"
                .to_string(),
            format!("update identity.user_sessions set amr = '[]' where user_id = '{ALICE}'"),
        ] {
            assert_permission_denied(&db.pool, role, Some(sub), &sql).await;
        }
    }
    sqlx::query(&format!(
        "update identity.users set google_sub = 'alice-google' where id = '{ALICE}'"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let mut tx = user(&db.pool, ALICE).await;
    let mine: Vec<Option<String>> = sqlx::query_scalar("select google_sub from identity.users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(mine, vec![Some("alice-google".to_string())]);
    sqlx::query("select amr from identity.user_sessions")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    let mut tx = admin(&db.pool).await;
    let linked: Vec<String> =
        sqlx::query_scalar("select google_sub from identity.users where google_sub is not null")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(linked, vec!["alice-google".to_string()]);
}
