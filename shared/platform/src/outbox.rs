//! The transactional outbox: events written in the same transaction as the change they
//! describe, read by consumers that each keep their own cursor and apply each event at most
//! once.
//!
//! ```no_run
//! # async fn f(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
//! // inside the transaction that marks a donation succeeded:
//! // (the payload types are declared in platform::events)
//! platform::outbox::publish(tx, "user.deleted", &serde_json::json!({"user_id": uuid::Uuid::nil()}), "profiles").await?;
//! # Ok(()) }
//! ```
//!
//! Guarantees (see `migrations/V35__wolo_outbox.sql` for the ordering argument):
//! - an event exists if and only if its transaction committed;
//! - a consumer applies an event inside a transaction that also advances its cursor, so the
//!   effect and the cursor commit together: a consumer killed mid-batch loses nothing and,
//!   restarted, applies nothing twice;
//! - replicas of one consumer take turns (the cursor row is locked with `skip locked`);
//! - a failing event is retried with exponential backoff and jitter, holding back the events
//!   behind it (order is kept); after `max_attempts` it is parked with its error and the
//!   consumer moves on;
//! - consumers are woken by their process's [`Watcher`], which reads the outbox's highest id
//!   every [`WATCH_INTERVAL`] (one index lookup), and poll as a fallback. Publishing sends no
//!   `NOTIFY`: PostgreSQL serialises the commits of transactions that notify (V113).
//!
//! Each event is handled inside the span `consume{consumer, topic, event_id}`; once a pass
//! commits, its applied events are counted with their lag (from `created_at`) and its failed
//! attempts too ([`crate::metrics`]: `wolo_outbox_applied_total`, `wolo_outbox_lag_seconds`,
//! `wolo_outbox_failed_total`, `wolo_outbox_parked_total`).
//!
//! Latency: an event becomes readable once every transaction of the cluster that started
//! before it has ended, so one long transaction anywhere delays delivery (never loses or
//! reorders it). Statement timeouts and `idle_in_transaction_session_timeout` bound that.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Acquire, PgConnection, PgPool, Row};
use tracing::Instrument;

/// How often a [`Watcher`] looks for new events.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Tells the consumers of a process that the outbox has grown: one task reads the outbox's
/// highest committed id every [`WATCH_INTERVAL`] and wakes every consumer subscribed when it
/// changes. One per process ([`watcher`]); it stops once no consumer holds it.
#[derive(Clone)]
pub struct Watcher(tokio::sync::watch::Receiver<i64>);

impl Watcher {
    /// Starts watching through `pool` (any service role may read `wolo.outbox`, V102).
    pub fn start(pool: PgPool) -> Watcher {
        let (tx, rx) = tokio::sync::watch::channel(0i64);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !tx.is_closed() {
                tick.tick().await;
                let head: Result<i64, sqlx::Error> =
                    sqlx::query_scalar("select coalesce(max(id), 0) from wolo.outbox")
                        .fetch_one(&pool)
                        .await;
                if let Ok(head) = head {
                    tx.send_if_modified(|seen| {
                        let grew = *seen != head;
                        *seen = head;
                        grew
                    });
                }
            }
        });
        Watcher(rx)
    }
}

impl Watcher {
    /// Waits until the outbox's highest id changes; `false` once the watcher is gone.
    pub async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }

    /// The outbox's highest id as last read (0 before the first read).
    pub fn head(&self) -> i64 {
        *self.0.borrow()
    }
}

/// The watcher of the process `ctx` belongs to (made on first use, shared through
/// [`crate::Shared`]: ten services' consumers, one query every [`WATCH_INTERVAL`]).
pub fn watcher(ctx: &crate::Context) -> Watcher {
    let shared = ctx.shared.get_or_init(|| Watcher::start(ctx.db.clone()));
    (*shared).clone()
}

/// Appends an event in the caller's transaction. Works under any API role.
///
/// Services publish typed events with [`crate::events::publish`], which calls this; the raw
/// form is for tests that need a payload breaking its contract.
pub async fn publish(
    conn: &mut PgConnection,
    topic: &str,
    payload: &Value,
    source: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select wolo.publish_event($1, $2, $3)")
        .bind(topic)
        .bind(payload)
        .bind(source)
        .fetch_one(conn)
        .await
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub topic: String,
    pub payload: Value,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The event as its declared type ([`crate::events`]); a payload that breaks its
    /// contract is an error naming the topic (the event is retried, then parked).
    pub fn decode(&self) -> anyhow::Result<crate::events::Published> {
        crate::events::Published::decode(&self.topic, &self.payload)
    }
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// What a consumer does with one event, inside the consumer's transaction (a savepoint:
/// an error undoes the handler's writes and nothing else).
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a>;
}

impl<F> Handler for F
where
    F: for<'a> Fn(&'a mut PgConnection, &'a Event) -> HandlerFuture<'a> + Send + Sync + 'static,
{
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        self(conn, event)
    }
}

/// A named consumer of some topics.
#[derive(Clone)]
pub struct Consumer {
    pub name: String,
    /// Topics applied: exact names, or prefixes ending in `.` or `*` (`donation.`); empty = all.
    pub topics: Vec<String>,
    pub batch_size: i64,
    pub max_attempts: i32,
    /// Backoff before the n-th retry: `base * 2^(n-1)`, capped, with ±20 % jitter.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub poll_interval: Duration,
    pub handler: Arc<dyn Handler>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub applied: usize,
    pub skipped: usize,
    pub parked: usize,
    /// A failing event holds the consumer back until then.
    pub retry_at: Option<DateTime<Utc>>,
    /// Another replica held the cursor.
    pub busy: bool,
}

impl Consumer {
    pub fn new(name: &str, topics: &[&str], handler: impl Handler) -> Consumer {
        Consumer {
            name: name.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            batch_size: 100,
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
            handler: Arc::new(handler),
        }
    }

    /// [`Consumer::topics`] for SQL: the exact names, and the prefixes (`donation.`, `pot`
    /// of `pot*`); the events query decides from them which events this consumer applies
    /// (all when `topics` is empty) and ships only their payloads.
    fn topic_filter(&self) -> (Vec<String>, Vec<String>) {
        let (mut exact, mut prefixes) = (vec![], vec![]);
        for t in &self.topics {
            if let Some(prefix) = t.strip_suffix('*') {
                prefixes.push(prefix.to_string());
            } else if t.ends_with('.') {
                prefixes.push(t.clone());
            } else {
                exact.push(t.clone());
            }
        }
        (exact, prefixes)
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << (attempts.clamp(1, 20) - 1) as u32);
        let capped = exp.min(self.backoff_cap);
        // ±20 % jitter from the clock's nanoseconds: enough to spread replicas apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.8 + 0.4 * (nanos % 1000) as f64 / 1000.0;
        capped.mul_f64(factor)
    }

    /// Applies what is available now, in one transaction.
    ///
    /// A pass first applies its batch without a savepoint per event (two round trips fewer
    /// per event, issue #16); if a handler fails, that transaction is rolled back whole and
    /// the batch is applied again with a savepoint around each event, the failed event's
    /// error recorded as that attempt (its handler is not run twice for one attempt) and the
    /// events before it still counting. A batch holding an event that failed before goes the
    /// careful way at once.
    pub async fn run_once(&self, pool: &PgPool) -> anyhow::Result<Pass> {
        sqlx::query(
            "insert into wolo.outbox_cursors (consumer) values ($1) on conflict do nothing",
        )
        .bind(&self.name)
        .execute(pool)
        .await?;
        match self.pass(pool, None).await? {
            Ok(pass) => Ok(pass),
            Err(failed) => Ok(self
                .pass(pool, Some(failed))
                .await?
                .unwrap_or_else(|_| Pass::default())),
        }
    }

    /// One pass. Without `failed`, no savepoints: a handler's failure rolls the transaction
    /// back and is returned (`Err`: nothing happened). With `failed` (an event and the error
    /// it just failed with), a savepoint around each event, and that event's handler is not
    /// run again: its error is this attempt's.
    async fn pass(
        &self,
        pool: &PgPool,
        failed: Option<(i64, anyhow::Error)>,
    ) -> anyhow::Result<Result<Pass, (i64, anyhow::Error)>> {
        let mut failed = failed;
        let careful = failed.is_some();
        let mut pass = Pass::default();
        let mut tx = pool.begin().await?;
        let Some(cursor) = sqlx::query(
            "select last_txid, last_id from wolo.outbox_cursors where consumer = $1 for update skip locked",
        )
        .bind(&self.name)
        .fetch_optional(&mut *tx)
        .await?
        else {
            pass.busy = true;
            return Ok(Ok(pass));
        };
        let (mut last_txid, mut last_id): (i64, i64) = (cursor.get(0), cursor.get(1));
        // Counted once the pass commits ([`crate::metrics`]): lags of applied events, and
        // failed attempts (true: parked).
        let mut lags: Vec<Duration> = Vec::new();
        let mut failures: Vec<bool> = Vec::new();
        // Every event is read to move the cursor past it, but the payload only of those this
        // consumer applies (`wanted`, decided here and nowhere else): the others cost an index
        // entry, not their JSON.
        let (exact, prefixes) = self.topic_filter();
        let events = sqlx::query(
            "select o.id, o.txid, o.topic, w.wanted,
                    case when w.wanted then o.payload end as payload,
                    o.source, o.created_at, f.attempts, f.next_attempt_at
               from wolo.outbox o
               cross join lateral (
                 select $7 or o.topic = any($5)
                        or exists (select 1 from unnest($6::text[]) p where starts_with(o.topic, p))
                        as wanted) w
               left join wolo.outbox_failures f on f.consumer = $4 and f.event_id = o.id
              where (o.txid, o.id) > ($1, $2)
                and o.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
              order by o.txid, o.id
              limit $3",
        )
        .bind(last_txid)
        .bind(last_id)
        .bind(self.batch_size)
        .bind(&self.name)
        .bind(&exact)
        .bind(&prefixes)
        .bind(self.topics.is_empty())
        .fetch_all(&mut *tx)
        .await?;
        let careful = careful
            || events
                .iter()
                .any(|r| r.get::<Option<i32>, _>("attempts").is_some());
        for row in events {
            let txid: i64 = row.get("txid");
            if !row.get::<bool, _>("wanted") {
                (last_txid, last_id) = (txid, row.get("id"));
                pass.skipped += 1;
                continue;
            }
            let event = Event {
                id: row.get("id"),
                topic: row.get("topic"),
                payload: row
                    .get::<Option<Value>, _>("payload")
                    .unwrap_or(Value::Null),
                source: row.get("source"),
                created_at: row.get("created_at"),
            };
            let failed_before: Option<i32> = row.get("attempts");
            let attempts = failed_before.unwrap_or(0);
            if let Some(next) = row.get::<Option<DateTime<Utc>>, _>("next_attempt_at") {
                if next > Utc::now() {
                    pass.retry_at = Some(next);
                    break;
                }
            }
            let span = tracing::info_span!(
                "consume",
                consumer = %self.name,
                topic = %event.topic,
                event_id = event.id
            );
            let outcome = if let Some((_, err)) = failed.take_if(|(id, _)| *id == event.id) {
                Err(err)
            } else if careful {
                let mut savepoint = tx.begin().await?;
                let outcome = self
                    .handler
                    .handle(savepoint.acquire().await?, &event)
                    .instrument(span.clone())
                    .await;
                match outcome {
                    Ok(()) => savepoint.commit().await?,
                    Err(_) => savepoint.rollback().await?,
                }
                outcome
            } else {
                let outcome = self
                    .handler
                    .handle(&mut tx, &event)
                    .instrument(span.clone())
                    .await;
                if let Err(err) = outcome {
                    tx.rollback().await?;
                    return Ok(Err((event.id, err)));
                }
                Ok(())
            };
            match outcome {
                Ok(()) => {
                    if failed_before.is_some() {
                        sqlx::query("delete from wolo.outbox_failures where consumer = $1 and event_id = $2")
                            .bind(&self.name)
                            .bind(event.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    (last_txid, last_id) = (txid, event.id);
                    pass.applied += 1;
                    lags.push((Utc::now() - event.created_at).to_std().unwrap_or_default());
                }
                Err(err) => {
                    let attempts = attempts + 1;
                    let error = format!("{err:#}");
                    if attempts >= self.max_attempts {
                        tracing::error!(parent: &span, consumer = %self.name, event_id = event.id, topic = %event.topic, attempts, %error, "outbox event parked");
                        self.record_failure(&mut tx, event.id, attempts, &error, None, true)
                            .await?;
                        (last_txid, last_id) = (txid, event.id);
                        pass.parked += 1;
                        failures.push(true);
                    } else {
                        let next = Utc::now()
                            + chrono::Duration::from_std(self.backoff(attempts))
                                .unwrap_or_default();
                        tracing::warn!(parent: &span, consumer = %self.name, event_id = event.id, topic = %event.topic, attempts, %error, "outbox event failed, will retry");
                        self.record_failure(&mut tx, event.id, attempts, &error, Some(next), false)
                            .await?;
                        failures.push(false);
                        pass.retry_at = Some(next);
                        break;
                    }
                }
            }
        }
        sqlx::query("update wolo.outbox_cursors set last_txid = $2, last_id = $3, updated_at = now() where consumer = $1")
            .bind(&self.name)
            .bind(last_txid)
            .bind(last_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        for lag in lags {
            crate::metrics::outbox_applied(&self.name, lag);
        }
        for parked in failures {
            crate::metrics::outbox_failed(&self.name, parked);
        }
        Ok(Ok(pass))
    }

    async fn record_failure(
        &self,
        conn: &mut PgConnection,
        event_id: i64,
        attempts: i32,
        error: &str,
        next: Option<DateTime<Utc>>,
        parked: bool,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into wolo.outbox_failures (consumer, event_id, attempts, last_error, next_attempt_at, parked_at)
             values ($1, $2, $3, $4, $5, case when $6 then now() end)
             on conflict (consumer, event_id) do update
                set attempts = excluded.attempts, last_error = excluded.last_error,
                    next_attempt_at = excluded.next_attempt_at, parked_at = excluded.parked_at, updated_at = now()",
        )
        .bind(&self.name)
        .bind(event_id)
        .bind(attempts)
        .bind(error)
        .bind(next)
        .bind(parked)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Runs the consumer for the life of the process: a pass whenever `watcher` sees the
    /// outbox grow, at least every `poll_interval`, and when a retry falls due.
    pub fn spawn(self, pool: PgPool, watcher: Watcher) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut head = watcher.0;
            // Once the outbox grew, the new events may not be readable yet (an older
            // transaction of the cluster is still running): poll quickly until they are, or
            // until the poll interval has passed.
            let mut eager_until: Option<tokio::time::Instant> = None;
            loop {
                let pass = match self.run_once(&pool).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(consumer = %self.name, error = %e, "outbox pass failed");
                        Pass::default()
                    }
                };
                let moved = pass.applied + pass.skipped + pass.parked;
                if moved >= self.batch_size as usize {
                    continue; // more is waiting
                }
                if moved > 0 {
                    eager_until = None;
                }
                let mut wait = self.poll_interval;
                if let Some(until) = eager_until {
                    if tokio::time::Instant::now() < until {
                        wait = EAGER_POLL;
                    } else {
                        eager_until = None;
                    }
                }
                if let Some(at) = pass.retry_at {
                    let until = (at - Utc::now()).to_std().unwrap_or_default();
                    wait = wait.min(until.max(Duration::from_millis(10)));
                }
                tokio::select! {
                    changed = head.changed() => match changed {
                        Ok(()) => eager_until = Some(tokio::time::Instant::now() + self.poll_interval),
                        // The watcher is gone (its runtime is shutting down): poll.
                        Err(_) => tokio::time::sleep(wait).await,
                    },
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        })
    }
}

/// How often a consumer re-reads once the outbox grew but its new events are not readable yet.
const EAGER_POLL: Duration = Duration::from_millis(50);
