//! Creating and editing pots through the REST layer: the server computes the J-30 date and
//! the owner, whatever the client sends.

use chrono::{Days, Utc};
use reqwest::Method;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn birthday_in_45_days_opens_at_j30_midnight_dakar() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let birthday = today() + Days::new(45);
    let pot = expect(s.create_pot(owner, pot_body(birthday)).await, 201).await;
    let expected = dakar_midnight(birthday - Days::new(30));
    // Dakar is UTC+0 all year: 00:00 in Dakar is 00:00 UTC.
    assert_eq!(expected.format("%H:%M:%S").to_string(), "00:00:00");
    assert_eq!(t(pot["scheduled_open_at"].as_str().unwrap()), expected);
    assert_eq!(pot["status"], "scheduled");
    assert_eq!(pot["owner_user_id"], owner.to_string());
    assert_eq!(pot["raised_amount_cfa"], 0);

    // pot.created was published with the contract's fields.
    let id: Uuid = pot["id"].as_str().unwrap().parse().unwrap();
    let ev = events(s.pool(), "pot.created", id).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["owner_user_id"], owner.to_string());
    assert_eq!(ev[0]["birthday_date"], birthday.to_string());
    assert_eq!(ev[0]["target_amount_cfa"], 50000);
    assert_eq!(t(ev[0]["scheduled_open_at"].as_str().unwrap()), expected);
    assert!(ev[0]["created_from_referral_id"].is_null());
}

#[tokio::test]
async fn birthday_in_10_days_is_due_now_and_tomorrow_is_due_at_once() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let before = Utc::now() - chrono::Duration::seconds(1);
    let pot = expect(
        s.create_pot(owner, pot_body(today() + Days::new(10))).await,
        201,
    )
    .await;
    let after = Utc::now() + chrono::Duration::seconds(1);
    let at = t(pot["scheduled_open_at"].as_str().unwrap());
    assert!(at >= before && at <= after, "{at} not within the request");

    // Tomorrow: due already (at most 00:00 Dakar today, the V4 check's bound).
    let pot = expect(
        s.create_pot(owner, pot_body(today() + Days::new(1))).await,
        201,
    )
    .await;
    let at = t(pot["scheduled_open_at"].as_str().unwrap());
    assert!(at <= Utc::now());
    assert_eq!(at, dakar_midnight(today()));

    // The lifecycle job opens both.
    let c = pots::lifecycle::lifecycle_once(&s.db.service_pool("pots"), Utc::now(), &web())
        .await
        .unwrap();
    assert_eq!(c.opened, 2);
}

#[tokio::test]
async fn a_birthday_today_or_in_the_past_is_refused() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    for d in [today(), today() - Days::new(3)] {
        let err = expect(s.create_pot(owner, pot_body(d)).await, 400).await;
        assert_eq!(err["code"], "22023");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("is not in the future"),
            "{err}"
        );
    }
    let n: i64 = sqlx::query_scalar("select count(*) from pots.pots")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_client_cannot_choose_owner_or_dates() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let other = user(s.pool(), None).await;
    let birthday = today() + Days::new(60);
    // A chosen scheduled_open_at is replaced.
    let pot = expect(
        s.create_pot(
            owner,
            json!({"title": "x", "target_amount_cfa": 1000, "birthday_date": birthday,
                   "scheduled_open_at": "2000-01-01T00:00:00Z"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        t(pot["scheduled_open_at"].as_str().unwrap()),
        dakar_midnight(birthday - Days::new(30))
    );
    // Someone else as owner: refused by the owner_insert policy.
    let err = expect(
        s.create_pot(
            owner,
            json!({"title": "x", "target_amount_cfa": 1000, "birthday_date": birthday,
                   "owner_user_id": other}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "42501");
    // Naming oneself is fine.
    let pot = expect(
        s.create_pot(
            owner,
            json!({"title": "x", "target_amount_cfa": 1000, "birthday_date": birthday,
                   "owner_user_id": owner}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(pot["owner_user_id"], owner.to_string());
    // Lifecycle columns are not the user's (column grants).
    let res = s
        .create_pot(
            owner,
            json!({"title": "x", "target_amount_cfa": 1000, "birthday_date": birthday, "status": "open"}),
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let id = pot["id"].as_str().unwrap();
    let res = s
        .send(
            Method::PATCH,
            &format!("/pots?id=eq.{id}"),
            Some(&user_token(owner)),
            Some(json!({"status": "funded"})),
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // The owner edits what is theirs.
    let res = s
        .send(
            Method::PATCH,
            &format!("/pots?id=eq.{id}"),
            Some(&user_token(owner)),
            Some(json!({"title": "Mes 31 ans", "target_amount_cfa": 2000})),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (title, target, st): (String, i32, String) = sqlx::query_as(
        "select title, target_amount_cfa, status from pots.pots where id = $1::uuid",
    )
    .bind(id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(
        (title.as_str(), target, st.as_str()),
        ("Mes 31 ans", 2000, "scheduled")
    );
    // Anonymous callers cannot create pots.
    let res = s
        .app
        .request(Method::POST, "/pots")
        .json(&pot_body(birthday))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
}

#[tokio::test]
async fn the_rust_and_sql_schedules_agree_at_the_boundaries() {
    let s = stack().await;
    let birthday = today() + Days::new(45);
    let j30 = dakar_midnight(birthday - Days::new(30));
    for now in [
        j30 - chrono::Duration::seconds(1),
        j30,
        j30 + chrono::Duration::seconds(1),
        dakar_midnight(birthday - Days::new(1)) + chrono::Duration::hours(5),
    ] {
        let sql: chrono::DateTime<Utc> =
            sqlx::query_scalar("select pots.scheduled_open_at($1, $2)")
                .bind(birthday)
                .bind(now)
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(
            Some(sql),
            pots::lifecycle::scheduled_open_at(birthday, now),
            "now = {now}"
        );
    }
    assert_eq!(
        pots::lifecycle::scheduled_open_at(birthday, j30 - chrono::Duration::seconds(1)),
        Some(j30)
    );
    assert_eq!(
        pots::lifecycle::scheduled_open_at(birthday, j30 + chrono::Duration::seconds(1)),
        Some(j30 + chrono::Duration::seconds(1))
    );
    assert_eq!(
        pots::lifecycle::scheduled_open_at(birthday, dakar_midnight(birthday)),
        None
    );
}
