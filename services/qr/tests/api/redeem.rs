//! Issuing through the consumer, redeeming, the race, every refusal, expiry and refunds.

use std::time::Duration;

use chrono::{Duration as Days, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::*;

#[tokio::test]
async fn funded_pot_gets_one_code_for_its_pack_from_the_birthday() {
    let s = stack().await;
    let pool = s.pool();
    let birthday = chrono::NaiveDate::from_ymd_opt(2027, 3, 14).unwrap();
    let w = world(pool, birthday).await;
    let row: (
        chrono::DateTime<Utc>,
        chrono::DateTime<Utc>,
        String,
        Option<i32>,
        Uuid,
        Option<String>,
    ) = sqlx::query_as(
        "select redeemable_from, expires_at, status, price_cfa, pack_id, qr_image_url
             from qr.qr_codes where id = $1",
    )
    .bind(w.qr_id)
    .fetch_one(pool)
    .await
    .unwrap();
    // Dakar is UTC+0 all year: 00:00 in Dakar is 00:00 UTC.
    assert_eq!(row.0, Utc.with_ymd_and_hms(2027, 3, 14, 0, 0, 0).unwrap());
    assert_eq!(row.1, row.0 + Days::days(30));
    assert_eq!(row.2, "issued");
    assert_eq!(
        row.3,
        Some(12_000),
        "the discounted price is the price used"
    );
    assert_eq!(row.4, w.pack);
    assert!(row.5.unwrap().starts_with("/qr/codes/"));
    assert!(config().secret.verify(&w.code).is_ok());

    // qr.issued and the qr_ready message for the owner.
    let issued: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'qr.issued' and payload->>'pot_id' = $1",
    )
    .bind(w.pot.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(issued["qr_code_id"], json!(w.qr_id));
    assert_eq!(issued["owner_user_id"], json!(w.owner));
    let msg: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
         and payload->>'message' = 'qr_ready' and payload->>'user_id' = $1",
    )
    .bind(w.owner.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(msg["data"]["first_name"], "Awa");
    assert_eq!(msg["data"]["redeemable_from"], "2027-03-14");
    assert_eq!(msg["data"]["expires_at"], "2027-04-13");
    assert_eq!(msg["data"]["partner_name"], "Ciné Dakar");

    // A second pot.closed for the same pot issues nothing more.
    let id = publish(
        pool,
        "pot.closed",
        json!({"pot_id": w.pot, "owner_user_id": w.owner, "reason": "birthday",
               "raised_amount_cfa": 20000, "preferred_pack_id": w.pack, "birthday_date": birthday}),
    )
    .await;
    drain_past(pool, id).await;
    let n: i64 = sqlx::query_scalar("select count(*) from qr.qr_codes where pot_id = $1")
        .bind(w.pot)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn no_pack_or_too_little_raised_issues_nothing() {
    let s = stack().await;
    let pool = s.pool();
    let owner = user(pool, Some("Fatou Sall")).await;
    let partner = partner(pool, "70", 0, "monthly").await;
    let pack = pack(pool, partner, 15_000, None).await;
    let bday = today();
    let no_pack = pot(pool, owner, bday, None).await;
    let short = pot(pool, owner, bday, Some(pack)).await;
    funded(pool, no_pack, owner, 50_000, bday).await;
    let id = publish(
        pool,
        "pot.closed",
        json!({"pot_id": short, "owner_user_id": owner, "reason": "birthday",
               "raised_amount_cfa": 14_999, "preferred_pack_id": pack, "birthday_date": bday}),
    )
    .await;
    drain_past(pool, id).await;
    let n: i64 = sqlx::query_scalar("select count(*) from qr.qr_codes")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Enough at close: issued.
    publish(
        pool,
        "pot.closed",
        json!({"pot_id": short, "owner_user_id": owner, "reason": "birthday",
               "raised_amount_cfa": 15_000, "preferred_pack_id": pack, "birthday_date": bday}),
    )
    .await;
    drain_until(
        pool,
        "select exists (select 1 from qr.qr_codes where pot_id = $1)",
        short,
    )
    .await;
}

#[tokio::test]
async fn staff_redeems_once_and_sees_what_to_hand_over() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    // Typed by hand: lower case, grouped with dashes.
    let typed = qr::code::grouped(&w.code).to_lowercase();
    let body = expect(redeem(&s.app, w.staff, &typed, "plateau").await, 200).await;
    assert_eq!(body["result"], "redeemed");
    assert_eq!(
        body["message"],
        "Valide — remettre : Soirée cinéma pour deux"
    );
    assert_eq!(body["pack"]["items"], "2 billets + 2 pop-corn moyens");
    assert_eq!(body["owner_first_name"], "Awa");
    assert_eq!(body["venue"]["name"], "Ciné Plateau");

    let row: (String, Option<Uuid>, Value) = sqlx::query_as(
        "select status, redeemed_by_partner_id, redeemed_at_venue from qr.qr_codes where id = $1",
    )
    .bind(w.qr_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(row.0, "redeemed");
    assert_eq!(row.1, Some(w.partner));
    assert_eq!(row.2["venue"]["id"], "plateau");
    assert_eq!(row.2["device"]["model"], "Tecno Spark");

    let log: (String, Option<Uuid>, Option<String>, Value) = sqlx::query_as(
        "select validation_result, partner_user_id, user_agent, venue_context
         from qr.qr_redemption_logs where qr_code_id = $1",
    )
    .bind(w.qr_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(log.0, "success");
    assert_eq!(log.1, Some(w.staff));
    assert_eq!(log.2.as_deref(), Some("wolo-counter/1.0"));
    assert_eq!(log.3["venue_id"], "plateau");
    let redeemed: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'qr.redeemed' and payload->>'qr_code_id' = $1",
    )
    .bind(w.qr_id.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(redeemed["partner_id"], json!(w.partner));
    assert_eq!(redeemed["venue_id"], "plateau");
    let done: i64 = sqlx::query_scalar(
        "select count(*) from wolo.outbox where topic = 'notification.requested'
         and payload->>'message' = 'redemption_done' and payload->'data'->>'venue_name' = 'Ciné Plateau'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(done, 1);

    // Second scan: 409 with when and where.
    let again = expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 409).await;
    assert_eq!(again["code"], "already_used");
    assert!(again["message"]
        .as_str()
        .unwrap()
        .starts_with("Déjà utilisé"));
    assert!(again["message"].as_str().unwrap().contains("Ciné Plateau"));
}

#[tokio::test]
async fn fifty_counters_at_once_exactly_one_wins() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let url = s.app.url("/redeem");
        let token = testkit::token(auth::Role::Partner, w.staff);
        let code = w.code.clone();
        set.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"code": code, "venue_id": "plateau"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        statuses.push(r.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        49,
        "{statuses:?}"
    );
    let l = logs(pool, w.qr_id).await;
    assert_eq!(l.iter().filter(|(r, _)| r == "success").count(), 1);
    assert_eq!(l.iter().filter(|(r, _)| r == "already_used").count(), 49);
    assert_eq!(l.len(), 50);
    let events: i64 =
        sqlx::query_scalar("select count(*) from wolo.outbox where topic = 'qr.redeemed'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn every_refusal_is_distinct_and_logged() {
    let s = stack().await;
    let pool = s.pool();

    // not_yet_valid: the birthday is next week.
    let w = world(pool, today() + Days::days(7)).await;
    let b = expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 425).await;
    assert_eq!(b["code"], "not_yet_valid");
    assert!(b["message"]
        .as_str()
        .unwrap()
        .starts_with("Pas encore valable"));

    // wrong_partner: staff of another partner.
    let other_partner = partner(pool, "50", 0, "weekly").await;
    let other_staff = member(pool, other_partner, None).await;
    let b = expect(redeem(&s.app, other_staff, &w.code, "plateau").await, 403).await;
    assert_eq!(b["code"], "wrong_partner");

    // venue not allowed: closed venue, venue outside the pack's list, unknown venue,
    // venue outside the member's own list.
    sqlx::query("update qr.qr_codes set redeemable_from = now() - interval '1 day' where id = $1")
        .bind(w.qr_id)
        .execute(pool)
        .await
        .unwrap();
    for venue in ["ferme", "almadies", "nowhere"] {
        let b = expect(redeem(&s.app, w.staff, &w.code, venue).await, 403).await;
        assert_eq!(b["code"], "venue_not_allowed", "{venue}");
    }
    let almadies_only = member(pool, w.partner, Some(json!(["almadies"]))).await;
    let b = expect(redeem(&s.app, almadies_only, &w.code, "plateau").await, 403).await;
    assert_eq!(b["code"], "venue_not_allowed");

    // expired.
    sqlx::query(
        "update qr.qr_codes set redeemable_from = now() - interval '40 days',
                                expires_at = now() - interval '1 day' where id = $1",
    )
    .bind(w.qr_id)
    .execute(pool)
    .await
    .unwrap();
    let b = expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 410).await;
    assert_eq!(b["code"], "expired");
    assert!(b["message"].as_str().unwrap().starts_with("Expiré"));

    let l: Vec<String> = logs(pool, w.qr_id)
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        l,
        [
            "not_yet_valid",
            "wrong_partner",
            "wrong_partner",
            "wrong_partner",
            "wrong_partner",
            "wrong_partner",
            "expired"
        ]
    );
    // The code was never redeemed.
    let status: String = sqlx::query_scalar("select status from qr.qr_codes where id = $1")
        .bind(w.qr_id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "issued");

    // The expiry job.
    assert_eq!(
        qr::jobs::expire_codes_once(&testkit::service_pool_of(pool, "qr"), Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        qr::jobs::expire_codes_once(&testkit::service_pool_of(pool, "qr"), Utc::now())
            .await
            .unwrap(),
        0
    );
    let b = expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 410).await;
    assert_eq!(b["code"], "expired");

    // A user token (not partner) is refused before anything.
    let res = s
        .app
        .request(reqwest::Method::POST, "/redeem")
        .bearer_auth(testkit::token(auth::Role::User, w.owner))
        .json(&json!({"code": w.code, "venue_id": "plateau"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn forged_and_mistyped_codes_are_refused_without_a_lookup() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;

    // Lock qr_codes against any reader: a lookup would block until the lock is released.
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("lock table qr.qr_codes in access exclusive mode")
        .execute(&mut *locker)
        .await
        .unwrap();
    let mut typo: Vec<char> = w.code.chars().collect();
    typo[10] = if typo[10] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let forged = qr::QrSecret::new(&[42u8; 32]).unwrap().generate();
    for bad in [typo.as_str(), forged.as_str(), "WOLO-1234"] {
        let res = tokio::time::timeout(
            Duration::from_secs(20),
            redeem(&s.app, w.staff, bad, "plateau"),
        )
        .await
        .expect("a refused code must not wait for qr.qr_codes");
        let b = expect(res, 400).await;
        assert_eq!(b["code"], "invalid");
        assert!(b["message"].as_str().unwrap().starts_with("Code invalide"));
    }
    locker.rollback().await.unwrap();

    // A well-signed code that does not exist: 404 invalid.
    let unknown = config().secret.generate();
    let b = expect(redeem(&s.app, w.staff, &unknown, "plateau").await, 404).await;
    assert_eq!(b["code"], "invalid");

    let reasons: Vec<String> = sqlx::query_scalar(
        "select reason from qr.unmatched_scan_logs where partner_user_id = $1 order by attempt_timestamp, id",
    )
    .bind(w.staff)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        ["bad_tag", "bad_tag", "bad_format", "unknown_code"]
    );
    assert!(logs(pool, w.qr_id).await.is_empty());
}

#[tokio::test]
async fn refunded_pot_cancels_its_code() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    publish(
        pool,
        "pot.refunded",
        json!({"pot_id": w.pot, "owner_user_id": w.owner}),
    )
    .await;
    drain_until(
        pool,
        "select status = 'cancelled' from qr.qr_codes where pot_id = $1",
        w.pot,
    )
    .await;
    let b = expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 410).await;
    assert_eq!(b["code"], "cancelled");
    assert_eq!(logs(pool, w.qr_id).await[0].0, "invalid");
}

#[tokio::test]
async fn every_scan_attempt_is_logged_whatever_bytes_it_carries() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let post = |body: Vec<u8>| {
        s.app
            .request(reqwest::Method::POST, "/redeem")
            .bearer_auth(testkit::token(auth::Role::Partner, w.staff))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let huge = "A".repeat(100_000);
    let attempts: Vec<(Vec<u8>, &str)> = vec![
        // A NUL in the code, in the venue, in the device.
        (
            json!({"code": "WOLO\u{0}1234", "venue_id": "plateau"})
                .to_string()
                .into_bytes(),
            "bad_format",
        ),
        (
            json!({"code": w.code, "venue_id": "pla\u{0}teau"})
                .to_string()
                .into_bytes(),
            "bad_request",
        ),
        (
            json!({"code": "ABCD-EFGH", "venue_id": "plateau", "device": {"m\u{0}": "x\u{0}"}})
                .to_string()
                .into_bytes(),
            "bad_format",
        ),
        // A code of 100 000 characters.
        (
            json!({"code": huge, "venue_id": "plateau"})
                .to_string()
                .into_bytes(),
            "bad_format",
        ),
        // Bytes that are not UTF-8, inside and outside JSON.
        (
            b"{\"code\": \"AB\xff\xfeCD\", \"venue_id\": \"plateau\"}".to_vec(),
            "bad_format",
        ),
        (b"\xff\xfe\x00\x01 not json".to_vec(), "bad_request"),
        // Wrong types and missing fields.
        (
            json!({"code": 42, "venue_id": "plateau"})
                .to_string()
                .into_bytes(),
            "bad_request",
        ),
        (
            json!({"venue_id": "plateau"}).to_string().into_bytes(),
            "missing_code_or_venue",
        ),
    ];
    let n = attempts.len();
    for (body, _) in &attempts {
        let res = post(body.clone()).await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert!((400..500).contains(&status), "{status} {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["message"].is_string() && v.get("details").is_some(),
            "{text}"
        );
    }
    let rows: Vec<(String, Option<String>, Option<Value>)> = sqlx::query_as(
        "select reason, code_prefix, venue_context from qr.unmatched_scan_logs
          where partner_user_id = $1 order by attempt_timestamp, id",
    )
    .bind(w.staff)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), n, "every attempt logged: {rows:?}");
    let reasons: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let expected: Vec<&str> = attempts.iter().map(|a| a.1).collect();
    assert_eq!(reasons, expected);
    for (_, prefix, ctx) in &rows {
        let p = prefix.clone().unwrap_or_default();
        assert!(p.chars().count() <= 8 && !p.contains('\0'), "{p:?}");
        assert!(!ctx
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
            .contains("\\u0000"));
    }
    assert_eq!(rows[3].1.as_deref(), Some("AAAAAAAA"));

    // A NUL in the device of a good scan: redeemed, the device kept without it.
    let res = post(
        json!({"code": w.code, "venue_id": "plateau", "device": {"model": "Tecno\u{0}"}})
            .to_string()
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(logs(pool, w.qr_id).await, [("success".to_string(), None)]);
}

#[tokio::test]
async fn a_redeem_body_with_an_unknown_field_is_named_and_redeems_nothing() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let post = |body: Value| {
        s.app
            .request(reqwest::Method::POST, "/redeem")
            .bearer_auth(testkit::token(auth::Role::Partner, w.staff))
            .json(&body)
            .send()
    };
    let b = expect(
        post(json!({"code": w.code, "venue": "plateau"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(b["message"].as_str().unwrap().contains("venue"), "{b}");
    assert!(b["hint"].as_str().unwrap().contains("venue_id"), "{b}");
    let b = expect(
        post(json!({"code": w.code, "venue_id": "plateau", "notes": 7}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(b["message"].as_str().unwrap().contains("notes"), "{b}");
    let status: String = sqlx::query_scalar("select status from qr.qr_codes where id = $1")
        .bind(w.qr_id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "issued");
    assert!(logs(pool, w.qr_id).await.is_empty());
    // Anonymous: 401, whatever the body.
    let res = s
        .app
        .request(reqwest::Method::POST, "/redeem")
        .json(&json!({"nonsense": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_counter_code_redeems_as_the_qr_code_does() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let short: String = sqlx::query_scalar("select short_code from qr.qr_codes where id = $1")
        .bind(w.qr_id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(short.len(), qr::code::SHORT_CHARS);
    assert_eq!(qr::code::short(&short).as_deref(), Some(short.as_str()));

    // A counter code that names no gift: 404, logged with what was typed.
    let unknown = if short.starts_with('Z') { "Y" } else { "Z" }.to_string() + &short[1..];
    let res = redeem(&s.app, w.staff, &unknown, "plateau").await;
    let err = expect(res, 404).await;
    assert_eq!(err["details"], "unknown_code", "{err}");
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from qr.unmatched_scan_logs where reason = 'unknown_code'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(logged, 1);

    // Typed by hand: lower case, a dash, O for 0 and L for 1 where they appear.
    let typed = qr::code::short_grouped(&short)
        .to_lowercase()
        .replace('0', "o")
        .replace('1', "l");
    let ok = expect(redeem(&s.app, w.staff, &typed, "plateau").await, 200).await;
    assert_eq!(ok["qr_code_id"], json!(w.qr_id), "{ok}");
    // The code is used: the full code and the counter code both say so.
    expect(redeem(&s.app, w.staff, &short, "plateau").await, 409).await;
    expect(redeem(&s.app, w.staff, &w.code, "plateau").await, 409).await;
    let success: i64 = sqlx::query_scalar(
        "select count(*) from qr.qr_redemption_logs where qr_code_id = $1 and validation_result = 'success'",
    )
    .bind(w.qr_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(success, 1);
}
