use reqwest::Method;
use serde_json::json;

use crate::{born_before, expect, stack, stack_at};

#[tokio::test]
async fn a_profile_is_completed_and_checked() {
    let st = stack().await;
    let me = st.user("+221770000001").await;
    expect(st.call(Method::GET, "/me", me, None).await, 404).await;
    let err = expect(
        st.call(Method::PUT, "/me", me, Some(json!({"full_name": "Awa"})))
            .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "validation_failed");
    for bad in [
        json!({"full_name": "Awa", "date_of_birth": "1990-01-01", "locale": "de-DE"}),
        json!({"full_name": "Awa", "date_of_birth": "1990-01-01", "timezone": "Africa/Atlantis"}),
        json!({"full_name": "Awa", "date_of_birth": "2999-01-01"}),
        json!({"full_name": "Awa", "date_of_birth": "1990-01-01", "avatar_url": "javascript:alert(1)"}),
    ] {
        expect(st.call(Method::PUT, "/me", me, Some(bad)).await, 400).await;
    }
    let p = expect(
        st.call(
            Method::PUT,
            "/me",
            me,
            Some(json!({"full_name": " Awa Ndiaye ", "date_of_birth": "1990-01-01", "locale": "wo-SN",
                        "timezone": "Europe/Paris", "bio": "Dakaroise", "is_profile_public": false})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(p["full_name"], "Awa Ndiaye");
    assert_eq!(p["locale"], "wo-SN");
    assert_eq!(p["is_minor"], false);
    assert!(p.get("id_hash").is_none() && p.get("id_number_encrypted").is_none());
    let p = expect(
        st.call(Method::PUT, "/me", me, Some(json!({"bio": "Thiessoise"})))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (p["bio"].as_str(), p["timezone"].as_str()),
        (Some("Thiessoise"), Some("Europe/Paris"))
    );
    let err = expect(
        st.call(
            Method::PUT,
            "/me",
            me,
            Some(json!({"date_of_birth": "1991-01-01"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(err["code"], "date_of_birth_locked");
}

#[tokio::test]
async fn a_minor_needs_a_guardian_who_confirms_before_the_pot_can_open() {
    // Today, and days on which comparing age() with interval '18 years' answered "adult" on
    // the eve of an 18th birthday (17 years 11 mons 30 days), or that end a month or a year,
    // or are (or follow) 29 February. Past days only: the spec's check_minor_has_guardian
    // reads the database's own date, and someone of age then is of age today too.
    let days = [
        None,
        Some("2024-02-28T23:59:00Z"),
        Some("2024-02-29T00:00:00Z"),
        Some("2024-03-01T12:00:00Z"),
        Some("2025-02-28T12:00:00Z"),
        Some("2025-12-31T23:30:00Z"),
        Some("2026-03-31T08:00:00Z"),
    ];
    for at in days {
        let clock = at.map_or(platform::Clock::system(), |t| {
            platform::Clock::starting_at(t.parse().unwrap())
        });
        minor_needs_a_guardian_on(clock).await;
    }
}

async fn minor_needs_a_guardian_on(clock: platform::Clock) {
    let st = stack_at(clock).await;
    let born = |years, days| born_before(st.clock.today(), years, days);
    let minor = st.user("+221770000011").await;
    let parent = st.user("+221770000012").await;
    let stranger = st.user("+221770000013").await;
    let young = born(18, -1); // turns 18 tomorrow (Dakar): still a minor today
    let err = expect(
        st.call(
            Method::PUT,
            "/me",
            minor,
            Some(json!({"full_name": "Mia Diop", "date_of_birth": young})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "guardian_required");
    let err = expect(
        st.call(Method::PUT, "/me", minor, Some(json!({"full_name": "Mia Diop", "date_of_birth": young, "guardian_user_id": parent}))).await,
        400,
    )
    .await;
    assert_eq!(err["code"], "guardian_required");
    let p = expect(
        st.call(
            Method::PUT,
            "/me",
            minor,
            Some(json!({"full_name": "Mia Diop", "date_of_birth": young, "guardian_user_id": parent, "relationship_type": "parent"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(p["is_minor"], true);
    assert!(p["guardian_confirmed_at"].is_null());
    assert!(!st.can_open_pot(minor).await);
    // An adult (18 today) needs no guardian.
    let adult = st.user("+221770000014").await;
    expect(
        st.call(
            Method::PUT,
            "/me",
            adult,
            Some(json!({"full_name": "Adulte", "date_of_birth": born(18, 0)})),
        )
        .await,
        201,
    )
    .await;
    assert!(st.can_open_pot(adult).await);

    // Only the named guardian confirms.
    let path = format!("/guardianship/{minor}/confirm");
    let err = expect(st.call(Method::POST, &path, stranger, None).await, 403).await;
    assert_eq!(err["code"], "not_guardian");
    expect(st.call(Method::POST, &path, minor, None).await, 403).await;
    let ok = expect(st.call(Method::POST, &path, parent, None).await, 200).await;
    assert!(ok["guardian_confirmed_at"].is_string());
    assert!(st.can_open_pot(minor).await);
    // Idempotent.
    let again = expect(st.call(Method::POST, &path, parent, None).await, 200).await;
    assert_eq!(again["guardian_confirmed_at"], ok["guardian_confirmed_at"]);

    // A new guardian must confirm again.
    expect(
        st.call(
            Method::PUT,
            "/me",
            minor,
            Some(json!({"guardian_user_id": stranger})),
        )
        .await,
        200,
    )
    .await;
    assert!(!st.can_open_pot(minor).await);
    expect(st.call(Method::POST, &path, stranger, None).await, 200).await;
    assert!(st.can_open_pot(minor).await);

    // Each guardian named was asked to confirm, in a message the notifications service accepts.
    let asked: Vec<serde_json::Value> = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
           and payload->>'message' = 'guardian_confirmation_requested' order by id",
    )
    .fetch_all(st.pool())
    .await
    .unwrap();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0]["user_id"], parent.to_string());
    assert_eq!(asked[1]["user_id"], stranger.to_string());
    assert_eq!(asked[0]["data"]["minor_name"], "Mia Diop");
    let mut conn = st.pool().acquire().await.unwrap();
    for p in asked {
        notifications::request_message(&mut conn, serde_json::from_value(p).unwrap())
            .await
            .unwrap();
    }

    // A minor cannot be a guardian.
    let other_minor = st.user("+221770000015").await;
    let err = expect(
        st.call(
            Method::PUT,
            "/me",
            other_minor,
            Some(json!({"full_name": "Kid", "date_of_birth": born(10, 0), "guardian_user_id": minor, "relationship_type": "sibling"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "guardian_is_minor");
}

#[tokio::test]
async fn addresses_use_senegal_regions_and_one_default_per_type() {
    let st = stack().await;
    let me = st.user("+221770000021").await;
    let add = |region: &str, kind: &str, default: bool| {
        st.app
            .request(Method::POST, "/user_addresses")
            .bearer_auth(crate::token(me))
            .header("prefer", "return=representation")
            .json(&json!({"user_id": me, "region": region, "type": kind, "is_default": default, "city": "X"}))
            .send()
    };
    let a = expect(add("thies", "primary", true).await.unwrap(), 201).await;
    assert_eq!(a[0]["region"], "Thiès");
    let b = expect(add("SAINT LOUIS", "primary", true).await.unwrap(), 201).await;
    assert_eq!(b[0]["region"], "Saint-Louis");
    expect(add("kedougou", "billing", true).await.unwrap(), 201).await;
    let err = expect(add("Casablanca", "primary", false).await.unwrap(), 400).await;
    assert!(
        err["message"].as_str().unwrap().contains("Région inconnue"),
        "{err}"
    );
    let defaults: Vec<(String, String)> = sqlx::query_as(
        "select type, region from profiles.user_addresses where is_default order by type",
    )
    .fetch_all(st.pool())
    .await
    .unwrap();
    assert_eq!(
        defaults,
        vec![
            ("billing".into(), "Kédougou".into()),
            ("primary".into(), "Saint-Louis".into())
        ]
    );
    // Switching back through PATCH moves the default in the same statement.
    let id = a[0]["id"].as_str().unwrap();
    let res = st
        .app
        .request(Method::PATCH, &format!("/user_addresses?id=eq.{id}"))
        .bearer_auth(crate::token(me))
        .json(&json!({"is_default": true}))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    let region: String = sqlx::query_scalar(
        "select region from profiles.user_addresses where is_default and type = 'primary'",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(region, "Thiès");
}

#[tokio::test]
async fn a_profile_body_with_an_unknown_field_or_a_wrong_type_is_named_and_writes_nothing() {
    let s = stack().await;
    let me = s.user("+221770000401").await;
    let res = s
        .call(
            Method::PUT,
            "/me",
            me,
            Some(
                json!({"full_name": "Awa Ndiaye", "date_of_birth": "1990-01-01",
                        "birthday": "1990-01-01"}),
            ),
        )
        .await;
    let b = expect(res, 400).await;
    assert_eq!(b["code"], "PGRST102");
    assert!(b["message"].as_str().unwrap().contains("birthday"), "{b}");
    assert!(b["hint"].as_str().unwrap().contains("date_of_birth"), "{b}");
    let res = s
        .call(
            Method::PUT,
            "/me",
            me,
            Some(
                json!({"full_name": "Awa Ndiaye", "date_of_birth": "1990-01-01",
                        "is_profile_public": "oui"}),
            ),
        )
        .await;
    let b = expect(res, 400).await;
    assert_eq!(b["code"], "PGRST102");
    assert!(
        b["message"].as_str().unwrap().contains("is_profile_public"),
        "{b}"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from profiles.profiles where user_id = $1")
        .bind(me)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Anonymous: 401 before the body is read.
    let res = s
        .app
        .request(Method::PUT, "/me")
        .json(&json!({"nonsense": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
