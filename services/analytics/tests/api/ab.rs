use reqwest::Method;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use analytics::ab;

use crate::{expect, stack};

#[test]
fn allocation_is_deterministic_and_within_tolerance_over_10000_ids() {
    let alloc: Map<String, Value> =
        serde_json::from_value(json!({"control": 0.5, "variant_a": 0.3, "variant_b": 0.2}))
            .unwrap();
    let test = "6f1c3a52-0000-4000-8000-000000000001";
    let mut counts = std::collections::HashMap::new();
    for i in 0..10_000 {
        let subject = format!("anon-{i}");
        let v = ab::pick_variant(test, &subject, &alloc).unwrap();
        assert_eq!(ab::pick_variant(test, &subject, &alloc).unwrap(), v);
        *counts.entry(v).or_insert(0) += 1;
    }
    for (v, share) in [("control", 0.5), ("variant_a", 0.3), ("variant_b", 0.2)] {
        let got = counts[v] as f64 / 10_000.0;
        assert!((got - share).abs() < 0.02, "{v}: {got}");
    }
    // A 20 % allocation leaves ~80 % outside the test.
    let small: Map<String, Value> =
        serde_json::from_value(json!({"control": 0.1, "variant_a": 0.1})).unwrap();
    let inside = (0..10_000)
        .filter(|i| ab::pick_variant(test, &format!("u{i}"), &small).is_some())
        .count();
    assert!((1800..=2200).contains(&inside), "{inside}");
}

async fn make_test(pool: &sqlx::PgPool, name: &str, alloc: Value, status: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into analytics.ab_tests (test_name, variants, traffic_allocation, primary_metric, start_date, status)
         values ($1, '{}', $2, 'donation_made', current_date, $3) returning id",
    )
    .bind(name)
    .bind(alloc)
    .bind(status)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn assignment_is_stored_once_and_concurrent_calls_agree() {
    let s = stack().await;
    let test = make_test(
        &s.db.pool,
        "cta",
        json!({"control": 0.5, "variant_a": 0.5}),
        "running",
    )
    .await;
    let first = expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": "cta", "anonymous_id": "visitor-1"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let variant = first["variant"].as_str().unwrap().to_string();
    assert_eq!(
        variant,
        ab::pick_variant(
            &test.to_string(),
            "visitor-1",
            json!({"control": 0.5, "variant_a": 0.5})
                .as_object()
                .unwrap()
        )
        .unwrap()
    );
    let again = expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": test, "anonymous_id": "visitor-1"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(again["variant"], first["variant"]);

    // 20 concurrent first calls for one signed-in user: one row, one answer.
    let user: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221770000300') returning id",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let token = testkit::token(auth::Role::User, user);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let req = s
            .app
            .request(Method::POST, "/ab/assign")
            .bearer_auth(&token)
            .json(&json!({"test": "cta"}));
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        seen.insert(t.await.unwrap()["variant"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 1);
    let rows: i64 =
        sqlx::query_scalar("select count(*) from analytics.ab_test_assignments where user_id = $1")
            .bind(user)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    assert_eq!(rows, 1);

    // Changing the allocation later keeps the stored variant.
    sqlx::query(
        "update analytics.ab_tests set traffic_allocation = '{\"variant_b\": 1.0}' where id = $1",
    )
    .bind(test)
    .execute(&s.db.pool)
    .await
    .unwrap();
    let kept = expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": "cta", "anonymous_id": "visitor-1"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(kept["variant"], first["variant"]);

    // Outside the allocation, and tests not running: no variant, nothing stored.
    make_test(&s.db.pool, "tiny", json!({"control": 0.0}), "running").await;
    let out = expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": "tiny", "anonymous_id": "v2"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(out["variant"], Value::Null);
    assert_eq!(out["in_test"], false);
    let missing = expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": "nope", "anonymous_id": "v2"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(missing["code"], "test_not_found");
    expect(
        s.app
            .request(Method::POST, "/ab/assign")
            .json(&json!({"test": "cta"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}

#[tokio::test]
async fn results_carry_conversions_and_a_significance_test() {
    let s = stack().await;
    let pool = &s.db.pool;
    let test = make_test(
        pool,
        "checkout",
        json!({"control": 0.5, "variant_a": 0.5}),
        "running",
    )
    .await;
    // control: 1000 subjects, 200 convert; variant_a: 1000 subjects, 250 convert.
    for (variant, convert) in [("control", 200), ("variant_a", 250)] {
        sqlx::query(
            "insert into analytics.ab_test_assignments (test_id, anonymous_id, variant, assigned_at)
             select $1, $2 || i, $2, now() - interval '1 day' from generate_series(1, 1000) i",
        )
        .bind(test).bind(variant).execute(pool).await.unwrap();
        sqlx::query(
            "insert into analytics.analytics_events (event_name, event_category, anonymous_id, timestamp)
             select 'donation_made', 'donation', $1 || i, now() - interval '1 hour' from generate_series(1, $2) i",
        )
        .bind(variant).bind(convert).execute(pool).await.unwrap();
    }
    // A conversion before the assignment does not count.
    sqlx::query("insert into analytics.analytics_events (event_name, event_category, anonymous_id, timestamp)
                 values ('donation_made', 'donation', 'control999', now() - interval '3 days')")
        .execute(pool).await.unwrap();
    assert_eq!(
        ab::results_once(
            &testkit::service_pool_of(pool, "analytics"),
            chrono::Utc::now()
        )
        .await
        .unwrap(),
        1
    );
    let (results, winner, confidence): (Value, Option<String>, Option<f64>) = sqlx::query_as(
        "select results, winner_variant, confidence_level::float8 from analytics.ab_tests where id = $1",
    )
    .bind(test).fetch_one(pool).await.unwrap();
    assert_eq!(results["variants"]["control"]["conversions"], 200);
    assert_eq!(results["variants"]["variant_a"]["conversions"], 250);
    let p = results["comparisons"]["variant_a"]["p_value"]
        .as_f64()
        .unwrap();
    assert!((p - 0.0073).abs() < 0.0005, "{p}");
    assert_eq!(winner.as_deref(), Some("variant_a"));
    assert!((confidence.unwrap() - 0.9927).abs() < 0.001);
}

#[tokio::test]
async fn an_assign_body_with_an_unknown_field_or_a_wrong_type_is_named_and_stores_nothing() {
    let s = stack().await;
    make_test(&s.db.pool, "cta", json!({"control": 1.0}), "running").await;
    let post =
        |body: serde_json::Value| s.app.request(Method::POST, "/ab/assign").json(&body).send();
    let b = expect(
        post(json!({"test": "cta", "anonymousId": "visitor-1"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(
        b["message"].as_str().unwrap().contains("anonymousId"),
        "{b}"
    );
    assert!(b["hint"].as_str().unwrap().contains("anonymous_id"), "{b}");
    let b = expect(
        post(json!({"test": "cta", "anonymous_id": 42}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(
        b["message"].as_str().unwrap().contains("anonymous_id"),
        "{b}"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from analytics.ab_test_assignments")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // A bad token is a 401 before the body is read.
    let res = s
        .app
        .request(Method::POST, "/ab/assign")
        .bearer_auth("not-a-token")
        .json(&json!({"nonsense": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
