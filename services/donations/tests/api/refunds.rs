use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use crate::{expect, stack, Stack};

async fn refund(st: &Stack, id: Uuid, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = st
        .app
        .request(reqwest::Method::POST, &format!("/{id}/refund"))
        .header("x-request-id", "req-refund-1")
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn succeeded(st: &Stack, pot: Uuid, amount: i64) -> (Uuid, String) {
    let (id, sid) = st.pending(pot, amount).await;
    st.wave.complete(&sid).await.unwrap();
    assert_eq!(st.status(id).await, "succeeded");
    (id, sid)
}

#[tokio::test]
async fn an_admin_refunds_a_donation_through_wave_and_it_is_audited() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = succeeded(&st, pot, 5000).await;
    let (admin_id, admin) = st.admin().await;

    // Not an admin: 401 / 403, nothing written.
    let user = st.user("+221775550000").await;
    expect(refund(&st, id, None, json!({"reason": "x"})).await, 401).await;
    expect(
        refund(
            &st,
            id,
            Some(&testkit::token(auth::Role::User, user)),
            json!({"reason": "x"}),
        )
        .await,
        403,
    )
    .await;
    // A reason is required.
    expect(refund(&st, id, Some(&admin), json!({})).await, 400).await;
    let n: i64 = sqlx::query_scalar("select count(*) from donations.refunds")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);

    let r = expect(
        refund(
            &st,
            id,
            Some(&admin),
            json!({"reason": "Demande du donateur", "category": "user_request"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["wave_refund_status"], "completed");
    assert_eq!(r["amount_cfa"], 5000);
    assert_eq!(r["refunded_by_user_id"], admin_id.to_string());
    assert_eq!(st.status(id).await, "refunded");
    assert_eq!(st.wave.refund_calls(&sid), 1);
    let p: Value =
        sqlx::query_scalar("select payload from wolo.outbox where topic = 'donation.refunded'")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(p["donation_id"], id.to_string());
    assert_eq!(p["amount_cfa"], 5000);
    assert_eq!(p["refund_id"], r["id"]);
    let audits = sqlx::query(
        "select action, actor_user_id, reason, request_id from admin.audit_logs
         where resource_id = $1 order by created_at, action",
    )
    .bind(id)
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    let actions: Vec<String> = audits
        .iter()
        .map(|r| r.get::<String, _>("action"))
        .collect();
    assert!(
        actions.contains(&"donation_refund_requested".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"donation_refunded".to_string()),
        "{actions:?}"
    );
    for a in &audits {
        assert_eq!(a.get::<Option<Uuid>, _>("actor_user_id"), Some(admin_id));
        assert_eq!(
            a.get::<Option<String>, _>("reason").as_deref(),
            Some("Demande du donateur")
        );
        assert_eq!(
            a.get::<Option<String>, _>("request_id").as_deref(),
            Some("req-refund-1")
        );
    }

    // Twice: the donation is no longer refundable.
    let e = expect(
        refund(&st, id, Some(&admin), json!({"reason": "encore"})).await,
        409,
    )
    .await;
    assert_eq!(e["code"], "donation_not_refundable");
    assert_eq!(st.wave.refund_calls(&sid), 1);
}

#[tokio::test]
async fn a_wave_refund_failure_leaves_the_donation_succeeded_and_can_be_retried() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, _) = succeeded(&st, pot, 5000).await;
    let (_, admin) = st.admin().await;
    st.wave.fail_next_refund(fakewave::Failure::Status500);
    let e = expect(
        refund(&st, id, Some(&admin), json!({"reason": "Fraude"})).await,
        502,
    )
    .await;
    assert_eq!(e["code"], "wave_refund_failed");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("le don reste réussi"));
    assert_eq!(st.status(id).await, "succeeded");
    let (status, err): (String, Option<String>) = sqlx::query_as(
        "select wave_refund_status, error_message from donations.refunds where donation_id = $1",
    )
    .bind(id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(status, "failed");
    assert!(err.unwrap().contains("500"));
    assert_eq!(st.outbox_count("donation.refunded", id).await, 0);

    let r = expect(
        refund(&st, id, Some(&admin), json!({"reason": "Fraude"})).await,
        200,
    )
    .await;
    assert_eq!(r["wave_refund_status"], "completed");
    assert_eq!(st.status(id).await, "refunded");
    let n: i64 = sqlx::query_scalar("select count(*) from donations.refunds")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // A donation that never succeeded cannot be refunded.
    let (pending, _) = st.pending(pot, 1000).await;
    expect(
        refund(&st, pending, Some(&admin), json!({"reason": "x"})).await,
        409,
    )
    .await;
}

#[tokio::test]
async fn an_expired_pot_is_refunded_whole() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (a, _) = succeeded(&st, pot, 5000).await;
    let (b, _) = succeeded(&st, pot, 3000).await;
    let (_, admin) = st.admin().await;
    let url = format!("/pots/{pot}/refund");
    let e = expect(
        st.app
            .request(reqwest::Method::POST, &url)
            .bearer_auth(&admin)
            .json(&json!({"reason": "Objectif non atteint"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(e["code"], "pot_not_expired");
    sqlx::query("update pots.pots set status = 'expired' where id = $1")
        .bind(pot)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let r = expect(
        st.app
            .request(reqwest::Method::POST, &url)
            .bearer_auth(&admin)
            .json(&json!({"reason": "Objectif non atteint"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(r["failed"], 0);
    assert_eq!(r["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(st.status(a).await, "refunded");
    assert_eq!(st.status(b).await, "refunded");
    let reasons: Vec<String> = sqlx::query_scalar("select reason from donations.refunds")
        .fetch_all(&st.db.pool)
        .await
        .unwrap();
    assert!(reasons.iter().all(|r| r == "failed_pot"));
    let n: i64 = sqlx::query_scalar("select count(*) from wolo.outbox where topic = 'donation.refunded' and payload->>'pot_id' = $1")
        .bind(pot.to_string())
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn concurrent_refunds_of_one_donation_refund_it_once() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, sid) = succeeded(&st, pot, 5000).await;
    let (_, admin) = st.admin().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let req = st
            .app
            .request(reqwest::Method::POST, &format!("/{id}/refund"))
            .bearer_auth(&admin)
            .json(&json!({"reason": "Doublon"}));
        set.spawn(async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.text().await.unwrap())
        });
    }
    let mut ok = 0;
    while let Some(s) = set.join_next().await {
        let (status, body) = s.unwrap();
        match status {
            200 => ok += 1,
            409 => {}
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(st.wave.refund_calls(&sid), 1);
    assert_eq!(st.status(id).await, "refunded");
    assert_eq!(st.outbox_count("donation.refunded", id).await, 1);
}

#[tokio::test]
async fn refund_bodies_are_checked_by_name_after_the_caller() {
    let st = stack().await;
    let pot = st.pot("open").await;
    let (id, _) = succeeded(&st, pot, 5000).await;
    let (_, admin) = st.admin().await;
    let e = expect(
        refund(
            &st,
            id,
            Some(&admin),
            json!({"reason": "erreur", "motif": "x"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e["code"], "PGRST102", "{e}");
    assert!(e["message"].as_str().unwrap().contains("motif"), "{e}");
    let e = expect(
        refund(&st, id, Some(&admin), json!({"reason": 12})).await,
        400,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("reason"), "{e}");
    // Not an admin: 401/403 before the body is read.
    expect(refund(&st, id, None, json!({"motif": "x"})).await, 401).await;
    let user = st.user("+221770009911").await;
    let token = testkit::token(auth::Role::User, user);
    expect(
        refund(&st, id, Some(&token), json!({"motif": "x"})).await,
        403,
    )
    .await;
    assert_eq!(st.status(id).await, "succeeded");
    let n: i64 = sqlx::query_scalar("select count(*) from donations.refunds")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
