use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{expect, stack};

#[tokio::test]
async fn accepting_links_the_user_creates_the_birthday_pot_and_pending_points() {
    let st = stack().await;
    let sponsor = st
        .user("+221770000011", "Awa Ndiaye", Some("1990-05-04"))
        .await;
    let code = st.invite(sponsor, "+221772220001").await;

    // The sponsor cannot use their own invitation.
    let err = expect(
        st.post("/accept", sponsor, json!({"code": code})).await,
        400,
    )
    .await;
    assert_eq!(err["code"], "self_referral");

    let invited = st
        .user("+221772220001", "Moussa Diop", Some("1996-08-20"))
        .await;
    let out = expect(
        st.post("/accept", invited, json!({"code": code.to_lowercase()}))
            .await,
        200,
    )
    .await;
    assert_eq!(out["status"], "accepted");
    assert!(out["flagged"].is_null());
    let pot_id: Uuid = out["pot_id"].as_str().unwrap().parse().unwrap();

    let (owner, birthday, opens, from, status): (
        Uuid,
        NaiveDate,
        chrono::DateTime<Utc>,
        Option<Uuid>,
        Option<String>,
    ) = sqlx::query_as(
        "select owner_user_id, birthday_date, scheduled_open_at, created_from_referral_id, status
             from pots.pots where id = $1",
    )
    .bind(pot_id)
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(owner, invited);
    assert_eq!((birthday.month(), birthday.day()), (8, 20));
    let today = Utc::now().with_timezone(&Dakar).date_naive();
    assert!(birthday > today && birthday <= today + chrono::Duration::days(367));
    let expected: chrono::DateTime<Utc> =
        sqlx::query_scalar("select pots.scheduled_open_at($1, now())")
            .bind(birthday)
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert!(
        (opens - expected).num_seconds().abs() < 60,
        "J-30: {opens} vs {expected}"
    );
    assert_eq!(
        from.map(|u| u.to_string()),
        out["referral_id"].as_str().map(String::from)
    );
    assert_eq!(status.as_deref(), Some("scheduled"));

    let (sponsored, rstatus): (Option<Uuid>, String) =
        sqlx::query_as("select sponsored_user_id, status from referral.referrals")
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert_eq!((sponsored, rstatus.as_str()), (Some(invited), "accepted"));
    let (points, lstatus): (i32, String) = sqlx::query_as(
        "select points_earned, status from referral.points_ledger where event_type = 'referral_accepted'",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!((points, lstatus.as_str()), (100, "pending"));
    for topic in ["referral.accepted", "pot.created"] {
        let payload: Value = sqlx::query_scalar("select payload from wolo.outbox where topic = $1")
            .bind(topic)
            .fetch_one(st.pool())
            .await
            .unwrap();
        if topic == "referral.accepted" {
            assert_eq!(payload["sponsor_user_id"], sponsor.to_string());
            assert_eq!(payload["sponsored_user_id"], invited.to_string());
        } else {
            assert_eq!(payload["pot_id"], pot_id.to_string());
            assert_eq!(payload["created_from_referral_id"], out["referral_id"]);
        }
    }
    let notified = st
        .count(&format!(
            "select count(*) from wolo.outbox where topic = 'notification.requested'
             and payload->>'message' = 'referral_accepted' and payload->>'user_id' = '{sponsor}'
             and payload->'data'->>'invitee_name' = 'Moussa Diop'"
        ))
        .await;
    assert_eq!(notified, 1);

    // Accepting again is harmless; another user cannot reuse the code.
    let again = expect(
        st.post("/accept", invited, json!({"code": code})).await,
        200,
    )
    .await;
    assert_eq!(again["pot_id"], out["pot_id"]);
    let other = st.user("+221772220002", "Autre", Some("1990-01-01")).await;
    let err = expect(st.post("/accept", other, json!({"code": code})).await, 409).await;
    assert_eq!(err["code"], "referral_already_used");
    let err = expect(
        st.post("/accept", other, json!({"code": "NOPE-12345"}))
            .await,
        404,
    )
    .await;
    assert_eq!(err["code"], "referral_not_found");
    // An account older than the invitation is not a new member.
    let code2 = st.invite(sponsor, "+221772220002").await;
    let err = expect(st.post("/accept", other, json!({"code": code2})).await, 409).await;
    assert_eq!(err["code"], "not_a_new_user");
    assert_eq!(st.count("select count(*) from pots.pots").await, 1);
    assert_eq!(
        st.count("select count(*) from referral.points_ledger")
            .await,
        1
    );
}

#[tokio::test]
async fn without_a_profile_the_pot_is_created_when_the_profile_is_completed() {
    let st = stack().await;
    let profiles_app = testkit::spawn(profiles::router(st.db.context_of(&profiles::SERVICE))).await;
    let sponsor = st.user("+221770000012", "Awa", Some("1990-05-04")).await;
    // The sponsor code also works, matched to the invited phone.
    st.invite(sponsor, "+221772220011").await;
    let sponsor_code: String = sqlx::query_scalar("select code from referral.sponsor_codes")
        .fetch_one(st.pool())
        .await
        .unwrap();
    let invited = st.user("+221772220011", "", None).await;
    let out = expect(
        st.post("/accept", invited, json!({"code": sponsor_code}))
            .await,
        200,
    )
    .await;
    assert!(out["pot_id"].is_null());
    assert_eq!(st.count("select count(*) from pots.pots").await, 0);

    let res = profiles_app
        .request(Method::PUT, "/me")
        .bearer_auth(crate::token(invited))
        .json(&json!({"full_name": "Ndeye Fall", "date_of_birth": "1999-12-31"}))
        .send()
        .await
        .unwrap();
    expect(res, 201).await;
    let (owner, title): (Uuid, String) = sqlx::query_as(
        "select owner_user_id, title from pots.pots where created_from_referral_id is not null",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(
        (owner, title.as_str()),
        (invited, "Anniversaire de Ndeye Fall")
    );
}

#[tokio::test]
async fn same_device_is_flagged_and_its_points_revoked() {
    let st = stack().await;
    let sponsor = st.user("+221770000013", "Awa", Some("1990-05-04")).await;
    let code = st.invite(sponsor, "+221772220021").await;
    // The sponsor signed in from this very device (same user agent and IP).
    sqlx::query(
        "insert into identity.user_sessions (user_id, token_hash, device_info, ip_address, expires_at)
         values ($1, 'h', '{\"user_agent\": \"wolo-test/1.0\"}', '127.0.0.1', now() + interval '1 day')",
    )
    .bind(sponsor)
    .execute(st.pool())
    .await
    .unwrap();
    let invited = st.user("+221772220021", "Moussa", Some("1996-08-20")).await;
    let out = expect(
        st.post("/accept", invited, json!({"code": code})).await,
        200,
    )
    .await;
    assert_eq!(out["flagged"], "same_device");
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("select status, revoked_reason from referral.points_ledger")
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("revoked", Some("same_device"))
    );
    let n = referral::points::mature_points_once(
        &st.db.service_pool("referral"),
        Utc::now() + chrono::Duration::days(60),
    )
    .await
    .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_minor_counts_only_once_both_ids_are_verified() {
    let st = stack().await;
    let sponsor = st.user("+221770000014", "Awa", Some("1990-05-04")).await;
    let guardian = st
        .user("+221770000015", "Papa Diop", Some("1975-01-01"))
        .await;
    let code = st.invite(sponsor, "+221772220031").await;
    let minor = st.user("+221772220031", "", None).await;
    let dob = (Utc::now().with_timezone(&Dakar).date_naive() - chrono::Duration::days(365 * 15))
        .to_string();
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth, guardian_user_id, relationship_type)
         values ($1, 'Mia Diop', $2::date, $3, 'parent')",
    )
    .bind(minor)
    .bind(&dob)
    .bind(guardian)
    .execute(st.pool())
    .await
    .unwrap();
    let out = expect(st.post("/accept", minor, json!({"code": code})).await, 200).await;
    assert_eq!(out["ids_required"], true);
    let later = Utc::now() + chrono::Duration::days(20);
    assert_eq!(
        referral::points::mature_points_once(&st.db.service_pool("referral"), later)
            .await
            .unwrap(),
        0
    );
    // Both documents collected, only the minor's verified: still pending.
    sqlx::query(
        "update profiles.profiles set id_hash = 'h-' || user_id::text where user_id in ($1, $2)",
    )
    .bind(minor)
    .bind(guardian)
    .execute(st.pool())
    .await
    .unwrap();
    sqlx::query("update profiles.profiles set id_verified_at = now() where user_id = $1")
        .bind(minor)
        .execute(st.pool())
        .await
        .unwrap();
    assert_eq!(
        referral::points::mature_points_once(&st.db.service_pool("referral"), later)
            .await
            .unwrap(),
        0
    );
    let (both, verified): (Option<bool>, Option<bool>) =
        sqlx::query_as("select both_ids_collected, sponsored_id_verified from referral.referrals")
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert_eq!((both, verified), (Some(true), Some(true)));
    sqlx::query("update profiles.profiles set id_verified_at = now() where user_id = $1")
        .bind(guardian)
        .execute(st.pool())
        .await
        .unwrap();
    assert_eq!(
        referral::points::mature_points_once(&st.db.service_pool("referral"), later)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn one_user_accepting_two_invitations_at_once_gets_one_sponsor() {
    let st = stack().await;
    let a = st.user("+221770000016", "Awa", Some("1990-05-04")).await;
    let b = st.user("+221770000017", "Binta", Some("1991-05-04")).await;
    let code_a = st.invite(a, "+221772220041").await;
    let code_b = st.invite(b, "+221772220041").await;
    let invited = st.user("+221772220041", "Moussa", Some("1996-08-20")).await;
    let (ra, rb) = tokio::join!(
        st.post("/accept", invited, json!({"code": code_a})),
        st.post("/accept", invited, json!({"code": code_b}))
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        st.count("select count(*) from referral.referrals where status = 'accepted'")
            .await,
        1
    );
    assert_eq!(st.count("select count(*) from pots.pots").await, 1);
}
