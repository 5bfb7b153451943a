use admin::flags::{bucket, evaluate, Flag, Subject};
use reqwest::Method;
use serde_json::json;

use crate::{audits, expect, stack};

fn flag(pct: i32) -> Flag {
    Flag {
        flag_key: "new_checkout".into(),
        is_enabled: Some(true),
        flag_type: Some("boolean".into()),
        flag_value: None,
        rollout_percentage: Some(pct),
        target_user_groups: None,
        target_regions: None,
        environment: None,
    }
}

#[test]
fn raising_the_rollout_never_takes_the_flag_away() {
    let subjects: Vec<Subject> = (0..2000)
        .map(|i| Subject {
            id: Some(format!("user-{i}")),
            ..Subject::default()
        })
        .collect();
    let mut previous: Vec<bool> = vec![false; subjects.len()];
    for pct in (0..=100).step_by(5) {
        let now: Vec<bool> = subjects
            .iter()
            .map(|s| evaluate(&flag(pct), s, "production").0)
            .collect();
        for (i, (was, is)) in previous.iter().zip(&now).enumerate() {
            assert!(!was || *is, "subject {i} lost the flag at {pct} %");
        }
        let share = now.iter().filter(|x| **x).count() as f64 / subjects.len() as f64;
        assert!(
            (share - pct as f64 / 100.0).abs() < 0.04,
            "{pct} %: {share}"
        );
        previous = now;
    }
    assert_eq!(bucket("k", "s"), bucket("k", "s"));
}

#[test]
fn targeting_groups_regions_and_environment() {
    let mut f = flag(100);
    f.target_user_groups = Some(vec!["beta_users".into()]);
    f.target_regions = Some(vec!["Thiès".into()]);
    let s = |g: &[&str], r: Option<&str>| Subject {
        id: Some("u".into()),
        region: r.map(String::from),
        groups: g.iter().map(|x| x.to_string()).collect(),
    };
    assert_eq!(
        evaluate(&f, &s(&["beta_users"], Some("thiès")), "production"),
        (true, "on")
    );
    assert_eq!(
        evaluate(&f, &s(&[], Some("Thiès")), "production").1,
        "group"
    );
    assert_eq!(
        evaluate(&f, &s(&["beta_users"], Some("Dakar")), "production").1,
        "region"
    );
    f.environment = Some("development".into());
    assert_eq!(
        evaluate(&f, &s(&["beta_users"], Some("Thiès")), "production").1,
        "environment"
    );
    f.environment = Some("production".into());
    assert!(evaluate(&f, &s(&["beta_users"], Some("Thiès")), "development").0);
}

#[tokio::test]
async fn admins_manage_flags_through_rest_and_clients_evaluate_them_with_caching() {
    let s = stack().await;
    let created = expect(
        s.admin_req(Method::POST, "/feature_flags")
            .header("prefer", "return=representation")
            .json(
                &json!({"flag_key": "new_checkout", "name": "Nouveau paiement", "is_enabled": true,
                          "rollout_percentage": 0, "environment": null}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(created[0]["last_modified_by_user_id"], s.admin.to_string());
    let rows = audits(&s.db.pool, "feature_flags_insert").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(s.admin));
    assert_eq!(rows[0].1.as_deref(), Some("127.0.0.1"));
    assert_eq!(rows[0].2.as_deref(), Some("req-test-1"));
    assert_eq!(rows[0].4.as_ref().unwrap()["flag_key"], "new_checkout");

    let res = s.app.get("/flags/evaluate?anonymous_id=visitor-42").await;
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=15"));
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let body = expect(res, 200).await;
    assert_eq!(
        body["flags"]["new_checkout"],
        json!({"enabled": false, "value": false, "reason": "rollout"})
    );
    // Reference flags from V21 are listed too.
    assert!(body["flags"].as_object().unwrap().len() > 1);
    let again = s
        .app
        .request(Method::GET, "/flags/evaluate?anonymous_id=visitor-42")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // 100 %: the next request sees it (no server cache), with a new ETag.
    expect(
        s.admin_req(Method::PATCH, "/feature_flags?flag_key=eq.new_checkout")
            .json(&json!({"rollout_percentage": 100}))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    let res = s
        .app
        .request(Method::GET, "/flags/evaluate?anonymous_id=visitor-42")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    let body = expect(res, 200).await;
    assert_eq!(body["flags"]["new_checkout"]["enabled"], true);
    let upd = audits(&s.db.pool, "feature_flags_update").await;
    assert_eq!(upd.len(), 1);
    assert_eq!(upd[0].3.as_ref().unwrap()["rollout_percentage"], 0);
    assert_eq!(upd[0].4.as_ref().unwrap()["rollout_percentage"], 100);

    // A user may not ask for someone else's flags; nobody but admins writes flags.
    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221770000400') returning id",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let t = testkit::token(auth::Role::User, user);
    let res = s
        .app
        .request(Method::GET, &format!("/flags/evaluate?user_id={}", s.admin))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    expect(res, 403).await;
    let res = s
        .app
        .request(Method::PATCH, "/feature_flags?flag_key=eq.new_checkout")
        .bearer_auth(&t)
        .json(&json!({"is_enabled": false}))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 403 || res.status() == 401 || res.status() == 404,
        "{}",
        res.status()
    );

    expect(
        s.admin_req(Method::DELETE, "/feature_flags?flag_key=eq.new_checkout")
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    assert_eq!(audits(&s.db.pool, "feature_flags_delete").await.len(), 1);
}

#[tokio::test]
async fn a_user_s_flags_need_that_user_s_token_or_an_admin() {
    let s = stack().await;
    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221770000401') returning id",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let path = format!("/flags/evaluate?user_id={user}");

    // Anonymous: refused (401), in PostgREST's shape.
    let e = expect(s.app.get(&path).await, 401).await;
    assert_eq!(e["code"], "42501");
    // The user's own token, an admin's: the user's evaluation, personal, so never stored.
    let res = s
        .app
        .request(Method::GET, &path)
        .bearer_auth(testkit::token(auth::Role::User, user))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let own = expect(res, 200).await;
    assert_eq!(own["subject"], user.to_string());
    let by_admin = expect(s.admin_req(Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(by_admin["subject"], user.to_string());
    // A partner or another user: 403.
    let other = testkit::token(auth::Role::Partner, uuid::Uuid::new_v4());
    let res = s
        .app
        .request(Method::GET, &path)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect(res, 403).await;

    // Anonymous evaluation without a user id stays open, in its own namespace: passing a
    // user's id as anonymous_id does not give that user's buckets.
    let anon = expect(
        s.app
            .get(&format!("/flags/evaluate?anonymous_id={user}"))
            .await,
        200,
    )
    .await;
    assert_eq!(anon["subject"], format!("anon:{user}"));
    let long = "v".repeat(200);
    expect(
        s.app
            .get(&format!("/flags/evaluate?anonymous_id={long}"))
            .await,
        400,
    )
    .await;
}
