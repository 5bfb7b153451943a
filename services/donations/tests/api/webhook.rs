use chrono::Utc;
use serde_json::{json, Value};
use sqlx::Row;

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
