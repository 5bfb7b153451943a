//! Reads on a streaming standby (issue #19, item 2).
//!
//! With `WOLO_DATABASE_READ_URL` set, each service that reads much and whose reads may be
//! a moment old ([`STANDBY_SERVICES`]) opens a second request pool there, logged in with
//! its own role as on the primary ([`crate::db::service_read_url`]). A request goes to it
//! when all of these hold ([`pool`]):
//!
//! - it is a read: a REST `GET` or `HEAD` (the OpenAPI document comes from the schema cache,
//!   already in memory), or a public page that shows a pot or a gift;
//! - the standby is caught up: a watcher ([`watch`], one per process) compares, every
//!   [`LAG_PROBE_EVERY`], the standby's replayed WAL position with the primary's position of
//!   the probe before; the standby serves only while it has replayed everything the primary
//!   had written one probe earlier (so it is at most two probes behind), and not at all
//!   while it cannot be reached;
//! - the caller has not written through this process in the last `WOLO_READ_YOUR_WRITES_MS`
//!   (2 s by default): every request that is not a read marks its caller (the token's
//!   `sub`, else the client IP) for that long ([`remember_writes`]), and the caller's
//!   reads go to the primary meanwhile, so a pot just created or a profile just saved is
//!   read back as written.
//!
//! Everything else — writes, the custom flows (sign-in, checkout, webhooks, redemption),
//! background consumers and jobs — uses the primary. With several processes behind a
//! load balancer the read-your-writes window holds per process: route a caller to one
//! process (hash on the `Authorization` header or the client IP), or run the standby with
//! `synchronous_commit = remote_apply`, which makes every acknowledged write visible there
//! (docs/architecture.md).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::Request,
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::Response,
};
use base64::Engine;
use sqlx::{postgres::PgConnectOptions, Connection, PgConnection, PgPool};

/// The services whose reads may go to the standby. Identity (sessions, tokens, codes: a
/// token just issued must be found) and admin (few reads, each audited) always read the
/// primary.
pub const STANDBY_SERVICES: [&str; 8] = [
    "profiles",
    "referral",
    "pots",
    "donations",
    "packs",
    "qr",
    "notifications",
    "analytics",
];

/// How often the watcher compares the standby with the primary.
pub const LAG_PROBE_EVERY: Duration = Duration::from_millis(200);

/// Callers remembered at most (the oldest marks are dropped first past it).
const MAX_WRITERS: usize = 100_000;

struct Routing {
    fresh: AtomicBool,
    window: Duration,
    writers: Mutex<HashMap<String, Instant>>,
}

static ROUTING: OnceLock<Routing> = OnceLock::new();

fn routing() -> Option<&'static Routing> {
    ROUTING.get()
}

/// Starts the process's standby watcher (once; later calls change nothing): `primary` and
/// `standby` are the connect options of one service's logins on each.
pub fn watch(primary: PgConnectOptions, standby: PgConnectOptions, window: Duration) {
    let mut started = false;
    ROUTING.get_or_init(|| {
        started = true;
        Routing {
            fresh: AtomicBool::new(false),
            window,
            writers: Mutex::new(HashMap::new()),
        }
    });
    if !started {
        return;
    }
    tokio::spawn(async move {
        let mut on_primary: Option<PgConnection> = None;
        let mut on_standby: Option<PgConnection> = None;
        let mut primary_before: Option<String> = None;
        let mut tick = tokio::time::interval(LAG_PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut was_fresh = false;
        loop {
            tick.tick().await;
            let fresh = tokio::time::timeout(
                LAG_PROBE_EVERY * 5,
                probe(
                    &mut on_primary,
                    &primary,
                    &mut on_standby,
                    &standby,
                    &mut primary_before,
                ),
            )
            .await
            .unwrap_or(false);
            if let Some(r) = routing() {
                r.fresh.store(fresh, Ordering::Relaxed);
            }
            if fresh != was_fresh {
                if fresh {
                    tracing::info!("the standby is caught up: reads go to it");
                } else {
                    tracing::warn!("the standby is behind or unreachable: reads go to the primary");
                }
                was_fresh = fresh;
            }
        }
    });
}

/// One comparison: true when the standby has replayed the primary's position of the
/// previous probe. Drops a connection that failed.
async fn probe(
    on_primary: &mut Option<PgConnection>,
    primary: &PgConnectOptions,
    on_standby: &mut Option<PgConnection>,
    standby: &PgConnectOptions,
    primary_before: &mut Option<String>,
) -> bool {
    let Some(now) = ask(on_primary, primary, "select pg_current_wal_lsn()::text").await else {
        *primary_before = None;
        return false;
    };
    let before = primary_before.replace(now);
    let Some(before) = before else {
        return false;
    };
    // Null (not a standby, or nothing replayed yet) counts as behind.
    let sql = format!(
        "select coalesce(pg_last_wal_replay_lsn() >= '{}'::pg_lsn, false)::text",
        before.replace('\'', "")
    );
    ask(on_standby, standby, &sql)
        .await
        .is_some_and(|v| v == "true")
}

/// The one text value `sql` (a statement without parameters, its values inlined) returns, on `conn` (opened
/// when needed); `None` when it fails, and the connection is dropped.
async fn ask(
    conn: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    sql: &str,
) -> Option<String> {
    if conn.is_none() {
        *conn = PgConnection::connect_with(options).await.ok();
    }
    let c = conn.as_mut()?;
    // The simple protocol (the primary may be behind a transaction-mode pooler).
    match sqlx::Executor::fetch_one(&mut *c, sql).await {
        Ok(row) => sqlx::Row::try_get::<Option<String>, _>(&row, 0)
            .ok()
            .flatten(),
        Err(_) => {
            *conn = None;
            None
        }
    }
}

/// Who is asking, for the read-your-writes rule: the token's subject (read without
/// checking the signature: it only picks a pool, every rule is still the database's), else
/// the client IP the edge computed.
pub fn caller_key(headers: &HeaderMap) -> Option<String> {
    let sub = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .and_then(|token| token.trim().split('.').nth(1))
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|claims| {
            claims
                .get("sub")
                .and_then(|s| s.as_str())
                .map(str::to_owned)
        });
    if let Some(sub) = sub {
        return Some(format!("sub:{sub}"));
    }
    headers
        .get(&crate::client::CLIENT_IP)
        .and_then(|v| v.to_str().ok())
        .map(|ip| format!("ip:{ip}"))
}

/// The pool for a read by the caller of `headers`: `standby` when there is one, it is
/// caught up, and the caller has not written lately; else `primary`.
pub fn pool<'a>(
    primary: &'a PgPool,
    standby: Option<&'a PgPool>,
    headers: &HeaderMap,
) -> &'a PgPool {
    match standby {
        Some(standby) if use_standby(headers) => standby,
        _ => primary,
    }
}

fn use_standby(headers: &HeaderMap) -> bool {
    routing().is_some_and(|r| r.may_read_standby(caller_key(headers).as_deref()))
}

impl Routing {
    /// The standby is caught up and `key` has not written within the window.
    fn may_read_standby(&self, key: Option<&str>) -> bool {
        if !self.fresh.load(Ordering::Relaxed) {
            return false;
        }
        let Some(key) = key else {
            return true;
        };
        let writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        writers
            .get(key)
            .is_none_or(|at| at.elapsed() >= self.window)
    }

    fn mark(&self, key: String) {
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        if writers.len() >= MAX_WRITERS {
            writers.retain(|_, at| at.elapsed() < self.window);
            if writers.len() >= MAX_WRITERS {
                writers.clear();
            }
        }
        writers.insert(key, Instant::now());
    }
}

/// With a standby configured, whether it serves reads now (for `/ready`); `None` without.
pub fn standby_state() -> Option<bool> {
    routing().map(|r| r.fresh.load(Ordering::Relaxed))
}

fn mark(headers: &HeaderMap) {
    if let (Some(r), Some(key)) = (routing(), caller_key(headers)) {
        r.mark(key);
    }
}

/// Middleware: a request that is not a read marks its caller before it runs (a read racing
/// it goes to the primary) and again when it is answered (the window counts from the
/// commit). Nothing is kept when no standby is configured.
pub async fn remember_writes(req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !write || routing().is_none() {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    mark(&headers);
    let res = next.run(req).await;
    mark(&headers);
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_caller_reads_the_primary_for_a_while_after_writing_and_nobody_reads_a_stale_standby() {
        let r = Routing {
            fresh: AtomicBool::new(true),
            window: Duration::from_millis(200),
            writers: Mutex::new(HashMap::new()),
        };
        assert!(r.may_read_standby(Some("sub:moussa")));
        r.mark("sub:moussa".into());
        assert!(
            !r.may_read_standby(Some("sub:moussa")),
            "his own write, just now"
        );
        assert!(r.may_read_standby(Some("sub:awa")), "someone else");
        assert!(r.may_read_standby(None));
        std::thread::sleep(Duration::from_millis(250));
        assert!(r.may_read_standby(Some("sub:moussa")), "past the window");
        r.fresh.store(false, Ordering::Relaxed);
        assert!(!r.may_read_standby(Some("sub:awa")), "behind: nobody");
        assert!(!r.may_read_standby(None));
    }

    #[test]
    fn the_caller_is_the_tokens_subject_else_the_client_ip() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"00000000-0000-4000-a000-010100000002","role":"wolo_user"}"#);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer x.{payload}.sig")).unwrap(),
        );
        h.insert(
            &crate::client::CLIENT_IP,
            HeaderValue::from_static("10.0.0.7"),
        );
        assert_eq!(
            caller_key(&h).as_deref(),
            Some("sub:00000000-0000-4000-a000-010100000002")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer junk"),
        );
        assert_eq!(caller_key(&h).as_deref(), Some("ip:10.0.0.7"));
        h.remove(&crate::client::CLIENT_IP);
        assert_eq!(caller_key(&h), None);
    }
}
