//! The lifecycle job at each boundary, guarded transitions, owner close, the snapshot job.

use chrono::{Duration, NaiveDate};
use pots::lifecycle::{expires_at, lifecycle_once};
use reqwest::Method;
use serde_json::json;

use crate::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn opens_at_j30_exactly_not_a_second_before() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let birthday = d("2027-03-15");
    let j30 = dakar_midnight(d("2027-02-13"));
    assert_eq!(j30, t("2027-02-13T00:00:00Z"));
    let p = pot(s.pool(), owner, birthday, j30, "scheduled", 10_000).await;

    let c = lifecycle_once(
        &s.db.service_pool("pots"),
        j30 - Duration::seconds(1),
        &web(),
    )
    .await
    .unwrap();
    assert_eq!(c.opened, 0);
    assert_eq!(status(s.pool(), p).await, "scheduled");
    assert!(events(s.pool(), "pot.opened", p).await.is_empty());

    let c = lifecycle_once(&s.db.service_pool("pots"), j30, &web())
        .await
        .unwrap();
    assert_eq!(c.opened, 1);
    assert_eq!(status(s.pool(), p).await, "open");
    let opened: DateTime<Utc> =
        sqlx::query_scalar("select actual_opened_at from pots.pots where id = $1")
            .bind(p)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(opened, j30);
    let ev = events(s.pool(), "pot.opened", p).await;
    assert_eq!(
        ev,
        vec![json!({"pot_id": p, "owner_user_id": owner, "birthday_date": "2027-03-15"})]
    );

    // The owner is told, with the pot's link.
    let bodies = notified(s.pool(), owner, "pot_opened").await;
    assert!(
        bodies.iter().all(|b| b.contains(&format!("/p/{p}"))),
        "{bodies:?}"
    );

    // Running again changes nothing and publishes nothing more.
    let c = lifecycle_once(&s.db.service_pool("pots"), j30 + Duration::hours(1), &web())
        .await
        .unwrap();
    assert_eq!(c, Default::default());
    assert_eq!(events(s.pool(), "pot.opened", p).await.len(), 1);
}

#[tokio::test]
async fn expires_when_the_birthday_day_is_over_in_dakar_unless_funded() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let birthday = d("2027-03-15");
    let open_at = dakar_midnight(d("2027-02-13"));
    let unfunded = pot(s.pool(), owner, birthday, open_at, "scheduled", 10_000).await;
    let funded = pot(s.pool(), owner, birthday, open_at, "scheduled", 10_000).await;
    lifecycle_once(&s.db.service_pool("pots"), open_at, &web())
        .await
        .unwrap();
    sqlx::query("update pots.pots set raised_amount_cfa = 10000 where id = $1")
        .bind(funded)
        .execute(s.pool())
        .await
        .unwrap();
    let c = lifecycle_once(
        &s.db.service_pool("pots"),
        open_at + Duration::minutes(1),
        &web(),
    )
    .await
    .unwrap();
    assert_eq!(c.funded, 1);
    assert_eq!(status(s.pool(), funded).await, "funded");

    let end = expires_at(birthday);
    assert_eq!(end, t("2027-03-16T00:00:00Z"));
    // On the birthday itself (last second), the pot is still open.
    let c = lifecycle_once(
        &s.db.service_pool("pots"),
        end - Duration::seconds(1),
        &web(),
    )
    .await
    .unwrap();
    assert_eq!(c.expired, 0);
    assert_eq!(status(s.pool(), unfunded).await, "open");

    let c = lifecycle_once(&s.db.service_pool("pots"), end, &web())
        .await
        .unwrap();
    assert_eq!(c.expired, 1);
    assert_eq!(status(s.pool(), unfunded).await, "expired");
    assert_eq!(status(s.pool(), funded).await, "funded");
    assert_eq!(
        events(s.pool(), "pot.expired", unfunded).await,
        vec![json!({"pot_id": unfunded, "owner_user_id": owner, "raised_amount_cfa": 0})]
    );
    assert_eq!(events(s.pool(), "pot.funded", funded).await.len(), 1);
    // An expired pot never opens again.
    let c = lifecycle_once(&s.db.service_pool("pots"), end + Duration::days(1), &web())
        .await
        .unwrap();
    assert_eq!(c, Default::default());
}

#[tokio::test]
async fn invalid_transitions_are_refused_by_the_database() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = pot(
        s.pool(),
        owner,
        d("2027-03-15"),
        t("2027-02-13T00:00:00Z"),
        "scheduled",
        1000,
    )
    .await;
    lifecycle_once(
        &s.db.service_pool("pots"),
        t("2027-02-13T00:00:00Z"),
        &web(),
    )
    .await
    .unwrap();
    for bad in ["scheduled", "funded_x"] {
        let err = sqlx::query("update pots.pots set status = $2 where id = $1")
            .bind(p)
            .bind(bad)
            .execute(s.pool())
            .await
            .unwrap_err();
        let code = err.as_database_error().unwrap().code().unwrap().to_string();
        assert_eq!(code, "23514", "{err}");
    }
    sqlx::query("update pots.pots set status = 'closed' where id = $1")
        .bind(p)
        .execute(s.pool())
        .await
        .unwrap();
    for bad in ["open", "funded", "expired", "scheduled"] {
        let err = sqlx::query("update pots.pots set status = $2 where id = $1")
            .bind(p)
            .bind(bad)
            .execute(s.pool())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot go from closed to"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_owner_closes_once_others_are_refused() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let stranger = user(s.pool(), None).await;
    let p = pot(
        s.pool(),
        owner,
        d("2027-03-15"),
        t("2027-02-13T00:00:00Z"),
        "scheduled",
        1000,
    )
    .await;
    lifecycle_once(
        &s.db.service_pool("pots"),
        t("2027-02-13T00:00:00Z"),
        &web(),
    )
    .await
    .unwrap();
    let path = format!("/pots/{p}/close");

    let err = expect(s.send(Method::POST, &path, None, None).await, 401).await;
    assert_eq!(err["code"], "PGRST301");
    let err = expect(
        s.send(Method::POST, &path, Some(&user_token(stranger)), None)
            .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "42501");
    assert_eq!(status(s.pool(), p).await, "open");
    expect(
        s.send(
            Method::POST,
            &format!("/pots/{}/close", Uuid::new_v4()),
            Some(&user_token(owner)),
            None,
        )
        .await,
        404,
    )
    .await;

    // 20 concurrent closes by the owner: one wins, the others see it closed.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = s.app.url(&path);
        let token = user_token(owner);
        set.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"reason": "Je veux mon cadeau"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 19, "{codes:?}");
    assert_eq!(status(s.pool(), p).await, "closed");
    let ev = events(s.pool(), "pot.closed", p).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["reason"], "Je veux mon cadeau");
    assert_eq!(ev[0]["owner_user_id"], owner.to_string());
    assert_eq!(ev[0]["raised_amount_cfa"], 0);
    assert_eq!(ev[0]["birthday_date"], "2027-03-15");
    assert!(ev[0]["preferred_pack_id"].is_null());
    let closed_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("select closed_at from pots.pots where id = $1")
            .bind(p)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert!(closed_at.is_some());
    // A closed pot stays closed: the job does not touch it.
    let c = lifecycle_once(
        &s.db.service_pool("pots"),
        t("2027-04-01T00:00:00Z"),
        &web(),
    )
    .await
    .unwrap();
    assert_eq!(c, Default::default());
    // Nor can the owner edit it any more.
    let res = s
        .send(
            Method::PATCH,
            &format!("/pots?id=eq.{p}"),
            Some(&user_token(owner)),
            Some(json!({"title": "encore"})),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_daily_snapshot_upserts_one_row_per_pot_and_day() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let open = pot(
        s.pool(),
        owner,
        d("2027-03-15"),
        t("2027-02-13T00:00:00Z"),
        "open",
        10_000,
    )
    .await;
    let scheduled = pot(
        s.pool(),
        owner,
        d("2027-08-15"),
        t("2027-07-16T00:00:00Z"),
        "scheduled",
        10_000,
    )
    .await;
    let no_view = pot(
        s.pool(),
        owner,
        d("2027-03-20"),
        t("2027-02-18T00:00:00Z"),
        "open",
        10_000,
    )
    .await;
    sqlx::query(
        "update pots.pots set raised_amount_cfa = 4000, donor_count = 2, view_count = 3, share_count = 5
         where id = $1",
    )
    .bind(open)
    .execute(s.pool())
    .await
    .unwrap();
    let now = t("2027-02-20T10:00:00Z");
    assert_eq!(
        pots::analytics::snapshot_once(&s.db.service_pool("pots"), now)
            .await
            .unwrap(),
        2
    );
    sqlx::query("update pots.pots set view_count = 4 where id = $1")
        .bind(open)
        .execute(s.pool())
        .await
        .unwrap();
    // Later the same day: the row is refreshed, not duplicated.
    assert_eq!(
        pots::analytics::snapshot_once(&s.db.service_pool("pots"), now + Duration::hours(5))
            .await
            .unwrap(),
        2
    );
    type Row = (NaiveDate, i32, i32, i32, i32, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "select snapshot_date, total_raised_cfa, donor_count, view_count, share_count,
                conversion_rate::text
         from pots.pot_analytics where pot_id = $1",
    )
    .bind(open)
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![(d("2027-02-20"), 4000, 2, 4, 5, Some("0.5000".into()))]
    );
    let n: i64 = sqlx::query_scalar("select count(*) from pots.pot_analytics where pot_id = $1")
        .bind(scheduled)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    let rate: Option<String> = sqlx::query_scalar(
        "select conversion_rate::text from pots.pot_analytics where pot_id = $1",
    )
    .bind(no_view)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(rate, None);
    // The next day: a new row.
    pots::analytics::snapshot_once(&s.db.service_pool("pots"), now + Duration::days(1))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from pots.pot_analytics where pot_id = $1")
        .bind(open)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn concurrent_lifecycle_runs_open_each_pot_once() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let open_at = t("2027-02-13T00:00:00Z");
    let mut pots_ = Vec::new();
    for _ in 0..30 {
        pots_.push(pot(s.pool(), owner, d("2027-03-15"), open_at, "scheduled", 1000).await);
    }
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let pool = s.pool().clone();
        set.spawn(async move {
            lifecycle_once(&testkit::service_pool_of(&pool, "pots"), open_at, &web())
                .await
                .unwrap()
                .opened
        });
    }
    let mut opened = 0;
    while let Some(n) = set.join_next().await {
        opened += n.unwrap();
    }
    assert_eq!(opened, 30);
    for p in pots_ {
        assert_eq!(status(s.pool(), p).await, "open");
        assert_eq!(events(s.pool(), "pot.opened", p).await.len(), 1);
    }
}

#[tokio::test]
async fn an_admin_may_close_a_pot_and_it_is_audited() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let admin = user(s.pool(), None).await;
    let p = pot(
        s.pool(),
        owner,
        d("2027-03-15"),
        t("2027-02-13T00:00:00Z"),
        "open",
        1000,
    )
    .await;
    let body = expect(
        s.send(
            Method::POST,
            &format!("/pots/{p}/close"),
            Some(&testkit::token(auth::Role::Admin, admin)),
            Some(json!({"reason": "fraude signalée"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(body["status"], "closed");
    let (actor, action, old_status, new_status): (Option<Uuid>, String, String, String) =
        sqlx::query_as(
            "select actor_user_id, action, old_values->>'status', new_values->>'status'
         from admin.audit_logs where resource_id = $1",
        )
        .bind(p)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(
        (
            actor,
            action.as_str(),
            old_status.as_str(),
            new_status.as_str()
        ),
        (Some(admin), "pots_update", "open", "closed")
    );
    // Owners' own closes are not admin actions: no audit row.
    let p2 = pot(
        s.pool(),
        owner,
        d("2027-03-15"),
        t("2027-02-13T00:00:00Z"),
        "open",
        1000,
    )
    .await;
    expect(
        s.send(
            Method::POST,
            &format!("/pots/{p2}/close"),
            Some(&user_token(owner)),
            None,
        )
        .await,
        200,
    )
    .await;
    let n: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs where resource_id = $1")
        .bind(p2)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_minors_pot_waits_for_the_guardians_confirmation() {
    let s = stack().await;
    let guardian = user(s.pool(), Some("Awa Diop")).await;
    let minor = user(s.pool(), None).await;
    // Twelve years old today, whatever the date the test runs.
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth, guardian_user_id, relationship_type)
         values ($1, 'Khadija Diop', (now() at time zone 'Africa/Dakar')::date - interval '12 years', $2, 'parent')",
    )
    .bind(minor)
    .bind(guardian)
    .execute(s.pool())
    .await
    .unwrap();
    let now = Utc::now();
    let birthday = (now + Duration::days(20)).date_naive();
    let p = pot(
        s.pool(),
        minor,
        birthday,
        now - Duration::hours(1),
        "scheduled",
        10_000,
    )
    .await;

    let c = lifecycle_once(&s.db.service_pool("pots"), now, &web())
        .await
        .unwrap();
    assert_eq!(c.opened, 0, "no guardian confirmation yet");
    assert_eq!(status(s.pool(), p).await, "scheduled");

    sqlx::query(
        "update profiles.profiles set guardian_confirmed_at = now(), guardian_confirmed_by = guardian_user_id
         where user_id = $1",
    )
    .bind(minor)
    .execute(s.pool())
    .await
    .unwrap();
    let c = lifecycle_once(&s.db.service_pool("pots"), now, &web())
        .await
        .unwrap();
    assert_eq!(c.opened, 1);
    assert_eq!(status(s.pool(), p).await, "open");
}
