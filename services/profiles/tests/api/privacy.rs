use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{expect, stack, Stack};

struct World {
    me: Uuid,
    friend: Uuid,
    my_pot: Uuid,
    friend_pot: Uuid,
    my_donation: Uuid,
}

/// The caller has data in every service; a friend has a pot the caller gave to.
async fn world(st: &Stack) -> World {
    let me = st.user("+221770000051").await;
    sqlx::query("update identity.users set email = 'awa@example.sn', password_hash = 'argon2-secret', google_sub = '1234567890' where id = $1")
        .bind(me)
        .execute(st.pool())
        .await
        .unwrap();
    let friend = st.user("+221770000052").await;
    expect(
        st.call(
            Method::PUT,
            "/me",
            me,
            Some(
                json!({"full_name": "Awa Ndiaye", "date_of_birth": "1990-01-01", "bio": "Ma bio"}),
            ),
        )
        .await,
        201,
    )
    .await;
    expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "passport", "number": "A99887766"})),
        )
        .await,
        201,
    )
    .await;
    let pool = st.pool();
    let exec = |sql: String| async move {
        sqlx::query(&sql).execute(pool).await.unwrap();
    };
    exec(format!("insert into profiles.user_addresses (user_id, region, street_address, is_default) values ('{me}', 'Dakar', 'Sicap Liberté 2', true)")).await;
    exec(format!("insert into identity.user_sessions (user_id, token_hash, device_info, ip_address, expires_at) values ('{me}', 'secret-hash-1', '{{\"user_agent\": \"Android\"}}', '10.0.0.1', now() + interval '30 days'), ('{me}', 'secret-hash-2', null, null, now() + interval '30 days')")).await;
    let my_pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, description, target_amount_cfa, birthday_date, scheduled_open_at)
         values ($1, 'Les 36 ans d''Awa', 'Pour mon anniversaire', 50000, current_date + 60, now() + interval '30 days') returning id",
    )
    .bind(me)
    .fetch_one(pool)
    .await
    .unwrap();
    let friend_pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
         values ($1, 'Anniv Moussa', 50000, current_date + 60, now() + interval '30 days') returning id",
    )
    .bind(friend)
    .fetch_one(pool)
    .await
    .unwrap();
    let my_donation: Uuid = sqlx::query_scalar(
        "insert into donations.donations (pot_id, donor_user_id, donor_name, donor_phone, amount_cfa, status, donation_message, ip_address, user_agent)
         values ($1, $2, 'Awa Ndiaye', '+221770000051', 10000, 'succeeded', 'Joyeux anniversaire !', '10.0.0.1', 'Android') returning id",
    )
    .bind(friend_pot)
    .bind(me)
    .fetch_one(pool)
    .await
    .unwrap();
    exec(format!("insert into donations.donations (pot_id, donor_user_id, donor_name, donor_phone, amount_cfa, status) values ('{my_pot}', '{friend}', 'Moussa', '+221770000052', 3000, 'succeeded')")).await;
    exec(format!("insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, invited_name, status) values ('{me}', 'AWA-1', '+221779990000', 'Cousine', 'sent')")).await;
    exec(format!("insert into referral.points_ledger (sponsor_user_id, event_type, points_earned, status) values ('{me}', 'referral_accepted', 100, 'pending')")).await;
    exec(format!(
        "insert into notifications.notifications (user_id, recipient_identifier, template_id, channel, body)
         select '{me}', '+221770000051', id, 'sms', 'Bonjour Awa' from notifications.notification_templates limit 1"
    ))
    .await;
    exec(format!("insert into analytics.analytics_events (event_name, event_category, user_id, ip_address, user_agent) values ('pot_created', 'pot', '{me}', '10.0.0.1', 'Android')")).await;
    World {
        me,
        friend,
        my_pot,
        friend_pot,
        my_donation,
    }
}

fn len(doc: &Value, key: &str) -> usize {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing"))
        .len()
}

#[tokio::test]
async fn the_export_holds_everything_about_the_caller_and_no_secrets() {
    let st = stack().await;
    let w = world(&st).await;
    let res = st.call(Method::GET, "/me/export", w.me, None).await;
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let doc = expect(res, 200).await;
    assert_eq!(doc["user"]["email"], "awa@example.sn");
    assert!(doc["user"].get("password_hash").is_none());
    assert_eq!(doc["user"]["google_sub"], "1234567890");
    assert_eq!(doc["profile"]["full_name"], "Awa Ndiaye");
    assert_eq!(doc["profile"]["id_number_masked"], "*****7766");
    for (key, n) in [
        ("sessions", 2),
        ("addresses", 1),
        ("referrals_sent", 1),
        ("points_ledger", 1),
        ("pots", 1),
        ("donations_made", 1),
        ("donations_received", 1),
        ("notifications", 1),
        ("analytics_events", 1),
    ] {
        assert_eq!(len(&doc, key), n, "{key}");
    }
    let text = doc.to_string();
    for secret in [
        "secret-hash",
        "argon2-secret",
        "A99887766",
        "id_hash",
        "id_number_encrypted",
    ] {
        assert!(!text.contains(secret), "export leaks {secret}");
    }
    // A donor's phone on the caller's pot is the donor's, not the caller's.
    assert!(!text.contains("+221770000052"));
    assert_eq!(doc["donations_received"][0]["donor_name"], "Moussa");
    let _ = (w.friend, w.friend_pot, w.my_pot, w.my_donation);
}

#[tokio::test]
async fn deletion_anonymises_everywhere_keeps_money_and_revokes_sessions() {
    let st = stack().await;
    let w = world(&st).await;
    let out = expect(st.call(Method::DELETE, "/me", w.me, None).await, 200).await;
    assert_eq!(out["deleted"], true);
    assert!(out["kept"].as_array().unwrap().len() >= 3);
    let pool = st.pool();
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, Value>(sql)
            .bind(w.me)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    // identity
    let u = one("select to_jsonb(u) from identity.users u where id = $1").await;
    assert_eq!(u["is_active"], false);
    assert!(u["phone"].is_null());
    assert!(u["email"]
        .as_str()
        .unwrap()
        .ends_with("@deleted.wolo.invalid"));
    assert!(u["password_hash"].is_null());
    assert!(u["google_sub"].is_null());
    let live = one("select to_jsonb(count(*)) from identity.user_sessions where user_id = $1 and (not coalesce(is_revoked, false) or revoked_at is null or device_info is not null)").await;
    assert_eq!(live, json!(0));
    // profiles
    assert_eq!(
        one("select to_jsonb(count(*)) from profiles.profiles where user_id = $1").await,
        json!(0)
    );
    assert_eq!(
        one("select to_jsonb(count(*)) from profiles.user_addresses where user_id = $1").await,
        json!(0)
    );
    // referral: never-accepted invitations gone, pending points revoked
    assert_eq!(
        one("select to_jsonb(count(*)) from referral.referrals where sponsor_user_id = $1").await,
        json!(0)
    );
    assert_eq!(one("select to_jsonb(array_agg(status)) from referral.points_ledger where sponsor_user_id = $1").await, json!(["revoked"]));
    // pots keep their money, lose their words
    let pot: Value = sqlx::query_scalar("select to_jsonb(p) from pots.pots p where id = $1")
        .bind(w.my_pot)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        (pot["title"].as_str(), pot["description"].is_null()),
        (Some("Cagnotte"), true)
    );
    assert_eq!(pot["target_amount_cfa"], 50000);
    // donations kept, donor anonymised
    let d: Value =
        sqlx::query_scalar("select to_jsonb(d) from donations.donations d where id = $1")
            .bind(w.my_donation)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (d["amount_cfa"].as_i64(), d["status"].as_str()),
        (Some(10000), Some("succeeded"))
    );
    for k in [
        "donor_name",
        "donor_phone",
        "ip_address",
        "user_agent",
        "donation_message",
    ] {
        assert!(d[k].is_null(), "{k} kept: {d}");
    }
    assert_eq!(d["is_anonymous"], true);
    // the friend's donation to the deleted user's pot is untouched
    let friend_name: Option<String> =
        sqlx::query_scalar("select donor_name from donations.donations where donor_user_id = $1")
            .bind(w.friend)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(friend_name.as_deref(), Some("Moussa"));
    // notifications gone, analytics unlinked
    assert_eq!(
        one("select to_jsonb(count(*)) from notifications.notifications where user_id = $1").await,
        json!(0)
    );
    let events: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events where user_id is null and ip_address is null")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(events, 1);
    // audited, announced
    assert_eq!(
        one("select to_jsonb(count(*)) from admin.audit_logs where action = 'account_deleted' and resource_id = $1 and actor_user_id = $1").await,
        json!(1)
    );
    assert_eq!(
        one("select to_jsonb(count(*)) from wolo.outbox where topic = 'user.deleted' and payload->>'user_id' = $1::text").await,
        json!(1)
    );
    // Every token of the deleted account is refused from now on, even one that carries no
    // sign-in (rest::sessions, wolo.account_active): nobody exports it any more.
    let e = expect(st.call(Method::GET, "/me/export", w.me, None).await, 401).await;
    assert_eq!(e["code"], "PGRST303");
}
