//! A slow Wave: checkouts wait on it holding no database connection and no row lock, so the
//! service keeps answering; concurrent checkouts of one key still make one Wave session.

use std::{collections::HashSet, time::Duration};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{stack_timing_out_after, Stack};

/// Connections of the service's pool (`application_name = 'wolo'`, platform::db) to this
/// test's database, by state.
async fn service_connections(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select coalesce(state, ''), count(*) from pg_stat_activity
         where datname = current_database() and application_name = 'wolo'
         group by 1 order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Donations whose Wave call is claimed and not answered yet.
async fn waiting_on_wave(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from donations.donations
         where wave_claim_id is not null and wave_payment_url is null",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Sends one checkout in a task: (status, body).
fn send(
    st: &Stack,
    body: &Value,
    key: Option<&str>,
) -> impl std::future::Future<Output = (u16, Value)> + Send + 'static {
    let mut req = st.app.request(Method::POST, "/checkout").json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    async move {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    }
}

/// The body of an answer that must have `status`.
fn answered((got, body): (u16, Value), status: u16) -> Value {
    assert_eq!(got, status, "{body}");
    body
}

#[tokio::test]
async fn a_hundred_checkouts_waiting_on_a_slow_wave_leave_the_service_answering() {
    // Wave answers every call after 2 s (a checkout makes two: search, create); the donations
    // pool holds 10 connections.
    let st = stack_timing_out_after(Duration::from_secs(10)).await;
    st.wave.set_delay(Duration::from_secs(2));
    let pot = st.pot("open").await;
    let closed = st.pot("closed").await;
    let n = 100;
    let mut checkouts = tokio::task::JoinSet::new();
    for i in 0..n {
        checkouts.spawn(send(
            &st,
            &json!({"pot_id": pot, "amount_cfa": 1000 + i}),
            None,
        ));
    }
    // Wait until every donation is written and most are waiting on Wave.
    let started = tokio::time::Instant::now();
    loop {
        let written: i64 = sqlx::query_scalar("select count(*) from donations.donations")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
        if written == n && waiting_on_wave(&st.db.pool).await > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the checkouts were not written: {written}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = waiting_on_wave(&st.db.pool).await;

    // Meanwhile: the service's pool is not held by the waiting checkouts. A checkout whose
    // answer came back may be in its short transaction at any one look; a connection held
    // while Wave is waited on (2 s a call) would be in the same transaction at every look
    // over 400 ms.
    let mut held: Option<std::collections::HashSet<(i32, String)>> = None;
    for _ in 0..5 {
        let now: std::collections::HashSet<(i32, String)> = sqlx::query_as(
            "select pid, xact_start::text from pg_stat_activity
             where datname = current_database() and application_name = 'wolo'
               and state like 'idle in transaction%'",
        )
        .fetch_all(&st.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
        held = Some(match held {
            None => now,
            Some(before) => before.intersection(&now).cloned().collect(),
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held = held.unwrap_or_default();
    assert!(
        held.is_empty(),
        "connections held in a transaction while Wave is waited on: {held:?}"
    );
    let connections = service_connections(&st.db.pool).await;
    let open: i64 = connections.iter().map(|(_, c)| c).sum();
    assert!(open <= 10, "{connections:?}");
    // ... so reads and other checkouts get connections and answer (no 503, no pool timeout).
    let mut others = tokio::task::JoinSet::new();
    for i in 0..20 {
        let read = st
            .app
            .request(Method::GET, "/donations?select=id,status&limit=5");
        others.spawn(async move { (format!("read {i}"), read.send().await.unwrap().status()) });
    }
    for i in 0..5 {
        let body = json!({"pot_id": closed, "amount_cfa": 2000});
        let refused = send(&st, &body, None);
        others.spawn(async move {
            let status = reqwest::StatusCode::from_u16(refused.await.0).unwrap();
            (format!("closed pot {i}"), status)
        });
    }
    while let Some(r) = others.join_next().await {
        let (what, status) = r.unwrap();
        if what.starts_with("read") {
            assert_eq!(status, 200, "{what}");
        } else {
            assert_eq!(status, 409, "{what}: the pot is closed");
        }
    }
    // The checkouts were still waiting on Wave all along.
    assert!(
        waiting_on_wave(&st.db.pool).await > 0,
        "Wave answered before the reads were made ({waiting} were waiting)"
    );

    // Then every checkout gets its own session.
    let mut urls = HashSet::new();
    while let Some(r) = checkouts.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "pending");
        urls.insert(body["wave_payment_url"].as_str().unwrap().to_string());
    }
    assert_eq!(urls.len(), n as usize);
    assert_eq!(st.wave.created_count(), n as u32);
    let (sessions, claims): (i64, i64) = sqlx::query_as(
        "select count(wave_session_id), count(wave_claim_id) from donations.donations
         where status = 'pending'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!((sessions, claims), (n, 0));
}

#[tokio::test]
async fn concurrent_checkouts_of_one_key_make_one_wave_session_while_wave_is_slow() {
    let st = stack_timing_out_after(Duration::from_secs(5)).await;
    st.wave.set_delay(Duration::from_millis(500));
    let pot = st.pot("open").await;
    let body = json!({"pot_id": pot, "amount_cfa": 5000, "donor_name": "Awa"});
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        set.spawn(send(&st, &body, Some("one-gift")));
    }
    let (mut created, mut replayed) = (0, 0);
    let mut answers = HashSet::new();
    while let Some(r) = set.join_next().await {
        let (status, b) = r.unwrap();
        match status {
            201 => created += 1,
            200 => replayed += 1,
            other => panic!("{other} {b}"),
        }
        answers.insert((
            b["donation_id"].as_str().unwrap().to_string(),
            b["wave_payment_url"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!((created, replayed), (1, 19));
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(st.wave.created_count(), 1, "one session at Wave");
    let (id, url) = answers.into_iter().next().unwrap();
    let stored: (i64, Option<String>, Option<Uuid>) = sqlx::query_as(
        "select count(*) over (), wave_payment_url, wave_claim_id from donations.donations",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, (1, Some(url), None));
    assert_eq!(st.wave.sessions_for(&id).len(), 1);
}

#[tokio::test]
async fn a_failure_at_wave_answers_every_concurrent_request_and_a_retry_tries_again() {
    let st = stack_timing_out_after(Duration::from_secs(5)).await;
    // Long enough for the ten to be there before Wave answers the first one's create.
    st.wave.set_delay(Duration::from_secs(1));
    let pot = st.pot("open").await;
    let body = json!({"pot_id": pot, "amount_cfa": 3000});
    st.wave.fail_next_create(fakewave::Failure::Status500);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        set.spawn(send(&st, &body, Some("k")));
    }
    while let Some(r) = set.join_next().await {
        let (status, b) = r.unwrap();
        assert_eq!(status, 502, "{b}");
        assert_eq!(b["code"], "wave_unavailable");
    }
    // One attempt at Wave, which failed; the donation says so.
    assert_eq!(st.wave.created_count(), 0);
    let (status, reason, claim): (String, String, Option<Uuid>) =
        sqlx::query_as("select status, failure_reason, wave_claim_id from donations.donations")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(
        reason.starts_with("wave_checkout_error: http 500"),
        "{reason}"
    );
    assert_eq!(claim, None);

    // Retried later with the same key: Wave is asked again, and answers.
    st.wave.set_delay(Duration::ZERO);
    let b = answered(send(&st, &body, Some("k")).await, 200);
    assert_eq!(b["status"], "pending");
    assert!(b["wave_payment_url"].is_string());
    assert_eq!(st.wave.created_count(), 1);
}

#[tokio::test]
async fn a_claim_left_by_a_request_that_died_lapses() {
    let st = stack_timing_out_after(Duration::from_secs(2)).await;
    let pot = st.pot("open").await;
    let body = json!({"pot_id": pot, "amount_cfa": 4000});
    let first = answered(send(&st, &body, Some("k")).await, 201);
    let id: Uuid = first["donation_id"].as_str().unwrap().parse().unwrap();
    // As if a request had claimed the Wave call and died before storing anything.
    sqlx::query(
        "update donations.donations
         set wave_session_id = null, wave_payment_url = null, wave_session_expires_at = null,
             wave_claim_id = gen_random_uuid(), wave_claim_until = now() + interval '1 second'
         where id = $1",
    )
    .bind(id)
    .execute(&st.db.pool)
    .await
    .unwrap();
    // The retry waits for the claim to lapse, then finds the session Wave made by its
    // client_reference: still one session.
    let again = answered(send(&st, &body, Some("k")).await, 200);
    assert_eq!(again["donation_id"], first["donation_id"]);
    assert_eq!(again["wave_payment_url"], first["wave_payment_url"]);
    assert_eq!(st.wave.created_count(), 1);
    assert_eq!(st.session_of(id).await.len(), "cos-".len() + 13);
}
