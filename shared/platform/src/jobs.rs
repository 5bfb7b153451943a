//! Periodic jobs: one loop, one span, one way to log what a run did.
//!
//! ```no_run
//! # fn f(pool: sqlx::PgPool) {
//! let db = pool.clone();
//! platform::jobs::every(&pool, "qr", "expire_codes", std::time::Duration::from_secs(300), move || {
//!     let db = db.clone();
//!     async move { Ok::<u64, anyhow::Error>(0) /* rows changed */ }
//! });
//! # }
//! ```
//!
//! Each run happens inside the span `job{service, job}`; a run that did something (its
//! outcome differs from the default: a count above zero) is logged at `info` with the
//! outcome, a failed run at `warn` with its error, and the next period comes regardless.
//! Every run is counted (`wolo_job_runs_total{service, job, outcome}`) and timed
//! (`wolo_job_duration_seconds{service, job}`): [`crate::metrics`].
//! The first run starts at once. Several processes each run their loop, and a job still runs
//! once per period: before a run the process takes the job's lease ([`take_lease`],
//! `wolo.job_leases`, V120), which one process gets per period; the others skip the tick
//! (counted `outcome="skipped"`). A job must still be safe to run concurrently (conditional
//! updates, `skip locked`), as every job of the suite is: a run may outlast its period.

use std::{fmt::Debug, future::Future, time::Duration};

use sqlx::PgPool;
use tracing::Instrument;

/// Spawns `job` every `period` on the current runtime, run when this process takes the
/// period's lease on `pool` (see the module docs).
pub fn every<F, Fut, R>(
    pool: &PgPool,
    service: &'static str,
    name: &'static str,
    period: Duration,
    mut job: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<R>> + Send,
    R: Debug + Default + PartialEq,
{
    let pool = pool.clone();
    let holder = holder();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match take_lease(&pool, service, name, period, &holder).await {
                Ok(true) => {
                    run_once(service, name, &mut job).await;
                }
                Ok(false) => crate::metrics::job_skipped(service, name),
                Err(e) => {
                    let _span = tracing::info_span!("job", service, job = name).entered();
                    tracing::warn!(error = %e, "{service} {name}: lease not taken, run skipped");
                    crate::metrics::job_run(service, name, false, Duration::ZERO);
                }
            }
        }
    });
}

/// Who takes leases in this process: host, pid and a random part (two processes on one host
/// after a pid is reused are still told apart).
fn holder() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "{}:{}:{}",
        host.chars().take(100).collect::<String>(),
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Takes job `service`/`name`'s lease for a period of `period` when nobody started it in the
/// last nine tenths of one (the timers of several processes drift): true when this caller
/// may run it now. One statement, so two processes never both get it.
pub async fn take_lease(
    pool: &PgPool,
    service: &str,
    name: &str,
    period: Duration,
    holder: &str,
) -> Result<bool, sqlx::Error> {
    let taken: Option<i32> = sqlx::query_scalar(
        "insert into wolo.job_leases (service, job, holder, started_at)
         values ($1, $2, $3, clock_timestamp())
         on conflict (service, job) do update
             set holder = excluded.holder, started_at = excluded.started_at,
                 runs = wolo.job_leases.runs + 1
             where wolo.job_leases.started_at
                   <= clock_timestamp() - make_interval(secs => $4)
         returning 1",
    )
    .bind(service)
    .bind(name)
    .bind(holder)
    .bind(period.as_secs_f64() * 0.9)
    .fetch_optional(pool)
    .await?;
    Ok(taken.is_some())
}

/// One run of `job`, in its span, logged as [`every`] logs it; true when it succeeded.
pub async fn run_once<F, Fut, R>(service: &'static str, name: &'static str, job: &mut F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<R>>,
    R: Debug + Default + PartialEq,
{
    let span = tracing::info_span!("job", service, job = name);
    let started = std::time::Instant::now();
    let outcome = job().instrument(span.clone()).await;
    let _enter = span.enter();
    let ok = match outcome {
        Ok(r) if r != R::default() => {
            tracing::info!(outcome = ?r, "{service} {name}");
            true
        }
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "{service} {name} failed");
            false
        }
    };
    crate::metrics::job_run(service, name, ok, started.elapsed());
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_run_is_reported_and_the_loop_goes_on() {
        let mut n = 0;
        let mut job = || {
            n += 1;
            let fail = n == 1;
            async move {
                if fail {
                    anyhow::bail!("database away")
                }
                Ok(3u64)
            }
        };
        assert!(!run_once("pots", "lifecycle", &mut job).await);
        assert!(run_once("pots", "lifecycle", &mut job).await);
    }
}
