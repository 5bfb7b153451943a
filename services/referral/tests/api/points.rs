use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{expect, stack, Stack};

async fn accepted_referral(st: &Stack, n: u32) -> (Uuid, Uuid, Uuid) {
    let sponsor = st
        .user(
            &format!("+2217700001{n:02}"),
            "Awa Ndiaye",
            Some("1990-05-04"),
        )
        .await;
    let phone = format!("+2217733301{n:02}");
    let code = st.invite(sponsor, &phone).await;
    let invited = st.user(&phone, "Moussa Diop", Some("1996-08-20")).await;
    let out = expect(
        st.post("/accept", invited, json!({"code": code})).await,
        200,
    )
    .await;
    (
        sponsor,
        invited,
        out["pot_id"].as_str().unwrap().parse().unwrap(),
    )
}

/// Publishes `event` as its producer does (the payload of its contract, platform::events).
async fn publish<T: platform::events::Topic>(st: &Stack, event: &T) {
    let mut conn = st.pool().acquire().await.unwrap();
    platform::events::publish(&mut conn, event, "test")
        .await
        .unwrap();
}

async fn balance(st: &Stack, sponsor: Uuid) -> i64 {
    sqlx::query_scalar::<_, i32>("select referral.points_balance($1)")
        .bind(sponsor)
        .fetch_one(st.pool())
        .await
        .unwrap() as i64
}

#[tokio::test]
async fn points_mature_after_the_delay_and_refunds_revoke_them() {
    let st = stack().await;
    let (sponsor, invited, pot) = accepted_referral(&st, 1).await;
    let now = Utc::now();
    assert_eq!(
        referral::points::mature_points_once(
            &st.db.service_pool("referral"),
            now + Duration::days(13)
        )
        .await
        .unwrap(),
        0
    );
    assert_eq!(balance(&st, sponsor).await, 0);

    // The pot opens, then receives its first donation (and a second one).
    let opened = platform::events::PotOpened {
        pot_id: pot,
        owner_user_id: invited,
        birthday_date: now.date_naive(),
    };
    publish(&st, &opened).await;
    st.consume_until(
        "select exists (select 1 from referral.points_ledger where event_type = 'pot_opened')",
    )
    .await;
    let mut donations = Vec::new();
    for amount in [5000, 7000] {
        let id: Uuid = sqlx::query_scalar(
            "insert into donations.donations (pot_id, amount_cfa, status, donor_phone) values ($1, $2, 'succeeded', '+221779999999') returning id",
        )
        .bind(pot)
        .bind(amount)
        .fetch_one(st.pool())
        .await
        .unwrap();
        donations.push(id);
        let succeeded = platform::events::DonationSucceeded {
            donation_id: id,
            pot_id: pot,
            amount_cfa: i64::from(amount),
            donor_user_id: None,
            donor_phone: Some("+221779999999".into()),
            donor_name: None,
            is_anonymous: false,
            confirmed_at: now,
        };
        publish(&st, &succeeded).await;
    }
    st.consume_until(
        "select exists (select 1 from wolo.outbox_cursors c where c.consumer = 'referral.points'
           and c.last_id >= (select max(id) from wolo.outbox))",
    )
    .await;
    let lines: Vec<(String, i32, Option<Uuid>)> = sqlx::query_as(
        "select event_type, points_earned, donation_id from referral.points_ledger order by created_at, event_type",
    )
    .fetch_all(st.pool())
    .await
    .unwrap();
    let kinds: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(kinds.contains(&"pot_opened") && kinds.contains(&"first_donation"));
    let first = lines.iter().find(|l| l.0 == "first_donation").unwrap();
    assert_eq!((first.1, first.2), (25, Some(donations[0])));

    // The first donation is refunded before maturation: its points are revoked.
    let refunded = platform::events::DonationRefunded {
        donation_id: donations[0],
        pot_id: pot,
        amount_cfa: 5000,
        donor_user_id: None,
        refund_id: Uuid::new_v4(),
    };
    publish(&st, &refunded).await;
    st.consume_until("select exists (select 1 from referral.points_ledger where status = 'revoked' and revoked_reason = 'refunded_donation')").await;

    let matured = referral::points::mature_points_once(
        &st.db.service_pool("referral"),
        now + Duration::days(14) + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(matured, 2);
    assert_eq!(balance(&st, sponsor).await, 150);
    let msg = st
        .count(&format!(
            "select count(*) from wolo.outbox where topic = 'notification.requested'
              and payload->>'message' = 'points_matured' and payload->>'user_id' = '{sponsor}'
              and (payload->'data'->>'balance_points')::int = 150 and (payload->'data'->>'balance_cfa')::int = 1500"
        ))
        .await;
    assert_eq!(msg, 1);
    // Nothing matures twice.
    assert_eq!(
        referral::points::mature_points_once(
            &st.db.service_pool("referral"),
            now + Duration::days(30)
        )
        .await
        .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_active_campaign_multiplies_the_points() {
    let st = stack().await;
    testkit::set_flag(st.pool(), "sponsor_campaigns", true).await;
    sqlx::query(
        "insert into packs.sponsor_campaigns (sponsor_company_name, campaign_name, budget_cfa, starts_at, ends_at, status, points_multiplier)
         values ('Orange', 'Double points', 1000000, now() - interval '1 day', now() + interval '1 day', 'active', 2.00)",
    )
    .execute(st.pool())
    .await
    .unwrap();
    let (sponsor, _, _) = accepted_referral(&st, 2).await;
    let (points, boost, campaign): (i32, f64, Option<Uuid>) = sqlx::query_as(
        "select points_earned, sponsor_boost_multiplier::float8, campaign_id from referral.points_ledger where sponsor_user_id = $1",
    )
    .bind(sponsor)
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(points, 200);
    assert_eq!(boost, 2.0);
    assert!(campaign.is_some());
}

async fn matured_points(st: &Stack, sponsor: Uuid, points: i32) {
    sqlx::query(
        "insert into referral.points_ledger (sponsor_user_id, event_type, points_earned, status, matured_at)
         values ($1, 'referral_accepted', $2, 'matured', now())",
    )
    .bind(sponsor)
    .bind(points)
    .execute(st.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn conversion_credits_the_pot_and_never_overdraws() {
    let st = stack().await;
    testkit::set_flag(st.pool(), "points_conversion", true).await;
    let (sponsor, _invited, pot) = accepted_referral(&st, 3).await;
    matured_points(&st, sponsor, 100).await;
    // Pending points are not spendable.
    assert_eq!(balance(&st, sponsor).await, 100);

    let out = expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 30, "pot_id": pot}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(out["credits_issued"], 300);
    assert_eq!(out["balance_points"], 70);
    let raised: i32 = sqlx::query_scalar("select raised_amount_cfa from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(st.pool())
        .await
        .unwrap();
    assert_eq!(raised, 300);
    let credited = st
        .count(&format!(
            "select count(*) from wolo.outbox where topic = 'pot.credited' and payload->>'pot_id' = '{pot}'
               and (payload->>'amount_cfa')::int = 300 and payload->>'conversion_id' = '{}'",
            out["conversion_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(credited, 1);
    assert_eq!(
        st.count("select count(*) from wolo.outbox where topic = 'notification.requested' and payload->>'message' = 'points_converted'").await,
        1
    );

    let err = expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 71, "pot_id": pot}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(err["code"], "insufficient_points");
    expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 0, "pot_id": pot}),
        )
        .await,
        400,
    )
    .await;
    expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 1, "pot_id": Uuid::new_v4()}),
        )
        .await,
        404,
    )
    .await;

    // 10 concurrent conversions of 10 points against a balance of 70: exactly 7 succeed.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let url = st.app.url("/points/convert");
        let client = st.app.client.clone();
        let t = crate::token(sponsor);
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(t)
                .json(&json!({"points": 10, "pot_id": pot}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => ok += 1,
            409 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(ok, 7);
    assert_eq!(balance(&st, sponsor).await, 0);
    let raised: i32 = sqlx::query_scalar("select raised_amount_cfa from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(st.pool())
        .await
        .unwrap();
    assert_eq!(raised, 1000);
    assert_eq!(
        st.count(
            "select coalesce(sum(credits_issued), 0)::bigint from referral.points_conversions"
        )
        .await,
        1000
    );

    // A fractional rate rounds the credit down.
    matured_points(&st, sponsor, 3).await;
    sqlx::query("update admin.system_config set config_value = '2.5' where config_key = 'points.conversion_rate_cfa_per_point'")
        .execute(st.pool())
        .await
        .unwrap();
    let out = expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 3, "pot_id": pot}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(out["credits_issued"], 7);
    assert_eq!(balance(&st, sponsor).await, 0);
}

#[tokio::test]
async fn every_message_the_service_sends_renders() {
    let st = stack().await;
    testkit::set_flag(st.pool(), "points_conversion", true).await;
    let (sponsor, _invited, pot) = accepted_referral(&st, 4).await;
    referral::points::mature_points_once(
        &st.db.service_pool("referral"),
        Utc::now() + Duration::days(15),
    )
    .await
    .unwrap();
    expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 10, "pot_id": pot}),
        )
        .await,
        201,
    )
    .await;
    let seen = crate::assert_messages_render(&st).await;
    assert_eq!(
        seen,
        vec![
            "points_converted",
            "points_matured",
            "referral_accepted",
            "referral_invitation"
        ]
    );
    let queued = st
        .count("select count(*) from notifications.notifications where message_key = 'points_converted'")
        .await;
    assert!(queued >= 1);
}

#[tokio::test]
async fn conversion_is_refused_while_the_switch_is_off() {
    let st = stack().await;
    let (sponsor, _invited, pot) = accepted_referral(&st, 5).await;
    matured_points(&st, sponsor, 100).await;
    // The reference configuration ships with points_conversion off.
    let err = expect(
        st.post(
            "/points/convert",
            sponsor,
            json!({"points": 30, "pot_id": pot}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "feature_disabled");
    assert_eq!(balance(&st, sponsor).await, 100, "nothing spent");
    assert_eq!(
        st.count("select count(*) from referral.points_conversions")
            .await,
        0
    );
}
