//! `wolo serve` killed with SIGKILL in the middle of a storm of Wave webhooks (issue #16):
//! after a restart and Wave's retries, every delivery that got a 2xx is applied exactly once,
//! no event is lost or delivered twice to a consumer, and every pot's total equals its
//! succeeded donations.

use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use testkit::TestDb;

use super::storm_kit::*;

const WOLO: &str = env!("CARGO_BIN_EXE_wolo");

/// `wolo serve` on `addr`, checking webhooks with [`SECRET`] (Wave itself is never called).
fn serve(db: &TestDb, addr: &str) -> Served {
    Served(spawn(db, addr))
}

/// A `wolo serve` killed when dropped: a failing test leaves no server behind (it would hold
/// the fakes' fixed ports for the tests that come after).
struct Served(Child);

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(db: &TestDb, addr: &str) -> Child {
    Command::new(WOLO)
        .arg("serve")
        .env_remove("RUST_LOG_FORMAT")
        .env("RUST_LOG", "error")
        .env("DATABASE_URL", &db.url)
        .env("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET)
        .env("WOLO_HTTP_ADDR", addr)
        .env("WOLO_WAVE_API_URL", "http://127.0.0.1:9")
        .env("WOLO_WAVE_API_KEY", "wave_sn_storm_unused")
        .env("WOLO_WAVE_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_sigkill_in_a_webhook_storm_loses_nothing_and_applies_nothing_twice() {
    let db = TestDb::new().await;
    let events = Arc::new(prepare(&db.pool).await);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = serve(&db, &addr);
    wait_ready(&http, &addr).await;

    // The storm, killed once a third of the events got their 2xx.
    let (senders, acked) = storm(&events, &http, &Arc::new(vec![addr.clone()]));
    a_third_acknowledged(&acked).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked_before_kill: HashSet<usize> = acked.lock().unwrap().clone();
    assert!(
        acked_before_kill.len() < DONATIONS,
        "the kill came after the storm: nothing was cut short"
    );

    // Whatever was acknowledged before the kill is committed, and applied once.
    let applied: i64 = sqlx::query_scalar(
        "select count(*) from donations.donations where wave_session_id like 'cos-storm-%' and status = 'succeeded'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        applied as usize >= acked_before_kill.len(),
        "{} deliveries got a 2xx but only {applied} donations succeeded",
        acked_before_kill.len()
    );

    // Restart; Wave retries every delivery (also the acknowledged ones: duplicates).
    let mut child = serve(&db, &addr);
    wait_ready(&http, &addr).await;
    for (i, event) in events.iter().enumerate() {
        let status = deliver(&http, &addr, event).await;
        assert_eq!(status, Some(200), "retry of event {i}");
    }

    // The consumers catch up: every succeeded donation credited to its pot once.
    caught_up(&db.pool).await;
    child.kill().unwrap();
    child.wait().unwrap();

    check_applied_once(&db.pool).await;
}

/// Issue #19, item 1: three `wolo serve` processes on one database share a storm of Wave
/// webhooks, one of them is killed with SIGKILL in the middle; after Wave's retries (to the
/// two left), every delivery is applied once, each consumer applied each event once (the
/// three processes' consumers take turns on one cursor), every pot's total is right, and the
/// periodic jobs ran once per period across the three (their leases).
#[tokio::test]
async fn three_processes_one_killed_in_a_storm_apply_everything_once() {
    let db = TestDb::new().await;
    let events = Arc::new(prepare(&db.pool).await);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut children: Vec<Served> = addrs.iter().map(|a| serve(&db, a)).collect();
    for a in &addrs {
        wait_ready(&http, a).await;
    }
    let started = Instant::now();
    let addrs = Arc::new(addrs);
    let (senders, acked) = storm(&events, &http, &addrs);
    a_third_acknowledged(&acked).await;
    children[0].kill().unwrap(); // SIGKILL
    children[0].wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }

    // Wave retries every delivery; the load balancer sends them to the two left.
    for (i, event) in events.iter().enumerate() {
        let addr = &addrs[1 + i % 2];
        assert_eq!(
            deliver(&http, addr, event).await,
            Some(200),
            "retry of event {i}"
        );
    }
    caught_up(&db.pool).await;
    let elapsed = started.elapsed();
    for c in children.iter_mut().skip(1) {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    check_applied_once(&db.pool).await;

    // The pots lifecycle runs every minute: across three processes, once per minute.
    let runs: i64 = sqlx::query_scalar(
        "select runs from wolo.job_leases where service = 'pots' and job = 'lifecycle'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let periods = elapsed.as_secs() as i64 / 60 + 1;
    assert!(
        runs >= 1 && runs <= periods + 1,
        "lifecycle ran {runs} times in {elapsed:?} with three processes"
    );
}
