use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use chrono_tz::Africa::Dakar;
use reqwest::Method;
use serde_json::json;

use referral::invitations::{invite, Contact, InviteRequest};

use crate::{expect, stack, token};

fn contacts(n: usize, prefix: u32) -> Vec<Contact> {
    (0..n)
        .map(|i| Contact {
            contact_id: None,
            name: Some(format!("Contact {i}")),
            phone: Some(format!("+22177{prefix:03}{i:04}")),
            email: None,
        })
        .collect()
}

#[tokio::test]
async fn fifty_one_concurrent_invitations_exactly_fifty_are_sent() {
    let st = stack().await;
    let sponsor = st
        .user("+221770000001", "Awa Ndiaye", Some("1990-05-04"))
        .await;
    let mut tasks = Vec::new();
    for i in 0..51 {
        let url = st.app.url("/invitations");
        let client = st.app.client.clone();
        let t = token(sponsor);
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(t)
                .json(&json!({"contacts": [{"phone": format!("+22178100{i:04}")}]}))
                .send()
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    let mut limited = Vec::new();
    for t in tasks {
        let res = t.await.unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            429 => limited.push(res.json::<serde_json::Value>().await.unwrap()),
            s => panic!("unexpected status {s}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(created, 50);
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["code"], "daily_limit_reached");
    assert_eq!(
        st.count("select count(*) from referral.referrals").await,
        50
    );
    assert_eq!(
        st.count("select max(invitations_sent_today)::bigint from referral.sponsor_daily_limits")
            .await,
        50
    );
    // Each invitation has its own order in the day, 1 to 50.
    let orders: Vec<i32> =
        sqlx::query_scalar("select invitation_order from referral.referrals order by 1")
            .fetch_all(st.pool())
            .await
            .unwrap();
    assert_eq!(orders, (1..=50).collect::<Vec<_>>());
    // One SMS request per invitation, with the code and the link.
    let n = st
        .count(
            "select count(*) from wolo.outbox where topic = 'notification.requested'
               and payload->>'message' = 'referral_invitation'
               and payload->'data'->>'invite_url' like '%' || (payload->'data'->>'referral_code')",
        )
        .await;
    assert_eq!(n, 50);
    // Every invitation code starts with the sponsor's personal code.
    let me = expect(
        st.app
            .request(Method::GET, "/me")
            .bearer_auth(token(sponsor))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["remaining_today"], 0);
    let code = me["sponsor_code"].as_str().unwrap().to_string();
    assert!(code.starts_with("AWA"), "{code}");
    assert_eq!(
        st.count(&format!(
            "select count(*) from referral.referrals where referral_code like '{code}-%'"
        ))
        .await,
        50
    );
}

#[tokio::test]
async fn the_limit_resets_at_midnight_in_dakar_and_requests_are_all_or_nothing() {
    let st = stack().await;
    let sponsor = st
        .user("+221770000002", "Moussa Diop", Some("1985-01-01"))
        .await;
    let late = Dakar
        .with_ymd_and_hms(2026, 3, 10, 23, 58, 0)
        .unwrap()
        .with_timezone(&Utc);
    let req = |c: Vec<Contact>| InviteRequest {
        contacts: Some(c),
        ..Default::default()
    };
    let out = invite(st.pool(), sponsor, req(contacts(40, 1)), late, "https://x/")
        .await
        .unwrap();
    assert_eq!(out["remaining_today"], 10);
    // 11 more do not fit: none is sent.
    let err = invite(st.pool(), sponsor, req(contacts(11, 2)), late, "https://x/")
        .await
        .unwrap_err();
    assert_eq!(err.status.as_u16(), 429);
    assert_eq!(
        st.count("select count(*) from referral.referrals").await,
        40
    );
    let out = invite(st.pool(), sponsor, req(contacts(10, 3)), late, "https://x/")
        .await
        .unwrap();
    assert_eq!(out["invitations"][9]["invitation_order"], 50);
    let err = invite(st.pool(), sponsor, req(contacts(1, 4)), late, "https://x/")
        .await
        .unwrap_err();
    assert_eq!(err.status.as_u16(), 429);
    // 00:00:30 in Dakar: a new day.
    let next = Dakar
        .with_ymd_and_hms(2026, 3, 11, 0, 0, 30)
        .unwrap()
        .with_timezone(&Utc);
    let out = invite(st.pool(), sponsor, req(contacts(1, 5)), next, "https://x/")
        .await
        .unwrap();
    assert_eq!(out["invitations"][0]["invitation_order"], 1);
    assert_eq!(out["remaining_today"], 49);
    let days: Vec<chrono::NaiveDate> = sqlx::query_scalar(
        "select limit_date from referral.sponsor_daily_limits order by limit_date",
    )
    .fetch_all(st.pool())
    .await
    .unwrap();
    assert_eq!(
        days.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        vec!["2026-03-10", "2026-03-11"]
    );
    let (streak, lifetime): (Option<i32>, Option<i32>) = sqlx::query_as(
        "select consecutive_active_days, total_lifetime_invitations from referral.sponsor_daily_limits
         where limit_date = '2026-03-11'",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!((streak, lifetime), (Some(2), Some(51)));
}

#[tokio::test]
async fn invitations_through_plain_rest_count_towards_the_limit() {
    let st = stack().await;
    let sponsor = st
        .user("+221770000003", "Fatou Sall", Some("1992-02-02"))
        .await;
    let now = Utc::now();
    invite(
        st.pool(),
        sponsor,
        InviteRequest {
            contacts: Some(contacts(49, 6)),
            ..Default::default()
        },
        now,
        "https://x/",
    )
    .await
    .unwrap();
    let rest_insert = |code: &str, phone: &str| {
        st.app
            .request(Method::POST, "/referrals")
            .bearer_auth(token(sponsor))
            .header("prefer", "return=representation")
            .json(
                &json!({"sponsor_user_id": sponsor, "referral_code": code, "invited_phone": phone}),
            )
            .send()
    };
    let row = expect(rest_insert("REST-1", "+221779990001").await.unwrap(), 201).await;
    assert_eq!(row[0]["invitation_order"], 50);
    assert!(row[0]["daily_limit_id"].is_string());
    // Inserting as another sponsor neither works nor touches their counter.
    let victim = st.user("+221770000099", "Victime", None).await;
    let res = st
        .app
        .request(Method::POST, "/referrals")
        .bearer_auth(token(sponsor))
        .json(&json!({"sponsor_user_id": victim, "referral_code": "EVIL-1", "invited_phone": "+221779990009"}))
        .send()
        .await
        .unwrap();
    expect(res, 403).await;
    assert_eq!(
        st.count(&format!(
            "select count(*) from referral.sponsor_daily_limits where sponsor_user_id = '{victim}'"
        ))
        .await,
        0
    );
    let err = expect(rest_insert("REST-2", "+221779990002").await.unwrap(), 400).await;
    assert_eq!(err["code"], "WL429");
    assert_eq!(
        st.count("select count(*) from referral.referrals").await,
        50
    );
}

#[tokio::test]
async fn contacts_are_offered_in_batches_and_picked_individually_or_all() {
    let st = stack().await;
    let sponsor = st
        .user("+221770000004", "Ibrahima Fall", Some("1980-07-07"))
        .await;
    let contacts = json!([
        {"contact_id": "a", "name": "A", "phone": "77 100 00 01"},
        {"contact_id": "b", "name": "B", "phone": "77 100 00 02"},
        {"contact_id": "c", "name": "C", "email": "C@Example.com"}
    ]);
    let b1 = expect(
        st.post("/contact-batches", sponsor, json!({"contacts": contacts}))
            .await,
        201,
    )
    .await;
    assert_eq!(
        (
            b1["batch_number"].as_i64(),
            b1["start_position"].as_i64(),
            b1["end_position"].as_i64()
        ),
        (Some(1), Some(0), Some(3))
    );
    let b2 = expect(
        st.post(
            "/contact-batches",
            sponsor,
            json!({"contacts": [{"phone": "771000004"}]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (b2["batch_number"].as_i64(), b2["start_position"].as_i64()),
        (Some(2), Some(3))
    );
    let too_many: Vec<_> = (0..51)
        .map(|i| json!({"phone": format!("+22177200{i:04}")}))
        .collect();
    let err = expect(
        st.post("/contact-batches", sponsor, json!({"contacts": too_many}))
            .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "validation_failed");

    // Pick two from batch 1.
    let out = expect(
        st.post(
            "/invitations",
            sponsor,
            json!({"batch_id": b1["id"], "contact_ids": ["a", "c"]}),
        )
        .await,
        201,
    )
    .await;
    let invited: BTreeSet<String> = out["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["invited_phone"]
                .as_str()
                .or(i["invited_email"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        invited,
        BTreeSet::from(["+221771000001".to_string(), "c@example.com".to_string()])
    );
    let (status, sent, auto): (Option<String>, Option<i32>, Option<bool>) = sqlx::query_as(
        "select status, sent_count, auto_selected from referral.sponsor_contact_batches where batch_number = 1",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(
        (status.as_deref(), sent, auto),
        (Some("sent"), Some(2), Some(false))
    );
    // A batch is sent once; batch 2 whole.
    expect(
        st.post("/invitations", sponsor, json!({"batch_id": b1["id"]}))
            .await,
        409,
    )
    .await;
    let out = expect(
        st.post("/invitations", sponsor, json!({"batch_id": b2["id"]}))
            .await,
        201,
    )
    .await;
    assert_eq!(out["invitations"][0]["invitation_order"], 3);
    assert_eq!(
        st.count("select count(*) from referral.referrals where batch_id is not null")
            .await,
        3
    );
    // Inviting oneself is refused.
    let err = expect(
        st.post(
            "/invitations",
            sponsor,
            json!({"contacts": [{"phone": "+221770000004"}]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "self_referral");
}

#[tokio::test]
async fn invitations_expire_after_seven_days() {
    let st = stack().await;
    let sponsor = st.user("+221770000005", "Awa", Some("1990-01-01")).await;
    let code = st.invite(sponsor, "+221771110001").await;
    let now = Utc::now();
    assert_eq!(
        referral::invitations::expire_invitations_once(
            &st.db.service_pool("referral"),
            now + chrono::Duration::days(6)
        )
        .await
        .unwrap(),
        0
    );
    assert_eq!(
        referral::invitations::expire_invitations_once(
            &st.db.service_pool("referral"),
            now + chrono::Duration::days(7) + chrono::Duration::seconds(5)
        )
        .await
        .unwrap(),
        1
    );
    let status: String = sqlx::query_scalar("select status from referral.referrals")
        .fetch_one(st.pool())
        .await
        .unwrap();
    assert_eq!(status, "expired");
    let invited = st.user("+221771110001", "Invité", Some("1995-01-01")).await;
    let err = expect(
        st.post("/accept", invited, json!({"code": code})).await,
        410,
    )
    .await;
    assert_eq!(err["code"], "referral_expired");
}
