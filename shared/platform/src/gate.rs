//! Failing fast while the database is away (issue #19, item 4, in part).
//!
//! When PostgreSQL goes away, a request would wait for a pooled connection until the pool's
//! acquire timeout (`WOLO_DB_ACQUIRE_TIMEOUT_MS`, 5 s): every caller waits 5 s for a 503, and
//! Wave's retries pile up behind them. A [`Gate`] watches the database from one connection of
//! its own (a `select 1` every [`PROBE_EVERY`], each given [`PROBE_TIMEOUT`]); after
//! [`FAILURES_TO_CLOSE`] failed probes in a row it closes, and every request but the probes
//! (`/health`, `/ready`) is answered at once: 503, PostgREST's `PGRST001`, `Retry-After: 1`
//! (Wave retries a 5xx webhook later, so nothing it sent is lost). The first probe that
//! succeeds opens it again: when the database is back (restarted, or a standby promoted
//! behind the same address) the suite recovers without a restart.
//!
//! `platform::serve::serve` (`wolo serve`, `wolo serve S`, `wolo-S`) starts one gate per
//! process, logged in with the configuration it is given (a service's role: `wolo serve`
//! passes a service's configuration, never the superuser URL); the routers tests build in
//! process have none.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};

/// How often the gate looks at the database.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one look may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Failed looks in a row that close the gate (one slow answer under load does not).
pub const FAILURES_TO_CLOSE: u32 = 2;

/// Whether the database answers, as the last probes saw it.
#[derive(Clone, Default)]
pub struct Gate {
    closed: Arc<AtomicBool>,
}

impl Gate {
    /// True while the database is taken to be away.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Starts probing the database at `options` on the current runtime.
    pub fn watch(options: PgConnectOptions) -> Gate {
        let gate = Gate::default();
        let closed = gate.closed.clone();
        tokio::spawn(async move {
            let mut conn: Option<PgConnection> = None;
            let mut failures = 0u32;
            let mut tick = tokio::time::interval(PROBE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let ok = tokio::time::timeout(PROBE_TIMEOUT, probe(&mut conn, &options))
                    .await
                    .unwrap_or(false);
                if ok {
                    failures = 0;
                    if closed.swap(false, Ordering::Relaxed) {
                        tracing::info!("database answers again: requests let through");
                    }
                } else {
                    conn = None;
                    failures += 1;
                    if failures >= FAILURES_TO_CLOSE && !closed.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "database unreachable: requests answered 503 until it is back"
                        );
                    }
                }
            }
        });
        gate
    }

    /// The middleware: while closed, 503 at once for everything but `/health` and `/ready`.
    pub async fn layer(State(gate): State<Gate>, req: Request, next: Next) -> Response {
        let path = req.uri().path();
        if gate.is_closed() && !(path.ends_with("/health") || path.ends_with("/ready")) {
            return unavailable();
        }
        next.run(req).await
    }
}

async fn probe(conn: &mut Option<PgConnection>, options: &PgConnectOptions) -> bool {
    if conn.is_none() {
        match PgConnection::connect_with(options).await {
            Ok(c) => *conn = Some(c),
            Err(_) => return false,
        }
    }
    match conn.as_mut() {
        // The simple protocol: one exchange, no prepared statement (a prepared one would not
        // survive a transaction-mode pooler between its two exchanges).
        Some(c) => sqlx::Executor::execute(&mut *c, "select 1").await.is_ok(),
        None => false,
    }
}

/// The answer while the gate is closed (the PostgREST error shape, as `rest` answers a pool
/// that cannot reach the database).
pub fn unavailable() -> Response {
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "code": "PGRST001",
            "message": "La base de données ne répond pas ; réessayez dans un instant (database unavailable)",
            "details": null,
            "hint": "Retry after a second",
        })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}
