//! What the webhook storm tests share (`outbox/storm.rs`, and `cluster/` through a
//! `#[path]` module): pending donations with their Wave events, signed deliveries, a storm
//! of senders, and the checks that everything acknowledged was applied exactly once.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

pub const SECRET: &str = "wave_sn_WHS_storm_test";

pub const POTS: usize = 8;

pub const DONATIONS: usize = 400;

pub const SENDERS: usize = 16;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn wait_ready(http: &reqwest::Client, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = http
            .get(format!("http://{addr}/donations/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "wolo serve never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs one signed delivery of `event`; `Some(status)` when the server answered.
pub async fn deliver(http: &reqwest::Client, addr: &str, event: &Value) -> Option<u16> {
    let body = serde_json::to_vec(event).unwrap();
    let header = fakewave::signature_header(&[SECRET.to_string()], Utc::now().timestamp(), &body);
    http.post(format!("http://{addr}/donations/webhooks/wave"))
        .header("content-type", "application/json")
        .header("wave-signature", header)
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// `POTS` open pots and `DONATIONS` pending donations spread over them, each with its Wave
/// session; returns the `checkout.session.completed` event of each donation.
pub async fn prepare(pool: &PgPool) -> Vec<Value> {
    let rows: Vec<(Uuid, String, i32)> = sqlx::query_as(&format!(
        "with owner as (
           insert into identity.users (phone, auth_provider) values ('+221770000901', 'phone') returning id),
         p as (
           insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                  scheduled_open_at, status, actual_opened_at)
           select owner.id, 'Cagnotte ' || g, 100000000, current_date + 20,
                  now() - interval '1 day', 'open', now()
           from owner, generate_series(1, {POTS}) g
           returning id),
         numbered as (select id, row_number() over (order by id) - 1 as n from p)
         insert into donations.donations (pot_id, amount_cfa, status, wave_session_id,
                                          wave_payment_url, wave_session_expires_at, donor_name)
         select numbered.id, 1000 + (g % 7) * 100, 'pending', 'cos-storm-' || g,
                'https://pay.wave.com/c/cos-storm-' || g, now() + interval '1 day', 'Awa'
         from generate_series(1, {DONATIONS}) g
         join numbered on numbered.n = g % {POTS}
         returning id, wave_session_id, amount_cfa"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .enumerate()
        .map(|(i, (id, session, amount))| {
            json!({
                "id": format!("AE_storm_{i}"),
                "type": "checkout.session.completed",
                "data": {
                    "id": session,
                    "amount": amount.to_string(),
                    "currency": "XOF",
                    "checkout_status": "complete",
                    "payment_status": "succeeded",
                    "client_reference": id,
                    "transaction_id": format!("T_STORM_{i}"),
                }
            })
        })
        .collect()
}

/// The storm: `SENDERS` connections, each taking the next event and sending it to one of
/// `addrs` (round robin: a load balancer), every 4th delivery a duplicate of the previous
/// one. Returns the senders and the indexes of the events that got a 2xx.
pub fn storm(
    events: &Arc<Vec<Value>>,
    http: &reqwest::Client,
    addrs: &Arc<Vec<String>>,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<Mutex<HashSet<usize>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let mut senders = Vec::new();
    for k in 0..SENDERS {
        let (events, next, acked, http, addrs) = (
            events.clone(),
            next.clone(),
            acked.clone(),
            http.clone(),
            addrs.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut sent = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= events.len() {
                    return;
                }
                sent += 1;
                let addr = &addrs[(i + k) % addrs.len()];
                let times = if sent.is_multiple_of(4) { 2 } else { 1 };
                for _ in 0..times {
                    match deliver(&http, addr, &events[i]).await {
                        Some(s) if (200..300).contains(&s) => {
                            acked.lock().unwrap().insert(i);
                        }
                        Some(s) => assert!(s >= 500, "a delivery was refused with {s}"),
                        None => {}
                    }
                }
            }
        }));
    }
    (senders, acked)
}

/// Waits until a third of the events got their 2xx.
pub async fn a_third_acknowledged(acked: &Mutex<HashSet<usize>>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < DONATIONS / 3 {
        assert!(Instant::now() < deadline, "the storm never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the consumers caught up: every donation credited to its pot and counted.
pub async fn caught_up(pool: &PgPool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let credited: i64 = sqlx::query_scalar("select count(*) from pots.pot_donation_credits")
            .fetch_one(pool)
            .await
            .unwrap();
        let counted: i64 = sqlx::query_scalar(
            "select count(*) from analytics.analytics_events where event_name = 'donation_made'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if credited == DONATIONS as i64 && counted == DONATIONS as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "consumers did not catch up: {credited} credited, {counted} counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every donation succeeded once, with one stored event and one `donation.succeeded` each;
/// consumers applied each event once; every pot's total equals its succeeded donations.
pub async fn check_applied_once(pool: &PgPool) {
    // Every donation succeeded once, with one stored event and one donation.succeeded each.
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from donations.donations
                  where wave_session_id like 'cos-storm-%' and status = 'succeeded'),
                (select count(*) from donations.wave_webhook_events
                  where wave_event_id like 'AE_storm_%' and processing_error is null),
                (select count(*) from wolo.outbox where topic = 'donation.succeeded'),
                (select count(distinct payload->>'donation_id') from wolo.outbox
                  where topic = 'donation.succeeded')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let n = DONATIONS as i64;
    assert_eq!(
        row,
        (n, n, n, n),
        "succeeded, stored events, donation.succeeded, distinct donations"
    );
    let notices: i64 = sqlx::query_scalar(
        "select count(*) from wolo.outbox where topic = 'notification.requested' and source = 'donations'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(notices, n, "one donation_received request per donation");
    // Consumers applied each event once: the credits and analytics rows are one per donation.
    let dup_credits: i64 = sqlx::query_scalar(
        "select count(*) - count(distinct donation_id) from pots.pot_donation_credits",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(dup_credits, 0);

    // Every pot's total and donor count equal its succeeded donations.
    let wrong: Vec<(Uuid, i32, i64, i32, i64)> = sqlx::query_as(
        "select p.id, p.raised_amount_cfa, coalesce(sum(d.amount_cfa), 0)::bigint,
                p.donor_count, count(d.id)
           from pots.pots p
           left join donations.donations d on d.pot_id = p.id and d.status = 'succeeded'
          where p.title like 'Cagnotte %'
          group by p.id
         having p.raised_amount_cfa <> coalesce(sum(d.amount_cfa), 0) or p.donor_count <> count(d.id)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        wrong.is_empty(),
        "pots whose totals differ from their donations: {wrong:?}"
    );
    let pots: i64 = sqlx::query_scalar(
        "select count(*) from pots.pots where title like 'Cagnotte %' and raised_amount_cfa > 0",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(pots, POTS as i64);
}
