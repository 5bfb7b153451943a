use chrono::Utc;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use crate::{expect, stack, stack_with, OLD_SECRET, SECRET};

#[tokio::test]
async fn a_completed_payment_marks_the_donation_succeeded_and_publishes_once() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let d = st.wave.complete(&sid).await.unwrap();
    assert_eq!(d.status, Some(200));
    let row = sqlx::query(
        "select status, wave_transaction_id, confirmed_at is not null as c, wave_webhook_data from donations.donations where id = $1",
    )
    .bind(id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "succeeded");
    assert_eq!(
        row.get::<Option<String>, _>("wave_transaction_id")
            .as_deref(),
        d.event["data"]["transaction_id"].as_str()
    );
    assert!(row.get::<bool, _>("c"));
    assert_eq!(row.get::<Value, _>("wave_webhook_data")["id"], sid);
    // The public name is kept through the confirmation (V116: the trigger deriving it runs
    // only when what it derives from is written).
    let public: Option<String> =
        sqlx::query_scalar("select public_donor_name from donations.donations where id = $1")
            .bind(id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(public.as_deref(), Some("Fatou"));
    let payload: Value =
        sqlx::query_scalar("select payload from wolo.outbox where topic = 'donation.succeeded'")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(payload["donation_id"], id.to_string());
    assert_eq!(payload["pot_id"], pot.to_string());
    assert_eq!(payload["amount_cfa"], 5000);
    assert_eq!(payload["donor_phone"], "+221771234567");
    assert_eq!(payload["donor_name"], "Fatou");
    assert_eq!(payload["is_anonymous"], false);
    assert!(payload["confirmed_at"].is_string());
    let note: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(note["message"], "donation_received");
    assert_eq!(note["data"]["amount_cfa"], 5000);
    assert_eq!(note["data"]["raised_cfa"], 5000);
    assert_eq!(note["data"]["pot_title"], "Anniversaire de Awa");

    // The same event again: 200, nothing more.
    let b = expect(st.deliver(&d.event).await, 200).await;
    assert_eq!(b["outcome"], "duplicate");
    assert_eq!(st.outbox_count("donation.succeeded", id).await, 1);
    assert_eq!(st.events().await, 1);
}

#[tokio::test]
async fn bad_missing_and_stale_signatures_are_refused_and_change_nothing() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let event = st.wave.complete_event(&sid).unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let now = Utc::now().timestamp();

    let e = expect(st.deliver_raw(&body, None).await, 401).await;
    assert_eq!(e["code"], "invalid_signature");
    let wrong = fakewave::signature_header(&["wave_sn_WHS_other".to_string()], now, &body);
    expect(st.deliver_raw(&body, Some(wrong)).await, 401).await;
    // Stripe-style "t.body" is not Wave's scheme.
    let dot_sig = fakewave::sign(SECRET, now, &[b".".as_slice(), &body].concat());
    expect(
        st.deliver_raw(&body, Some(format!("t={now},v1={dot_sig}")))
            .await,
        401,
    )
    .await;
    // Signed body, tampered in transit.
    let good = fakewave::signature_header(&[SECRET.to_string()], now, &body);
    let mut tampered = body.clone();
    let pos = tampered.len() - 2;
    tampered[pos] = b' ';
    expect(st.deliver_raw(&tampered, Some(good.clone())).await, 401).await;
    // Stale and future timestamps.
    let stale = fakewave::signature_header(&[SECRET.to_string()], now - 301, &body);
    let e = expect(st.deliver_raw(&body, Some(stale)).await, 401).await;
    assert!(e["message"].as_str().unwrap().contains("Horodatage"));
    let future = fakewave::signature_header(&[SECRET.to_string()], now + 400, &body);
    expect(st.deliver_raw(&body, Some(future)).await, 401).await;
    expect(st.deliver_raw(&body, Some("garbage".into())).await, 401).await;

    assert_eq!(st.events().await, 0);
    assert_eq!(st.status(id).await, "pending");

    expect(st.deliver_raw(&body, Some(good)).await, 200).await;
    assert_eq!(st.status(id).await, "succeeded");
}

#[tokio::test]
async fn during_a_rotation_old_and_new_secrets_are_accepted() {
    // The service knows both; the fake signs with the old one only, then with both.
    let st = stack_with(&[SECRET, OLD_SECRET], &[OLD_SECRET]).await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let d = st.wave.complete(&sid).await.unwrap();
    assert_eq!(d.status, Some(200));
    assert_eq!(st.status(id).await, "succeeded");

    let (id2, sid2) = st.pending(pot, 6000).await;
    let event = st.wave.complete_event(&sid2).unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let both = fakewave::signature_header(
        &["wave_sn_WHS_unknown".to_string(), SECRET.to_string()],
        Utc::now().timestamp(),
        &body,
    );
    expect(st.deliver_raw(&body, Some(both)).await, 200).await;
    assert_eq!(st.status(id2).await, "succeeded");
}

#[tokio::test]
async fn malformed_unknown_and_unsupported_events_are_recorded_never_crash() {
    let st = stack().await;
    let now = Utc::now().timestamp();
    let sign = |b: &[u8]| fakewave::signature_header(&[SECRET.to_string()], now, b);

    let body = b"{not json";
    let e = expect(st.deliver_raw(body, Some(sign(body))).await, 400).await;
    assert_eq!(e["code"], "malformed_event");
    expect(st.deliver_raw(body, Some(sign(body))).await, 400).await;
    let body = br#"{"type": "checkout.session.completed"}"#;
    expect(st.deliver_raw(body, Some(sign(body))).await, 400).await;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from donations.wave_webhook_events where event_type = 'malformed'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(n, 2, "each distinct malformed body kept once");

    // A payment for a donation we do not know.
    let unknown = json!({"id": "AE_unknown_1", "type": "checkout.session.completed", "data": {
        "id": "cos-unknown", "amount": "5000", "currency": "XOF", "payment_status": "succeeded",
        "checkout_status": "complete", "client_reference": uuid::Uuid::new_v4().to_string(), "transaction_id": "TX1"}});
    let b = expect(st.deliver(&unknown).await, 200).await;
    assert_eq!(b["outcome"], "error");
    let err: Option<String> =
        sqlx::query_scalar("select processing_error from donations.wave_webhook_events where wave_event_id = 'AE_unknown_1'")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert!(err.unwrap().contains("unknown donation"));

    // Types we do not handle, and the portal's test event.
    let b = expect(
        st.deliver(
            &json!({"id": "AE_m1", "type": "merchant.payment_received", "data": {"id": "T_1"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(b["outcome"], "error");
    let b = expect(
        st.deliver(&json!({"id": "AE_t1", "type": "test.test_event", "data": {}}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["outcome"], "ignored");

    // A completed event whose amount differs from the donation's.
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let mut ev = st.wave.complete_event(&sid).unwrap();
    ev["data"]["amount"] = json!("50");
    let b = expect(st.deliver(&ev).await, 200).await;
    assert_eq!(b["outcome"], "error");
    assert_eq!(st.status(id).await, "pending");
}

#[tokio::test]
async fn a_failed_attempt_then_a_success_ends_succeeded() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let d = st.wave.fail(&sid, "insufficient-funds").await.unwrap();
    assert_eq!(d.status, Some(200));
    let (status, attempts, err): (String, i32, Value) = sqlx::query_as(
        "select status, payment_attempts_failed, last_payment_error from donations.donations where id = $1",
    )
    .bind(id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert_eq!(err["code"], "insufficient-funds");
    assert_eq!(st.outbox_count("donation.failed", id).await, 0);

    st.wave.complete(&sid).await.unwrap();
    assert_eq!(st.status(id).await, "succeeded");
    assert_eq!(st.outbox_count("donation.succeeded", id).await, 1);
}

#[tokio::test]
async fn a_late_failure_never_undoes_a_success() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    st.wave.complete(&sid).await.unwrap();
    let late = st.wave.fail_event(&sid, "payment-failure").unwrap();
    let b = expect(st.deliver(&late).await, 200).await;
    assert_eq!(b["outcome"], "ignored");
    assert_eq!(st.status(id).await, "succeeded");
    let err: Option<String> = sqlx::query_scalar(
        "select processing_error from donations.wave_webhook_events where wave_event_id = $1",
    )
    .bind(late["id"].as_str().unwrap())
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert!(err.unwrap().contains("already succeeded"));
    assert_eq!(st.outbox_count("donation.succeeded", id).await, 1);
}

#[tokio::test]
async fn a_hundred_concurrent_deliveries_of_one_event_change_the_donation_once() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let event = st.wave.complete_event(&sid).unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let header = fakewave::signature_header(&[SECRET.to_string()], Utc::now().timestamp(), &body);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let req = st
            .app
            .request(reqwest::Method::POST, "/webhooks/wave")
            .header("wave-signature", header.clone())
            .body(body.clone());
        set.spawn(async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        });
    }
    let mut applied = 0;
    while let Some(r) = set.join_next().await {
        let (s, b) = r.unwrap();
        assert_eq!(s, 200, "{b}");
        if b["outcome"] == "applied" {
            applied += 1;
        } else {
            assert_eq!(b["outcome"], "duplicate");
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(st.status(id).await, "succeeded");
    assert_eq!(st.outbox_count("donation.succeeded", id).await, 1);
    assert_eq!(st.events().await, 1);
    let retries: i32 = sqlx::query_scalar("select retry_count from donations.wave_webhook_events")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(retries, 99);
}

/// Many deliveries at once share transactions (group commit): each still gets its own
/// outcome, applied once; and when a batch cannot run, its deliveries are applied one by one.
#[tokio::test]
async fn deliveries_arriving_together_are_each_applied_once_batched_or_alone() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let mut donations = vec![];
    for _ in 0..12 {
        donations.push(st.pending(pot, 2000).await);
    }
    // Every event twice, plus one for an unknown session, all in flight together.
    let mut events: Vec<Value> = vec![];
    for (_, sid) in &donations {
        let e = st.wave.complete_event(sid).unwrap();
        events.push(e.clone());
        events.push(e);
    }
    let mut stray = st.wave.complete_event(&donations[0].1).unwrap();
    stray["id"] = json!("AE_stray");
    stray["data"]["id"] = json!("cos-nobody");
    stray["data"]["client_reference"] = json!(Uuid::new_v4().to_string());
    events.push(stray);
    let send_all = |events: Vec<Value>| {
        let mut set = tokio::task::JoinSet::new();
        for e in events {
            let body = serde_json::to_vec(&e).unwrap();
            let header =
                fakewave::signature_header(&[SECRET.to_string()], Utc::now().timestamp(), &body);
            let req = st
                .app
                .request(reqwest::Method::POST, "/webhooks/wave")
                .header("wave-signature", header)
                .body(body);
            set.spawn(async move {
                let r = req.send().await.unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap())
            });
        }
        set
    };
    let mut set = send_all(events);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    while let Some(r) = set.join_next().await {
        let (s, b) = r.unwrap();
        assert_eq!(s, 200, "{b}");
        *outcomes
            .entry(b["outcome"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(outcomes.get("applied"), Some(&12), "{outcomes:?}");
    assert_eq!(outcomes.get("duplicate"), Some(&12), "{outcomes:?}");
    assert_eq!(outcomes.get("error"), Some(&1), "{outcomes:?}");
    for (id, _) in &donations {
        assert_eq!(st.status(*id).await, "succeeded");
        assert_eq!(st.outbox_count("donation.succeeded", *id).await, 1);
    }
    let stray_error: Option<String> = sqlx::query_scalar(
        "select processing_error from donations.wave_webhook_events where wave_event_id = 'AE_stray'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert!(stray_error.unwrap().contains("unknown donation"));

    // The batch function unavailable (a stand-in for a batch that fails): nothing of a failed
    // batch is committed, and each delivery is then applied alone.
    let more: Vec<(Uuid, String)> = {
        let mut v = vec![];
        for _ in 0..8 {
            v.push(st.pending(pot, 3000).await);
        }
        v
    };
    sqlx::query(
        "revoke execute on function donations.apply_wave_events(jsonb) from wolo_svc_donations",
    )
    .execute(&st.db.pool)
    .await
    .unwrap();
    let events: Vec<Value> = more
        .iter()
        .map(|(_, sid)| st.wave.complete_event(sid).unwrap())
        .collect();
    let mut set = send_all(events);
    while let Some(r) = set.join_next().await {
        let (s, b) = r.unwrap();
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["outcome"], "applied");
    }
    for (id, _) in &more {
        assert_eq!(st.status(*id).await, "succeeded");
        assert_eq!(st.outbox_count("donation.succeeded", *id).await, 1);
    }
}

/// `apply_together`'s outcomes, each call expected to reach the database.
async fn together(pool: &sqlx::PgPool, events: &[Value]) -> Vec<&'static str> {
    donations::webhook::apply_together(pool, events)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// Wave's ids of `events`.
fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// The group commit itself: events applied together share one transaction (their rows carry
/// one transaction id), each with its own outcome in the order given, a duplicate inside the
/// group included; when the batch call fails, each is applied in its own transaction.
#[tokio::test]
async fn events_applied_together_commit_in_one_transaction_or_each_alone() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let pool = st.db.service_pool("donations");
    let xids = |ids: Vec<String>| {
        let db = st.db.pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "select count(distinct xmin::text) from donations.wave_webhook_events
                  where wave_event_id = any($1)",
            )
            .bind(ids)
            .fetch_one(&db)
            .await
            .unwrap();
            n
        }
    };
    let mut events = vec![];
    for _ in 0..4 {
        let (_, sid) = st.pending(pot, 2500).await;
        events.push(st.wave.complete_event(&sid).unwrap());
    }
    // The last event again, inside the same group: the second sees the first's row.
    events.push(events[3].clone());
    let outcomes = together(&pool, &events).await;
    assert_eq!(
        outcomes,
        ["applied", "applied", "applied", "applied", "duplicate"]
    );
    assert_eq!(
        xids(event_ids(&events[..4])).await,
        1,
        "one transaction for the group"
    );

    // The batch function unavailable: each event alone, in its own transaction.
    sqlx::query(
        "revoke execute on function donations.apply_wave_events(jsonb) from wolo_svc_donations",
    )
    .execute(&st.db.pool)
    .await
    .unwrap();
    let mut events = vec![];
    for _ in 0..3 {
        let (_, sid) = st.pending(pot, 2500).await;
        events.push(st.wave.complete_event(&sid).unwrap());
    }
    let outcomes = together(&pool, &events).await;
    assert_eq!(outcomes, ["applied", "applied", "applied"]);
    assert_eq!(xids(event_ids(&events)).await, 3, "one transaction each");
}

/// A group mixing clean successes with the cases that need care (a duplicate inside the group,
/// a wrong amount, two events for one donation, a failed payment): every outcome, every
/// donation and every message is what applying them one after the other gives, the owner's
/// running total included.
#[tokio::test]
async fn a_mixed_group_ends_as_one_event_at_a_time_would() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let pool = st.db.service_pool("donations");
    let (d1, s1) = st.pending(pot, 1000).await;
    let (d2, s2) = st.pending(pot, 2500).await;
    let (d3, s3) = st.pending(pot, 3000).await;
    let (d4, s4) = st.pending(pot, 1500).await;
    let (d5, s5) = st.pending(pot, 700).await;
    let e1 = st.wave.complete_event(&s1).unwrap();
    let e2 = st.wave.complete_event(&s2).unwrap();
    let mut e3 = st.wave.complete_event(&s3).unwrap();
    e3["data"]["amount"] = json!("30"); // not the donation's amount
    let e4a = st.wave.complete_event(&s4).unwrap();
    let e4b = st.wave.complete_event(&s4).unwrap(); // a second event for the same donation
    let e5 = st.wave.fail_event(&s5, "insufficient-funds").unwrap();
    let events = vec![
        e1.clone(),
        e2.clone(),
        e2.clone(),
        e3,
        e4a.clone(),
        e4b.clone(),
        e5,
        e1.clone(),
    ];
    let outcomes = together(&pool, &events).await;
    // Of two events for one donation, the first in the group's order (Wave's event ids)
    // applies; the other finds it succeeded.
    let (e4a_first, e4b_first) = if e4a["id"].as_str() < e4b["id"].as_str() {
        ("applied", "ignored")
    } else {
        ("ignored", "applied")
    };
    assert_eq!(
        outcomes,
        [
            "applied",
            "applied",
            "duplicate",
            "error",
            e4a_first,
            e4b_first,
            "applied",
            "duplicate"
        ]
    );
    for (d, status) in [
        (d1, "succeeded"),
        (d2, "succeeded"),
        (d3, "pending"),
        (d4, "succeeded"),
        (d5, "pending"),
    ] {
        assert_eq!(st.status(d).await, status, "donation {d}");
        let n = if status == "succeeded" { 1 } else { 0 };
        assert_eq!(st.outbox_count("donation.succeeded", d).await, n);
    }
    let tx: Option<String> =
        sqlx::query_scalar("select wave_transaction_id from donations.donations where id = $1")
            .bind(d1)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(tx.as_deref(), e1["data"]["transaction_id"].as_str());
    let rows = sqlx::query(
        "select wave_event_id, retry_count, processing_error, processed_at is not null as done,
                donation_id
           from donations.wave_webhook_events where wave_event_id = any($1)",
    )
    .bind(event_ids(&[e1.clone(), e2.clone()]))
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(
            r.get::<Option<i32>, _>("retry_count"),
            Some(1),
            "one duplicate each"
        );
        assert_eq!(r.get::<Option<String>, _>("processing_error"), None);
        assert!(r.get::<bool, _>("done"));
        assert!(r.get::<Option<Uuid>, _>("donation_id").is_some());
    }
    // The owner hears of each success with the pot's total as it stood after it: in the order
    // the messages were queued, each total is the one before plus its amount.
    let notes: Vec<Value> = sqlx::query_scalar(
        "select payload -> 'data' from wolo.outbox where topic = 'notification.requested'
          order by id",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    let seen: Vec<(i64, i64)> = notes
        .iter()
        .map(|n| {
            (
                n["amount_cfa"].as_i64().unwrap(),
                n["raised_cfa"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut raised = 0;
    for (amount, total) in &seen {
        raised += amount;
        assert_eq!(*total, raised, "{seen:?}");
    }
    let mut amounts: Vec<i64> = seen.iter().map(|s| s.0).collect();
    amounts.sort();
    assert_eq!(amounts, [1000, 1500, 2500]);
    assert!(notes.iter().all(|n| n["donor_name"] == "Fatou"));
}

#[tokio::test]
async fn a_database_outage_answers_5xx_so_wave_retries() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let event = st.wave.complete_event(&sid).unwrap();
    // The events table is unavailable for the duration (deterministic stand-in for an outage).
    sqlx::query("alter table donations.wave_webhook_events rename to wave_webhook_events_off")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let r = st.deliver(&event).await;
    assert!(r.status().is_server_error(), "{}", r.status());
    sqlx::query("alter table donations.wave_webhook_events_off rename to wave_webhook_events")
        .execute(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(st.status(id).await, "pending");
    // Wave's retry goes through.
    let b = expect(st.deliver(&event).await, 200).await;
    assert_eq!(b["outcome"], "applied");
    assert_eq!(st.status(id).await, "succeeded");
}

#[tokio::test]
async fn a_completed_event_applies_only_to_the_session_and_amount_of_its_donation() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (d1, s1) = st.pending(pot, 5000).await;
    let (d2, s2) = st.pending(pot, 5000).await;

    // Donation 2's paid session, claimed for donation 1 (same amount): recorded, not applied.
    let mut ev = st.wave.complete_event(&s2).unwrap();
    ev["data"]["client_reference"] = json!(d1.to_string());
    let b = expect(st.deliver(&ev).await, 200).await;
    assert_eq!(b["outcome"], "error");
    assert_eq!(st.status(d1).await, "pending");
    assert_eq!(st.status(d2).await, "pending");
    let err: Option<String> = sqlx::query_scalar(
        "select processing_error from donations.wave_webhook_events where wave_event_id = $1",
    )
    .bind(ev["id"].as_str().unwrap())
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert!(err.unwrap().contains("session mismatch"));
    assert_eq!(st.outbox_count("donation.succeeded", d1).await, 0);

    // The right session with another amount, or as a number, or another currency: recorded.
    for (field, value) in [
        ("amount", json!("4999")),
        ("amount", json!(5000)),
        ("currency", json!("EUR")),
    ] {
        let mut ev = st.wave.complete_event(&s1).unwrap();
        ev["data"][field] = value;
        let b = expect(st.deliver(&ev).await, 200).await;
        assert_eq!(b["outcome"], "error", "{field}");
        assert_eq!(st.status(d1).await, "pending");
    }

    // Session and amount of donation 1: applied.
    let ev = st.wave.complete_event(&s1).unwrap();
    let b = expect(st.deliver(&ev).await, 200).await;
    assert_eq!(b["outcome"], "applied");
    assert_eq!(st.status(d1).await, "succeeded");
}

#[tokio::test]
async fn signed_bodies_that_cannot_be_stored_are_recorded_with_a_4xx_never_a_5xx() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let now = Utc::now().timestamp();
    let sign = |b: &[u8]| fakewave::signature_header(&[SECRET.to_string()], now, b);

    // U+0000 (Postgres text and jsonb refuse it) in the data, the event id, a key; raw NULs
    // and bytes that are not UTF-8.
    let mut with_nul = st.wave.complete_event(&sid).unwrap();
    with_nul["data"]["transaction_id"] = json!("T\u{0}X");
    let mut nul_id = st.wave.complete_event(&sid).unwrap();
    nul_id["id"] = json!("AE_\u{0}1");
    let nul_key = json!({"id": "AE_k", "type": "checkout.session.completed",
                         "data": {"a\u{0}": 1, "id": sid}});
    let mut bodies: Vec<Vec<u8>> = [with_nul, nul_id, nul_key]
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap())
        .collect();
    bodies.push(b"{\"id\": \"AE_raw\", \"type\": \"x\", \"data\": \"\x00\"}".to_vec());
    bodies.push(b"\xff\xfe{\"id\": \"AE_utf\"}\x00".to_vec());
    for body in &bodies {
        let res = st.deliver_raw(body, Some(sign(body))).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 400, "{text}");
        let e: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(e["code"], "malformed_event");
        // Wave retries: still a 400, still one record.
        assert_eq!(st.deliver_raw(body, Some(sign(body))).await.status(), 400);
    }
    let rows: Vec<(Value, Option<String>)> = sqlx::query_as(
        "select raw_payload, processing_error from donations.wave_webhook_events
          where event_type = 'malformed' order by created_at",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), bodies.len(), "each body recorded once");
    assert!(rows.iter().all(|(_, e)| e.is_some()));
    assert!(rows
        .iter()
        .any(|(_, e)| e.as_deref().unwrap().contains("U+0000")));
    assert_eq!(st.status(id).await, "pending");

    // Wrong types inside a well-formed event: recorded with the reason, not applied.
    let mut wrong = st.wave.complete_event(&sid).unwrap();
    wrong["data"]["transaction_id"] = json!(42);
    let b = expect(st.deliver(&wrong).await, 200).await;
    assert_eq!(b["outcome"], "error");
    let b = expect(
        st.deliver(&json!({"id": "AE_w2", "type": "checkout.session.completed", "data": "oops"}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["outcome"], "error");
    let b = expect(
        st.deliver(
            &json!({"id": "AE_w3", "type": "checkout.session.payment_failed",
                           "data": {"id": ["x"], "client_reference": id.to_string()}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(b["outcome"], "error");
    assert_eq!(st.status(id).await, "pending");

    // A huge but storable body is recorded in full, its reason kept short.
    let mut big = st.wave.complete_event(&sid).unwrap();
    big["data"]["amount"] = json!("9".repeat(200_000));
    let b = expect(st.deliver(&big).await, 200).await;
    assert_eq!(b["outcome"], "error");
    let err: String = sqlx::query_scalar(
        "select processing_error from donations.wave_webhook_events where wave_event_id = $1",
    )
    .bind(big["id"].as_str().unwrap())
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert!(err.len() < 1000, "{}", err.len());

    // And the real payment still goes through.
    st.wave.complete(&sid).await.unwrap();
    assert_eq!(st.status(id).await, "succeeded");
}

#[tokio::test]
async fn the_configured_webhook_secret_is_the_one_honoured() {
    const CONFIGURED: &str = "wave_sn_WHS_configured_for_this_deployment";
    let env = |k: &str| match k {
        "WOLO_WAVE_WEBHOOK_SECRET" => Some(CONFIGURED.to_string()),
        _ => None,
    };
    // No Wave URL (development: the fake Wave), but a secret is configured: that secret, never
    // the fake's dev one, is what the service accepts and what the fake signs with.
    let settings = platform::config::Env::from_pairs(&[("WOLO_WAVE_WEBHOOK_SECRET", CONFIGURED)]);
    let development = platform::config::Environment::Development;
    let cfg = donations::DonationsConfig::from_env(&settings, development).unwrap();
    assert_eq!(
        cfg.webhook_secrets,
        vec![platform::config::Secret::new(CONFIGURED)]
    );
    let (key, secrets) = donations::config::fake_wave_credentials(env);
    assert_eq!(key, donations::config::DEV_API_KEY);
    assert_eq!(secrets, vec![CONFIGURED.to_string()]);
    let none = platform::config::Env::from_pairs::<&str, &str>(&[]);
    let dev = donations::DonationsConfig::from_env(&none, development).unwrap();
    assert_eq!(
        dev.webhook_secrets,
        vec![platform::config::Secret::new(
            donations::config::DEV_WEBHOOK_SECRET
        )]
    );

    // The service configured from that environment, the fake started as `wolo serve` does.
    let db = testkit::TestDb::new().await;
    let wave = fakewave::spawn(fakewave::FakeWaveConfig {
        api_key: key.clone(),
        webhook_secrets: secrets,
        ..fakewave::FakeWaveConfig::default()
    })
    .await
    .unwrap();
    let mut cfg = cfg;
    cfg.wave_api_url = wave.url.clone();
    let app = testkit::spawn(donations::router(
        db.service_context("donations").with_section(cfg),
    ))
    .await;
    wave.set_webhook_url(Some(app.url("/webhooks/wave")));
    let st = crate::Stack {
        db,
        app,
        wave,
        paydunya: None,
    };
    let pot = st.pot("open").await;
    let (id, sid) = st.pending(pot, 5000).await;
    let event = st.wave.complete_event(&sid).unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let now = Utc::now().timestamp();
    let dev_signed = fakewave::signature_header(
        &[donations::config::DEV_WEBHOOK_SECRET.to_string()],
        now,
        &body,
    );
    expect(st.deliver_raw(&body, Some(dev_signed)).await, 401).await;
    assert_eq!(st.status(id).await, "pending");
    let d = st.wave.deliver(&event).await;
    assert_eq!(d.status, Some(200));
    assert_eq!(st.status(id).await, "succeeded");
}
