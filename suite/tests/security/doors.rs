//! One rule, every door (V103): a rule a custom endpoint enforces also holds when the same
//! row is written through the REST layer, refused by a grant or held by the database.
//! Each test writes the way the REST layer does (one transaction, `set local role`, the
//! JWT claims) and breaks one rule of one endpoint; docs/security.md lists the doors.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    affected, as_role, assert_permission_denied, refused, user, world, ALICE, ALICE_PRIVATE_POT,
    ALICE_PUBLIC_POT, BOB, CAROL, MIA, PACK1, PACK2, PACK3,
};

/// Runs `sql` as `role`/`sub` and expects the database to refuse it with 23514 (a rule the
/// database holds); returns the message.
async fn assert_rule(pool: &PgPool, role: &str, sub: Option<Uuid>, sql: &str) -> String {
    let mut tx = as_role(pool, role, sub).await;
    let (code, message) = refused(&mut tx, sql).await;
    assert_eq!(code, "23514", "{role}: {sql}: {message}");
    message
}

async fn preferred_pack(pool: &PgPool, pot: Uuid) -> Option<Uuid> {
    sqlx::query_scalar("select preferred_pack_id from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(pool)
        .await
        .unwrap()
}

// ---------------------------------------------------------------- pots: preferred pack

#[tokio::test]
async fn patch_pots_cannot_prefer_an_inactive_pack() {
    let db = world().await;
    // PACK3 is inactive: POST /packs/pots/{id}/preferred-pack answers 422; PATCH /pots/pots too.
    let sql = format!(
        "update pots.pots set preferred_pack_id = '{PACK3}' where id = '{ALICE_PRIVATE_POT}'"
    );
    let message = assert_rule(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    assert!(message.contains("pas disponible"), "{message}");
    // Nor when creating the pot.
    let insert = format!(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, preferred_pack_id)
         values ('{CAROL}', 'Mon anniversaire', 30000, current_date + 60, '{PACK3}')"
    );
    assert_rule(&db.pool, "wolo_user", Some(CAROL), &insert).await;
    // Admins go through the same door.
    assert_rule(&db.pool, "wolo_admin", Some(crate::ADAM), &sql).await;
    assert_eq!(preferred_pack(&db.pool, ALICE_PRIVATE_POT).await, None);

    // An available pack is accepted, and a pack that stops being available (sold out or
    // past its dates) is refused like an inactive one.
    let mut tx = user(&db.pool, ALICE).await;
    let ok = format!(
        "update pots.pots set preferred_pack_id = '{PACK1}' where id = '{ALICE_PRIVATE_POT}'"
    );
    assert_eq!(affected(&mut tx, &ok).await, 1);
    tx.commit().await.unwrap();
    assert_eq!(
        preferred_pack(&db.pool, ALICE_PRIVATE_POT).await,
        Some(PACK1)
    );
    sqlx::query("update packs.packs set available_until = current_date - 1 where id = $1")
        .bind(PACK2)
        .execute(&db.pool)
        .await
        .unwrap();
    let expired = format!(
        "update pots.pots set preferred_pack_id = '{PACK2}' where id = '{ALICE_PRIVATE_POT}'"
    );
    assert_rule(&db.pool, "wolo_user", Some(ALICE), &expired).await;
}

#[tokio::test]
async fn patch_pots_cannot_change_the_pack_once_the_qr_code_is_issued() {
    let db = world().await;
    sqlx::query("update pots.pots set preferred_pack_id = $2 where id = $1")
        .bind(ALICE_PUBLIC_POT)
        .bind(PACK1)
        .execute(&db.pool)
        .await
        .unwrap();
    // ALICE_PUBLIC_POT has QR codes (QR1, QR2): its pack is settled, even for an active pack,
    // even to none.
    for pack in [format!("'{PACK2}'"), "null".to_string()] {
        let sql = format!(
            "update pots.pots set preferred_pack_id = {pack} where id = '{ALICE_PUBLIC_POT}'"
        );
        let message = assert_rule(&db.pool, "wolo_user", Some(ALICE), &sql).await;
        assert!(message.contains("déjà émis"), "{message}");
    }
    assert_eq!(
        preferred_pack(&db.pool, ALICE_PUBLIC_POT).await,
        Some(PACK1)
    );
    // Other columns of the pot stay editable.
    let mut tx = user(&db.pool, ALICE).await;
    let title = format!("update pots.pots set title = 'Nouveau' where id = '{ALICE_PUBLIC_POT}'");
    assert_eq!(affected(&mut tx, &title).await, 1);
}

#[tokio::test]
async fn no_qr_code_is_issued_for_a_pack_that_is_no_longer_available() {
    let db = world().await;
    // Alice chose an available pack, which an admin then withdrew.
    sqlx::query(
        "update pots.pots set preferred_pack_id = $2, status = 'funded', raised_amount_cfa = 50000 where id = $1",
    )
    .bind(ALICE_PRIVATE_POT)
    .bind(PACK1)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("update packs.packs set is_active = false where id = $1")
        .bind(PACK1)
        .execute(&db.pool)
        .await
        .unwrap();
    // The issuer re-checks the pack...
    let secret = qr::code::QrSecret::new(b"doors-test-secret-0123456789abcdef").unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let out = qr::issue::issue_for_pot(
        &mut conn,
        &secret,
        &platform::links::Links::local(),
        ALICE_PRIVATE_POT,
        qr::issue::Funding {
            preferred_pack_id: None,
            raised_amount_cfa: 50000,
        },
    )
    .await
    .unwrap();
    assert_eq!(out, qr::issue::Outcome::Skipped("pack_unavailable"));
    let codes: i64 = sqlx::query_scalar("select count(*) from qr.qr_codes where pot_id = $1")
        .bind(ALICE_PRIVATE_POT)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(codes, 0);
    // ...and the database refuses an issued code for it whoever inserts it.
    let err = sqlx::query(
        "insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at, status, issuance_key)
         values ($1, $2, 'CODE-DOORS', now(), now() + interval '90 days', 'issued', $1)",
    )
    .bind(ALICE_PRIVATE_POT)
    .bind(PACK1)
    .execute(&db.pool)
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23514"),
        "{err}"
    );
    // Back on sale: the code is issued.
    sqlx::query("update packs.packs set is_active = true where id = $1")
        .bind(PACK1)
        .execute(&db.pool)
        .await
        .unwrap();
    let out = qr::issue::issue_for_pot(
        &mut conn,
        &secret,
        &platform::links::Links::local(),
        ALICE_PRIVATE_POT,
        qr::issue::Funding {
            preferred_pack_id: None,
            raised_amount_cfa: 50000,
        },
    )
    .await
    .unwrap();
    assert!(matches!(out, qr::issue::Outcome::Issued(_)), "{out:?}");
}

// ---------------------------------------------------------------- pots: invitations

#[tokio::test]
async fn rest_invitations_follow_the_rules_of_the_invitation_endpoint() {
    let db = world().await;
    let invite = |method: &str, recipient: &str, message: &str| {
        format!(
            "insert into pots.pot_invitations (pot_id, invited_by_user_id, invitation_method, recipient_identifier, custom_message)
             values ('{ALICE_PRIVATE_POT}', '{ALICE}', '{method}', '{recipient}', {message})"
        )
    };
    for sql in [
        invite("pigeon", "+221770004444", "null"),
        invite("sms", "not a phone", "null"),
        invite("email", "nobody", "null"),
        invite("whatsapp", "+221770004444", "repeat('x', 501)"),
    ] {
        assert_rule(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
    // A well-formed invitation is recorded, with the server's stamps.
    let mut tx = user(&db.pool, ALICE).await;
    let ok = invite("EMAIL", " Awa@Example.com ", "'Viens !'");
    assert_eq!(affected(&mut tx, &ok).await, 1);
    tx.commit().await.unwrap();
    let (recipient, method): (String, String) = sqlx::query_as(
        "select recipient_identifier, invitation_method from pots.pot_invitations
         where pot_id = $1 and recipient_identifier like '%example.com'",
    )
    .bind(ALICE_PRIVATE_POT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (recipient.as_str(), method.as_str()),
        ("awa@example.com", "email")
    );

    // A closed pot takes no more invitations (the endpoint answers 409 pot_not_open).
    sqlx::query("update pots.pots set status = 'closed', closed_at = now() where id = $1")
        .bind(ALICE_PRIVATE_POT)
        .execute(&db.pool)
        .await
        .unwrap();
    let message = assert_rule(
        &db.pool,
        "wolo_user",
        Some(ALICE),
        &invite("sms", "+221770004444", "null"),
    )
    .await;
    assert!(message.contains("fermée"), "{message}");
}

// ---------------------------------------------------------------- profiles

#[tokio::test]
async fn rest_profile_writes_follow_the_rules_of_put_me() {
    let db = world().await;
    let carol = |cols: &str, values: &str| {
        format!("insert into profiles.profiles (user_id, {cols}) values ('{CAROL}', {values})")
    };
    for sql in [
        carol("full_name, date_of_birth", "'   ', date '1990-01-01'"),
        carol("full_name, date_of_birth", "'Carol', current_date + 1"),
        carol("full_name, date_of_birth", "'Carol', date '1850-01-01'"),
        carol(
            "full_name, date_of_birth, avatar_url",
            "'Carol', date '1990-01-01', 'javascript:alert(1)'",
        ),
        carol(
            "full_name, date_of_birth, bio",
            "'Carol', date '1990-01-01', repeat('b', 1001)",
        ),
        carol(
            "full_name, date_of_birth, notification_preferences",
            "'Carol', date '1990-01-01', '[1, 2]'",
        ),
        // A minor needs a guardian (PUT /me answers 400 guardian_required)...
        carol(
            "full_name, date_of_birth",
            "'Carol', current_date - interval '15 years'",
        ),
        // ...who is an adult (Mia is 15)...
        carol(
            "full_name, date_of_birth, guardian_user_id, relationship_type",
            &format!("'Carol', current_date - interval '15 years', '{MIA}', 'sibling'"),
        ),
        // ...with a known relationship.
        carol(
            "full_name, date_of_birth, guardian_user_id, relationship_type",
            &format!("'Carol', current_date - interval '15 years', '{BOB}', 'neighbour'"),
        ),
    ] {
        assert_rule(&db.pool, "wolo_user", Some(CAROL), &sql).await;
    }
    // Updates are checked too.
    let bio =
        format!("update profiles.profiles set bio = repeat('b', 1001) where user_id = '{ALICE}'");
    assert_rule(&db.pool, "wolo_user", Some(ALICE), &bio).await;
    // A minor with an adult guardian is accepted.
    let mut tx = user(&db.pool, CAROL).await;
    let ok = carol(
        "full_name, date_of_birth, guardian_user_id, relationship_type",
        &format!("' Carol Fall ', current_date - interval '15 years', '{BOB}', 'parent'"),
    );
    assert_eq!(affected(&mut tx, &ok).await, 1);
}

#[tokio::test]
async fn a_minor_cannot_drop_the_guardian_by_deleting_the_profile() {
    let db = world().await;
    // Without a profile, profiles.can_open_pot would say yes: deleting is DELETE /profiles/me.
    let sql = format!("delete from profiles.profiles where user_id = '{MIA}'");
    assert_permission_denied(&db.pool, "wolo_user", Some(MIA), &sql).await;
    let can_open: bool = sqlx::query_scalar("select profiles.can_open_pot($1)")
        .bind(MIA)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!can_open);
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn email_and_phone_change_only_through_verified_flows() {
    let db = world().await;
    // PUT /identity/user refuses e-mail and phone; PATCH /identity/users is refused by grants.
    for (role, sub) in [("wolo_user", ALICE), ("wolo_partner", crate::PAT)] {
        for set in [
            "email = 'taken-over@example.com'",
            "phone = '+221770009997'",
        ] {
            let sql = format!("update identity.users set {set} where id = '{sub}'");
            assert_permission_denied(&db.pool, role, Some(sub), &sql).await;
        }
    }
}

#[tokio::test]
async fn roles_change_only_through_the_audited_endpoint() {
    let db = world().await;
    // POST /identity/admin/users/{id}/roles keeps super_admin for super admins and audits;
    // through REST an admin could have made themselves super_admin, unaudited.
    let adam = crate::ADAM;
    for sql in [
        format!("update identity.users set roles = array['user', 'admin', 'super_admin'] where id = '{adam}'"),
        format!("update identity.users set roles = array['admin'] where id = '{BOB}'"),
        format!("update identity.users set password_hash = 'x' where id = '{BOB}'"),
        "insert into identity.users (phone, roles) values ('+221770009996', array['super_admin'])".to_string(),
    ] {
        assert_permission_denied(&db.pool, "wolo_admin", Some(adam), &sql).await;
    }
    // Admins still suspend accounts and create plain ones.
    let mut tx = crate::admin(&db.pool).await;
    let suspend = format!("update identity.users set is_active = false where id = '{BOB}'");
    assert_eq!(affected(&mut tx, &suspend).await, 1);
    assert_eq!(
        affected(
            &mut tx,
            "insert into identity.users (phone) values ('+221770009995')"
        )
        .await,
        1
    );
}

/// Before V107 an admin could sign in as anyone, a super admin included, unaudited: by
/// pointing an account's e-mail or phone at their own (then /recover or /otp), by inserting
/// a session with a chosen token hash (then a refresh), or by reading a fresh OTP's hash
/// (a six-digit code's SHA-256 is reversed at once). The evidence tables were writable too.
#[tokio::test]
async fn an_admin_cannot_take_over_an_account_or_rewrite_evidence_through_rest() {
    let db = world().await;
    let adam = crate::ADAM;
    for sql in [
        format!("update identity.users set email = 'adam+alice@example.org' where id = '{ALICE}'"),
        format!("update identity.users set phone = '+221770000107' where id = '{ALICE}'"),
        format!(
            "insert into identity.user_sessions (user_id, token_hash, expires_at)
             values ('{ALICE}', 'chosen-hash', now() + interval '1 day')"
        ),
        format!("update identity.user_sessions set token_hash = 'chosen-hash' where user_id = '{ALICE}'"),
        format!("update identity.user_sessions set expires_at = now() + interval '1 year' where user_id = '{ALICE}'"),
        "select code_hash from identity.otp_codes".to_string(),
        "insert into identity.otp_codes (phone, code_hash, expires_at) values ('+221770000101', 'x', now())".to_string(),
        "update qr.qr_redemption_logs set validation_result = 'invalid'".to_string(),
        "delete from qr.qr_redemption_logs".to_string(),
        "insert into qr.qr_redemption_logs (qr_code_id, validation_result) values ('00000000-0000-4000-b000-000000000601', 'success')".to_string(),
        "update donations.wave_webhook_events set processing_error = null".to_string(),
        "delete from donations.wave_webhook_events".to_string(),
    ] {
        assert_permission_denied(&db.pool, "wolo_admin", Some(adam), &sql).await;
    }
    // What the back office needs still works: revoking a sign-in, reading OTP requests
    // without their hashes, reading the scan log and the webhook events.
    let mut tx = crate::admin(&db.pool).await;
    let revoke =
        format!("update identity.user_sessions set is_revoked = true where user_id = '{ALICE}'");
    assert_eq!(affected(&mut tx, &revoke).await, 1);
    for read in [
        "select id, phone, expires_at, attempts, consumed_at, created_at, ip from identity.otp_codes",
        "select id, validation_result from qr.qr_redemption_logs",
        "select id, event_type from donations.wave_webhook_events",
    ] {
        sqlx::query(read).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{read}: {e}"));
    }
    assert_eq!(
        affected(&mut tx, "select 1 from qr.qr_redemption_logs").await,
        2,
        "admins read every scan attempt"
    );
}

// ---------------------------------------------------------------- referral

#[tokio::test]
async fn a_sponsor_cannot_invite_themselves_through_rest() {
    let db = world().await;
    // POST /referral/invitations answers 400 self_referral.
    for contact in ["'+221770000101', null", "null, 'ALICE@example.com'"] {
        let sql = format!(
            "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, invited_email)
             values ('{ALICE}', 'ALICE-SELF', {contact})"
        );
        assert_rule(&db.pool, "wolo_user", Some(ALICE), &sql).await;
    }
    let mut tx = user(&db.pool, ALICE).await;
    let ok = format!(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone)
         values ('{ALICE}', 'ALICE-FRIEND', '+221770004321')"
    );
    assert_eq!(affected(&mut tx, &ok).await, 1);
}

// ---------------------------------------------------------------- analytics

#[tokio::test]
async fn rest_events_follow_the_rules_of_the_ingestion_endpoint() {
    let db = world().await;
    let event = |cols: &str, values: &str| {
        format!(
            "insert into analytics.analytics_events (event_name, event_category, anonymous_id{cols})
             values ({values})"
        )
    };
    for sql in [
        event("", "'Drop Table', 'pot', 'a1'"),
        event("", "'pot_viewed', 'Pot Category!', 'a1'"),
        event(
            ", properties",
            "'pot_viewed', 'pot', 'a1', jsonb_build_object('blob', repeat('x', 9000))",
        ),
        event(", properties", "'pot_viewed', 'pot', 'a1', '[1]'"),
        event(", timestamp", "'pot_viewed', 'pot', 'a1', now() - interval '30 days'"),
        event(", timestamp", "'pot_viewed', 'pot', 'a1', now() + interval '1 day'"),
        event(", platform", "'pot_viewed', 'pot', 'a1', 'fax'"),
        // Signed out, an event needs an anonymous id.
        "insert into analytics.analytics_events (event_name, event_category) values ('pot_viewed', 'pot')"
            .to_string(),
    ] {
        assert_rule(&db.pool, "wolo_anon", None, &sql).await;
    }
    // What the request says about itself is the server's: a forged IP or country is dropped.
    let mut tx = as_role(&db.pool, "wolo_anon", None).await;
    sqlx::query("select set_config('request.headers', $1, true)")
        .bind(r#"{"x-wolo-client-ip": "196.1.2.3", "user-agent": "Doors/1.0"}"#)
        .execute(&mut *tx)
        .await
        .unwrap();
    let ok = event(
        ", ip_address, country, user_agent",
        "'pot_viewed', 'pot', 'doors-anon', '10.0.0.1', 'FR', 'Forged/1.0'",
    );
    assert_eq!(affected(&mut tx, &ok).await, 1);
    tx.commit().await.unwrap();
    let (ip, country, agent): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "select host(ip_address), country, user_agent from analytics.analytics_events where anonymous_id = 'doors-anon'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(ip.as_deref(), Some("196.1.2.3"));
    assert_eq!(country, None);
    assert_eq!(agent.as_deref(), Some("Doors/1.0"));
}

// ---------------------------------------------------------------- admin doors

#[tokio::test]
async fn settlements_move_as_the_settlement_endpoints_move_them() {
    let db = world().await;
    let adam = Some(crate::ADAM);
    let s1 = crate::SETTLEMENT_P1;
    let set = |what: &str| format!("update qr.partner_settlements set {what} where id = '{s1}'");
    // Paid without being approved; figures rewritten; an insert: refused.
    assert_rule(
        &db.pool,
        "wolo_admin",
        adam,
        &set("status = 'paid', payment_reference = 'VIR-1'"),
    )
    .await;
    assert_rule(&db.pool, "wolo_admin", adam, &set("total_revenue_cfa = 1")).await;
    let mut tx = crate::admin(&db.pool).await;
    let (code, _) = refused(
        &mut tx,
        &format!("insert into qr.partner_settlements (partner_id, period_start, period_end, total_revenue_cfa) values ('{}', date '2025-02-01', date '2025-02-28', 999999)", crate::P1),
    )
    .await;
    assert_eq!(code, "42501");
    drop(tx);
    // pending -> approved (stamped with the admin) -> paid (with a reference).
    let mut tx = crate::admin(&db.pool).await;
    assert_eq!(affected(&mut tx, &set("status = 'approved'")).await, 1);
    tx.commit().await.unwrap();
    assert_rule(&db.pool, "wolo_admin", adam, &set("status = 'paid'")).await;
    let mut tx = crate::admin(&db.pool).await;
    assert_eq!(
        affected(
            &mut tx,
            &set("status = 'paid', payment_reference = 'VIR-2026-001'")
        )
        .await,
        1
    );
    tx.commit().await.unwrap();
    let (status, approved_by, paid): (String, Option<Uuid>, bool) = sqlx::query_as(
        "select status, approved_by_user_id, paid_at is not null from qr.partner_settlements where id = $1",
    )
    .bind(s1)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), approved_by, paid), ("paid", adam, true));
    // Paid is final.
    assert_rule(&db.pool, "wolo_admin", adam, &set("status = 'pending'")).await;
}

/// V108: a donation's status and a refund change only through the webhook and the refund
/// endpoint (which writes as the donations service, V108); admins read both tables.
#[tokio::test]
async fn donations_and_refunds_are_written_through_their_endpoints_only() {
    let db = world().await;
    let adam = Some(crate::ADAM);
    for sql in [
        format!(
            "insert into donations.refunds (donation_id, amount_cfa, reason, wave_refund_status)
             values ('{}', 5000, 'admin_action', 'completed')",
            crate::D_NAMED
        ),
        "update donations.refunds set wave_refund_status = 'completed'".to_string(),
        "delete from donations.refunds".to_string(),
        format!(
            "update donations.donations set status = 'succeeded', confirmed_at = now() where id = '{}'",
            crate::D_PENDING
        ),
        format!("update donations.donations set status = 'refunded' where id = '{}'", crate::D_NAMED),
        "update donations.donations set amount_cfa = 1".to_string(),
        format!(
            "insert into donations.donations (pot_id, amount_cfa, status) values ('{ALICE_PUBLIC_POT}', 1000, 'succeeded')"
        ),
        "delete from donations.donations".to_string(),
    ] {
        assert_permission_denied(&db.pool, "wolo_admin", adam, &sql).await;
    }
    let mut tx = crate::admin(&db.pool).await;
    assert!(
        affected(
            &mut tx,
            "select id, status, amount_cfa from donations.donations"
        )
        .await
            > 0
    );
    affected(
        &mut tx,
        "select id, wave_refund_status from donations.refunds",
    )
    .await;
}

/// V108, V118: codes are issued by the qr service and redeemed by POST /qr/redeem; an admin
/// through REST cancels an issued code (and annotates it) and nothing else.
#[tokio::test]
async fn an_admin_cancels_an_issued_code_and_changes_nothing_else() {
    let db = world().await;
    let adam = Some(crate::ADAM);
    // CODE-ONE (…601) is issued, CODE-TWO (…602) redeemed.
    let one = "'00000000-0000-4000-b000-000000000601'";
    let two = "'00000000-0000-4000-b000-000000000602'";
    for sql in [
        format!("update qr.qr_codes set status = 'redeemed', redeemed_at = now() where id = {one}"),
        format!("update qr.qr_codes set redeemed_at = now() where id = {one}"),
        format!(
            "update qr.qr_codes set expires_at = expires_at + interval '1 year' where id = {one}"
        ),
        format!("update qr.qr_codes set pack_id = '{PACK2}' where id = {one}"),
        // V117's counter code, and any column added later (V118 fixes all but two).
        format!("update qr.qr_codes set short_code = 'AAAAAAAAAA' where id = {one}"),
        format!("update qr.qr_codes set price_cfa = 1 where id = {one}"),
        format!("update qr.qr_codes set status = 'issued', redeemed_at = null where id = {two}"),
        format!("update qr.qr_codes set status = 'cancelled' where id = {two}"),
    ] {
        assert_rule(&db.pool, "wolo_admin", adam, &sql).await;
    }
    for sql in [
        format!("delete from qr.qr_codes where id = {one}"),
        format!(
            "insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at)
             values ('{ALICE_PUBLIC_POT}', '{PACK1}', 'ADMIN-MINTED', now(), now() + interval '1 day')"
        ),
    ] {
        assert_permission_denied(&db.pool, "wolo_admin", adam, &sql).await;
    }
    let mut tx = crate::admin(&db.pool).await;
    let cancel = format!(
        "update qr.qr_codes set status = 'cancelled', partner_notes = 'perdu' where id = {one}"
    );
    assert_eq!(affected(&mut tx, &cancel).await, 1);
}

/// V108: REST invitations follow the endpoint's input rules too.
#[tokio::test]
async fn rest_referrals_need_a_valid_contact_and_a_short_message() {
    let db = world().await;
    let insert = |code: &str, contact: &str, message: &str| {
        format!(
            "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, invited_email, invitation_message)
             values ('{ALICE}', '{code}', {contact}, {message})"
        )
    };
    let long = format!("'{}'", "a".repeat(501));
    for (code, contact, message) in [
        ("REST-P1", "'77 123 45 67', null", "null"),
        ("REST-P2", "'+221', null", "null"),
        ("REST-E1", "null, 'not-an-email'", "null"),
        ("REST-M1", "'+221771112233', null", long.as_str()),
    ] {
        assert_rule(
            &db.pool,
            "wolo_user",
            Some(ALICE),
            &insert(code, contact, message),
        )
        .await;
    }
    let mut tx = user(&db.pool, ALICE).await;
    let ok = insert(
        "REST-OK",
        "'+221771112233', null",
        "'Rejoins-moi sur WOLO !'",
    );
    assert_eq!(affected(&mut tx, &ok).await, 1);
}

// ---------------------------------------------------------------- refused by grants

#[tokio::test]
async fn service_only_writes_are_refused_by_grants() {
    let db = world().await;
    // Each line: a custom endpoint's write whose REST twin holds no grant.
    let cases: [(&str, Option<Uuid>, String); 9] = [
        // POST /pots/pots/{id}/close, /view, /share: lifecycle and counters are the service's.
        ("wolo_user", Some(ALICE), format!("update pots.pots set status = 'closed' where id = '{ALICE_PRIVATE_POT}'")),
        ("wolo_anon", None, format!("update pots.pots set view_count = 1000 where id = '{ALICE_PUBLIC_POT}'")),
        // POST /pots/pots/invitations/{id}/opened|clicked.
        ("wolo_anon", None, "update pots.pot_invitations set opened_at = now()".to_string()),
        // POST /donations/checkout, the Wave webhook, refunds.
        ("wolo_anon", None, format!("insert into donations.donations (pot_id, amount_cfa, status) values ('{ALICE_PUBLIC_POT}', 1000, 'succeeded')")),
        ("wolo_user", Some(BOB), "insert into donations.refunds (donation_id, amount_cfa, reason) select id, 1, 'user_request' from donations.donations limit 1".to_string()),
        // POST /qr/redeem.
        ("wolo_partner", Some(crate::PAT), "update qr.qr_codes set status = 'redeemed'".to_string()),
        // POST /referral/accept, /referral/points/convert.
        ("wolo_user", Some(BOB), "update referral.referrals set status = 'accepted'".to_string()),
        ("wolo_user", Some(ALICE), format!("insert into referral.points_ledger (sponsor_user_id, event_type, points_earned) values ('{ALICE}', 'bonus', 1000)")),
        // POST /profiles/guardianship/{minor}/confirm.
        ("wolo_user", Some(BOB), format!("update profiles.profiles set guardian_confirmed_at = now() where user_id = '{MIA}'")),
    ];
    for (role, sub, sql) in cases {
        assert_permission_denied(&db.pool, role, sub, &sql).await;
    }
}

// ---------------------------------------------------------------- through HTTP

#[tokio::test]
async fn the_rest_layer_answers_the_databases_rule_in_postgrests_shape() {
    let db = world().await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    for _ in 0..100 {
        if app.get("/pots/pots?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let alice = testkit::token(auth::Role::User, ALICE);
    let patch = |pot: Uuid, pack: Uuid| {
        app.request(reqwest::Method::PATCH, &format!("/pots/pots?id=eq.{pot}"))
            .bearer_auth(&alice)
            .header("prefer", "return=minimal")
            .json(&serde_json::json!({ "preferred_pack_id": pack }))
    };
    // An inactive pack: 400, the endpoint's message, its code in details.
    let body = testkit::expect(patch(ALICE_PRIVATE_POT, PACK3).send().await.unwrap(), 400).await;
    assert_eq!(body["code"], "23514", "{body}");
    assert_eq!(body["details"], "pack_unavailable", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("pas disponible"),
        "{body}"
    );
    // After the QR code: frozen.
    sqlx::query("update pots.pots set preferred_pack_id = $2 where id = $1")
        .bind(ALICE_PUBLIC_POT)
        .bind(PACK1)
        .execute(&db.pool)
        .await
        .unwrap();
    let body = testkit::expect(patch(ALICE_PUBLIC_POT, PACK2).send().await.unwrap(), 400).await;
    assert_eq!(body["details"], "qr_already_issued", "{body}");
    assert_eq!(
        preferred_pack(&db.pool, ALICE_PUBLIC_POT).await,
        Some(PACK1)
    );
    // An available pack on a pot without a code goes through.
    let res = patch(ALICE_PRIVATE_POT, PACK1).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        preferred_pack(&db.pool, ALICE_PRIVATE_POT).await,
        Some(PACK1)
    );
    // E-mail through PATCH /identity/users: refused by the grants.
    let res = app
        .request(
            reqwest::Method::PATCH,
            &format!("/identity/users?id=eq.{ALICE}"),
        )
        .bearer_auth(&alice)
        .header("prefer", "return=minimal")
        .json(&serde_json::json!({ "email": "taken@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(testkit::expect(res, 403).await["code"], "42501");
}
