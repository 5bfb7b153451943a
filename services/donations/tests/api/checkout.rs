use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use crate::{expect, stack};

#[tokio::test]
async fn checkout_creates_a_pending_donation_and_a_wave_session() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let b = expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 5000, "donor_name": "Fatou Diop", "donor_phone": "77 123 45 67",
                   "donor_email": "fatou@example.sn", "message": "Joyeux anniversaire !", "is_anonymous": false}),
            None,
        )
        .await,
        201,
    )
    .await;
    let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(b["status"], "pending");
    let url = b["wave_payment_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/c/cos-", st.wave.url)), "{url}");
    assert!(b["expires_at"].is_string());

    let row = sqlx::query(
        "select status, amount_cfa, donor_phone, donor_email, wave_session_id, wave_payment_url,
                wave_session_expires_at is not null as has_expiry, donation_message, user_agent
         from donations.donations where id = $1",
    )
    .bind(id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "pending");
    assert_eq!(row.get::<i32, _>("amount_cfa"), 5000);
    assert_eq!(row.get::<String, _>("donor_phone"), "+221771234567");
    assert_eq!(row.get::<String, _>("wave_payment_url"), url);
    assert!(row.get::<bool, _>("has_expiry"));
    assert_eq!(row.get::<String, _>("user_agent"), "wolo-test/1.0");
    let sid: String = row.get("wave_session_id");
    let session = st.wave.session(&sid).unwrap();
    assert_eq!(session["client_reference"], id.to_string());
    assert_eq!(session["amount"], "5000");
    assert_eq!(session["currency"], "XOF");
    assert_eq!(
        session["success_url"],
        format!("https://wolo.example.sn/dons/{id}/merci")
    );

    // The pay page of the fake, in French.
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Payer") && page.contains("Échec du paiement"),
        "{page}"
    );
}

#[tokio::test]
async fn checkout_refuses_closed_pots_bad_amounts_and_bad_phones() {
    let st = stack().await;
    let scheduled = st.pot("scheduled").await;
    let e = expect(
        st.checkout(json!({"pot_id": scheduled, "amount_cfa": 5000}), None)
            .await,
        409,
    )
    .await;
    assert_eq!(e["code"], "pot_not_open");
    assert!(e["message"].as_str().unwrap().contains("cagnotte"));
    let e = expect(
        st.checkout(json!({"pot_id": Uuid::new_v4(), "amount_cfa": 5000}), None)
            .await,
        404,
    )
    .await;
    assert_eq!(e["code"], "pot_not_found");

    let pot = st.pot("open").await;
    for bad in [
        json!(0),
        json!(-500),
        json!(99),
        json!(5_000_001),
        json!(1500.5),
        json!("5000"),
        json!(null),
    ] {
        let e = expect(
            st.checkout(json!({"pot_id": pot, "amount_cfa": bad}), None)
                .await,
            400,
        )
        .await;
        assert_eq!(e["code"], "validation_failed", "{bad}");
    }
    let e = expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 1000, "donor_phone": "12"}),
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("téléphone"));
    expect(
        st.checkout(json!({"pot_id": "nope", "amount_cfa": 1000}), None)
            .await,
        400,
    )
    .await;
    let e = expect(
        st.app
            .request(reqwest::Method::POST, "/checkout")
            .body("{oops")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["code"], "PGRST102");

    let n: i64 = sqlx::query_scalar("select count(*) from donations.donations")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing written for refused checkouts");
    assert_eq!(st.wave.created_count(), 0);
}

#[tokio::test]
async fn wave_errors_and_timeouts_leave_a_failed_donation_and_a_clear_error() {
    let st = stack().await;
    let pot = st.pot("open").await;

    st.wave.fail_next_create(fakewave::Failure::Status500);
    let e = expect(
        st.checkout(json!({"pot_id": pot, "amount_cfa": 2000}), None)
            .await,
        502,
    )
    .await;
    assert_eq!(e["code"], "wave_unavailable");
    assert!(e["message"].as_str().unwrap().contains("réessayez"));

    st.wave.fail_next_create(fakewave::Failure::Hang);
    let e = expect(
        st.checkout(json!({"pot_id": pot, "amount_cfa": 3000}), None)
            .await,
        504,
    )
    .await;
    assert_eq!(e["code"], "wave_timeout");

    let rows = sqlx::query(
        "select status, failure_reason, wave_session_id, wave_payment_url, failed_at is not null as f
         from donations.donations order by amount_cfa",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.get::<String, _>("status"), "failed");
        assert!(r
            .get::<Option<String>, _>("failure_reason")
            .unwrap()
            .starts_with("wave_checkout_error"));
        assert!(r.get::<Option<String>, _>("wave_payment_url").is_none());
        assert!(r.get::<bool, _>("f"));
    }
    assert!(rows[1]
        .get::<Option<String>, _>("failure_reason")
        .unwrap()
        .contains("timeout"));
}

#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_donation() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let body = json!({"pot_id": pot, "amount_cfa": 7500, "donor_phone": "+221781112233"});
    let a = expect(st.checkout(body.clone(), Some("key-1")).await, 201).await;
    let b = expect(st.checkout(body.clone(), Some("key-1")).await, 200).await;
    assert_eq!(a["donation_id"], b["donation_id"]);
    assert_eq!(a["wave_payment_url"], b["wave_payment_url"]);
    assert_eq!(st.wave.created_count(), 1);

    // Same key, different request: refused.
    let e = expect(
        st.checkout(json!({"pot_id": pot, "amount_cfa": 100}), Some("key-1"))
            .await,
        422,
    )
    .await;
    assert_eq!(e["code"], "idempotency_key_reused");

    // Wave created the session but its answer was lost: the retry finds it by client_reference.
    st.wave.fail_next_create(fakewave::Failure::LostResponse);
    expect(st.checkout(body.clone(), Some("key-2")).await, 502).await;
    let c = expect(st.checkout(body.clone(), Some("key-2")).await, 200).await;
    assert_eq!(c["status"], "pending");
    assert!(c["wave_payment_url"].is_string());
    let id: Uuid = c["donation_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(st.status(id).await, "pending");
    assert_eq!(st.wave.sessions_for(&id.to_string()).len(), 1);

    // Twenty concurrent requests with one key: one donation, one session.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let req = st
            .app
            .request(reqwest::Method::POST, "/checkout")
            .header("idempotency-key", "key-3")
            .json(&body);
        set.spawn(async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(r) = set.join_next().await {
        ids.insert(r.unwrap()["donation_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    assert_eq!(st.wave.sessions_for(&id).len(), 1);
    let n: i64 = sqlx::query_scalar(
        "select count(*) from donations.donations where idempotency_key = 'key-3'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_risk_score_grows_with_velocity_and_is_explained() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let mut scores = Vec::new();
    for _ in 0..6 {
        let b = expect(
            st.checkout(
                json!({"pot_id": pot, "amount_cfa": 1000, "donor_phone": "+221701234567"}),
                None,
            )
            .await,
            201,
        )
        .await;
        let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
        let (score, reasons): (i32, serde_json::Value) = sqlx::query_as(
            "select risk_score, risk_reasons from donations.donations where id = $1",
        )
        .bind(id)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
        scores.push((score, reasons));
    }
    assert_eq!(scores[0].0, 0);
    assert_eq!(scores[0].1, json!([]));
    assert!(scores.windows(2).all(|w| w[0].0 <= w[1].0), "{scores:?}");
    let last = &scores[5];
    assert!(last.0 > scores[2].0, "{scores:?}");
    let rules: Vec<&str> = last
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"phone_velocity_1h"), "{rules:?}");
    assert!(rules.contains(&"ip_velocity_1h"), "{rules:?}");

    // A huge amount from a fresh phone is flagged too.
    let b = expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 2_000_000, "donor_phone": "+221761234567"}),
            None,
        )
        .await,
        201,
    )
    .await;
    let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
    let reasons: serde_json::Value =
        sqlx::query_scalar("select risk_reasons from donations.donations where id = $1")
            .bind(id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert!(reasons.to_string().contains("large_amount"));
}

#[tokio::test]
async fn signed_in_donors_are_linked_and_pots_may_refuse_anonymous_gifts_and_messages() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let donor = st.user("+221779998877").await;
    let b = expect(
        st.app
            .request(reqwest::Method::POST, "/checkout")
            .bearer_auth(testkit::token(auth::Role::User, donor))
            .json(&json!({"pot_id": pot, "amount_cfa": 1000}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let linked: Option<Uuid> =
        sqlx::query_scalar("select donor_user_id from donations.donations where id = $1::uuid")
            .bind(b["donation_id"].as_str().unwrap())
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(linked, Some(donor));

    sqlx::query("update pots.pots set allow_anonymous_donations = false where id = $1")
        .bind(pot)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let e = expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 1000, "is_anonymous": true}),
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("anonymes"));

    // Messages turned off by the owner: a message is refused (it would be shown nowhere),
    // nothing is written; the same gift without a message goes through.
    sqlx::query("update pots.pots set enable_messages = false where id = $1")
        .bind(pot)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let count_sql = "select count(*) from donations.donations where pot_id = $1";
    let before: i64 = sqlx::query_scalar(count_sql)
        .bind(pot)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    let e = expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 1000, "donor_name": "Awa", "message": "Joyeux anniversaire !"}),
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("message"), "{e}");
    let after: i64 = sqlx::query_scalar(count_sql)
        .bind(pot)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(after, before);
    expect(
        st.checkout(
            json!({"pot_id": pot, "amount_cfa": 1000, "donor_name": "Awa"}),
            None,
        )
        .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn the_admins_switch_and_minimum_apply_to_new_checkouts() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let donation = |amount: i32| json!({"pot_id": pot, "amount_cfa": amount, "donor_name": "Awa"});

    // wave_payments off: suspended, nothing written, Wave never called.
    testkit::set_flag(&st.db.pool, "wave_payments", false).await;
    let err = expect(st.checkout(donation(5000), None).await, 503).await;
    assert_eq!(err["code"], "payments_suspended");
    let n: i64 = sqlx::query_scalar("select count(*) from donations.donations")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    testkit::set_flag(&st.db.pool, "wave_payments", true).await;

    // donations.min_amount_cfa raised to 1 000 by an admin.
    sqlx::query(
        "update admin.system_config set config_value = '1000' where config_key = 'donations.min_amount_cfa'",
    )
    .execute(&st.db.pool)
    .await
    .unwrap();
    let err = expect(st.checkout(donation(500), None).await, 400).await;
    assert!(
        err["message"].as_str().unwrap().contains("entre 1000 et"),
        "{err}"
    );
    expect(st.checkout(donation(1000), None).await, 201).await;
}

/// POST /checkout with an Idempotency-Key, as `token`'s user (anonymous when None) from `ip`.
async fn keyed(
    st: &crate::Stack,
    token: Option<&str>,
    ip: &str,
    key: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    let mut req = st
        .app
        .request(reqwest::Method::POST, "/checkout")
        .header("x-forwarded-for", ip)
        .header("idempotency-key", key);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.json(body).send().await.unwrap()
}

#[tokio::test]
async fn an_idempotency_key_answers_only_the_same_request_of_the_same_caller() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let body = json!({"pot_id": pot, "amount_cfa": 2500, "donor_name": "Moussa",
                      "donor_phone": "+221771112233", "message": "Joyeux anniversaire"});
    let ip = "41.82.10.1";
    let a = expect(keyed(&st, None, ip, "k-1", &body).await, 201).await;
    // The same request, written differently (key order, spacing, national phone): the same.
    let same = json!({"message": "Joyeux anniversaire ", "donor_phone": "771112233",
                      "donor_name": " Moussa", "amount_cfa": 2500, "pot_id": pot});
    let b = expect(keyed(&st, None, ip, "k-1", &same).await, 200).await;
    assert_eq!(a["donation_id"], b["donation_id"]);

    // Same key, same pot and amount but another message or donor: a different request, 422.
    for changed in [
        json!({"pot_id": pot, "amount_cfa": 2500, "donor_name": "Moussa",
               "donor_phone": "+221771112233", "message": "Bon anniversaire"}),
        json!({"pot_id": pot, "amount_cfa": 2500, "donor_name": "Awa",
               "donor_phone": "+221771112233", "message": "Joyeux anniversaire"}),
        json!({"pot_id": pot, "amount_cfa": 2500, "donor_name": "Moussa",
               "donor_phone": "+221771112233", "message": "Joyeux anniversaire",
               "is_anonymous": true}),
        json!({"pot_id": pot, "amount_cfa": 3000, "donor_name": "Moussa"}),
    ] {
        let e = expect(keyed(&st, None, ip, "k-1", &changed).await, 422).await;
        assert_eq!(e["code"], "idempotency_key_reused");
        assert!(e["message"].as_str().unwrap().contains("idempotence"));
    }

    // Other callers with the same key: each gets its own donation.
    let u1 = st.user("+221770001001").await;
    let u2 = st.user("+221770001002").await;
    let (t1, t2) = (
        testkit::token(auth::Role::User, u1),
        testkit::token(auth::Role::User, u2),
    );
    let c1 = expect(keyed(&st, Some(&t1), ip, "k-1", &body).await, 201).await;
    let c2 = expect(keyed(&st, Some(&t2), ip, "k-1", &body).await, 201).await;
    let other_ip = expect(keyed(&st, None, "41.82.10.2", "k-1", &body).await, 201).await;
    let ids: std::collections::HashSet<String> = [&a, &c1, &c2, &other_ip]
        .iter()
        .map(|v| v["donation_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4, "independent donations per caller");
    // Each caller's replay answers its own donation; a user's key is theirs from any IP.
    let again = expect(keyed(&st, Some(&t1), "10.9.9.9", "k-1", &body).await, 200).await;
    assert_eq!(again["donation_id"], c1["donation_id"]);
    // Another caller's different request is not refused because of someone else's key.
    let mine = json!({"pot_id": pot, "amount_cfa": 9000});
    expect(keyed(&st, Some(&t2), ip, "k-2", &mine).await, 201).await;
    expect(keyed(&st, Some(&t1), ip, "k-2", &body).await, 201).await;

    // A race: 20 concurrent requests of one caller with one key, same body: one donation;
    // with different bodies mixed in: still one donation, the others 422.
    let u3 = st.user("+221770001003").await;
    let t3 = testkit::token(auth::Role::User, u3);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let req = st
            .app
            .request(reqwest::Method::POST, "/checkout")
            .bearer_auth(&t3)
            .header("idempotency-key", "race")
            .json(&if i % 5 == 4 {
                json!({"pot_id": pot, "amount_cfa": 4000 + i})
            } else {
                body.clone()
            });
        set.spawn(async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        });
    }
    let mut ids = std::collections::HashSet::new();
    let mut refused = 0;
    while let Some(r) = set.join_next().await {
        let (status, v) = r.unwrap();
        match status {
            200 | 201 => {
                ids.insert(v["donation_id"].as_str().unwrap().to_string());
            }
            422 => refused += 1,
            other => panic!("{other} {v}"),
        }
    }
    let n: i64 =
        sqlx::query_scalar("select count(*) from donations.donations where donor_user_id = $1")
            .bind(u3)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(n, 1);
    // Whichever request won, every other body was refused and every same body answered it.
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(refused == 4 || refused == 19, "{refused}");
}

#[tokio::test]
async fn a_misspelt_or_mistyped_field_is_named_and_creates_no_donation() {
    let st = stack().await;
    let pot = st.pot("open").await;
    // `donation_message` for `message`: refused by name, never dropped silently; a wrong
    // type is named too.
    for (body, field) in [
        (
            json!({"pot_id": pot, "amount_cfa": 5000, "donation_message": "Joyeux anniversaire !"}),
            "donation_message",
        ),
        (
            json!({"pot_id": pot, "amount_cfa": 5000, "is_anonymous": "oui"}),
            "is_anonymous",
        ),
    ] {
        let e = expect(st.checkout(body, None).await, 400).await;
        assert_eq!(e["code"], "PGRST102", "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(&format!("« {field} »")), "{e}");
        if field == "donation_message" {
            assert_eq!(
                message,
                "Champ inconnu « donation_message » (unknown field donation_message)"
            );
            assert!(e["hint"].as_str().unwrap().contains("message"), "{e}");
            assert!(!e["hint"].as_str().unwrap().contains("line 1"), "{e}");
        }
    }
    let n: i64 = sqlx::query_scalar("select count(*) from donations.donations")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "no donation for a refused body");
    assert_eq!(st.wave.created_count(), 0);
}
