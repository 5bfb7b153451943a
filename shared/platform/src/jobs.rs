//! Periodic jobs: one loop, one span, one way to log what a run did.
//!
//! ```no_run
//! # fn f(pool: sqlx::PgPool) {
//! platform::jobs::every("qr", "expire_codes", std::time::Duration::from_secs(300), move || {
//!     let pool = pool.clone();
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
//! The first run starts at once. Several replicas each run their loop: a job must be safe to
//! run concurrently (conditional updates, `skip locked`), as every job of the suite is.

use std::{fmt::Debug, future::Future, time::Duration};

use tracing::Instrument;

/// Spawns `job` every `period` on the current runtime (see the module docs).
pub fn every<F, Fut, R>(service: &'static str, name: &'static str, period: Duration, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<R>> + Send,
    R: Debug + Default + PartialEq,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run_once(service, name, &mut job).await;
        }
    });
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
