//! Periodic jobs run once per period however many processes run them (V120,
//! `platform::jobs::every` and its lease): three "processes" (three loops with their own
//! pools, as three `wolo serve` would have) tick the same job; each period one of them runs it.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use testkit::TestDb;

#[tokio::test]
async fn three_processes_run_a_job_once_per_period() {
    let db = TestDb::new().await;
    let period = Duration::from_millis(400);
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        // Each "process" has its own pool, as the pots service's role.
        let pool = db.service_pool("pots");
        let runs = runs.clone();
        platform::jobs::every(&pool, "pots", "lease_test", period, move || {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<u64, anyhow::Error>(1)
            }
        });
    }
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let n = runs.load(Ordering::SeqCst);
    // Once per period, not once per loop: three loops ticking every 0.4 s would run it about
    // 18 times; the lease allows one start per 0.36 s (nine tenths of a period) at most.
    let periods = started.elapsed().as_secs_f64() / (period.as_secs_f64() * 0.9);
    assert!(
        n >= 1 && (n as f64) <= periods.floor() + 1.0,
        "{n} runs in {periods:.1} lease periods"
    );
    let (holder_runs, holder): (i64, String) = sqlx::query_as(
        "select runs, holder from wolo.job_leases where service = 'pots' and job = 'lease_test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(holder_runs as usize, n);
    assert!(holder.contains(&std::process::id().to_string()), "{holder}");

    let qr = db.service_pool("qr");
    assert!(
        platform::jobs::take_lease(&qr, "qr", "mine", period, "qr:1")
            .await
            .unwrap()
    );
    // Taken: not again within the period.
    assert!(
        !platform::jobs::take_lease(&qr, "qr", "mine", period, "qr:2")
            .await
            .unwrap()
    );
}
