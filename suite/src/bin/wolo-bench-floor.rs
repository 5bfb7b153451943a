//! `wolo-bench-floor`: the floor under `make bench`'s read benchmark. A server with nothing but
//! what any server answering that request must do with the suite's crates: axum's HTTP, the
//! HS256 check (`auth::Jwt`), and the statements of `rest::execute` (`BEGIN READ ONLY`, the
//! settings, the query, then the transaction dropped as a read's is) sent by sqlx on a pool of
//! `FLOOR_POOL_SIZE` connections.
//! No query-string grammar, no schema cache, no middleware: the SQL is given whole
//! (`FLOOR_SQL`, its one parameter `$1` the value of `?id=eq.`).
//!
//! What it shows: how much of the gap between `wolo serve` and pgbench is the suite's own code
//! and how much is the stack under it (bench/run.sh). With `FLOOR_RELEASE=held` the
//! connections are held by the server itself instead of being returned to sqlx's pool, which
//! pings every connection it takes back (one more round trip per request).
//!
//! Settings (environment): `DATABASE_URL`, `FLOOR_ADDR`, `FLOOR_SQL`, `WOLO_JWT_SECRET`,
//! `FLOOR_POOL_SIZE` (5), `FLOOR_RELEASE` (`pool` or `held`). A development tool for the
//! benchmark only; it never runs in the product.

use std::sync::{Arc, Mutex};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sqlx::{postgres::PgPoolOptions, Connection, PgConnection, PgPool, Row};
use tokio::sync::Semaphore;

struct Floor {
    jwt: auth::Jwt,
    sql: String,
    lanes: Lanes,
}

/// Where connections come from and go back to.
enum Lanes {
    /// sqlx's pool, as the services use it.
    Pool(PgPool),
    /// Connections kept by the server: taken from a stack, put back after the request.
    Held {
        url: String,
        idle: Mutex<Vec<PgConnection>>,
        permits: Semaphore,
    },
}

const SETTINGS: &str =
    "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                set_config('request.method', $3, true), set_config('request.path', $4, true),
                set_config('request.headers', $5, true), set_config('statement_timeout', $6, true)";

/// The request's four statements on one connection; the body and the row count.
async fn statements(
    conn: &mut PgConnection,
    floor: &Floor,
    caller: &auth::Caller,
    headers: &str,
    id: &str,
) -> sqlx::Result<String> {
    let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
    sqlx::query(SETTINGS)
        .bind(caller.role.as_str())
        .bind(caller.claims.to_string())
        .bind("GET")
        .bind("/pots/pots")
        .bind(headers)
        .bind(caller.role.statement_timeout_ms().to_string())
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(&floor.sql).bind(id).fetch_one(&mut *tx).await?;
    let body: String = row.get(0);
    // As rest::execute ends a read: the read-only transaction dropped, its ROLLBACK sent
    // with the pool's check of the returned connection (or the next BEGIN, when held).
    drop(tx);
    Ok(body)
}

async fn read(
    State(floor): State<Arc<Floor>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(Ok(caller)) = token.map(|t| floor.jwt.verify(t)) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(id) = q.get("id").and_then(|v| v.strip_prefix("eq.")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    // The request's headers as JSON, as rest::execute::begin sets them.
    let header_json: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(k, _)| *k != header::AUTHORIZATION && *k != header::COOKIE)
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.into())))
        .collect();
    let header_json = serde_json::Value::Object(header_json).to_string();
    let body = match &floor.lanes {
        Lanes::Pool(pool) => match pool.acquire().await {
            Ok(mut conn) => statements(&mut conn, &floor, &caller, &header_json, id).await,
            Err(e) => Err(e),
        },
        Lanes::Held { url, idle, permits } => {
            let _permit = permits.acquire().await.expect("never closed");
            let taken = idle.lock().expect("not poisoned").pop();
            let conn = match taken {
                Some(conn) => Ok(conn),
                None => PgConnection::connect(url).await,
            };
            match conn {
                Ok(mut conn) => {
                    let out = statements(&mut conn, &floor, &caller, &header_json, id).await;
                    if out.is_ok() {
                        idle.lock().expect("not poisoned").push(conn);
                    }
                    out
                }
                Err(e) => Err(e),
            }
        }
    };
    match body {
        Ok(body) => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn setting(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("wolo-bench-floor: missing setting {name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = setting("DATABASE_URL")?;
    let size: u32 = std::env::var("FLOOR_POOL_SIZE")
        .unwrap_or_else(|_| "5".into())
        .parse()?;
    let lanes = match std::env::var("FLOOR_RELEASE").as_deref().unwrap_or("pool") {
        "pool" => Lanes::Pool(
            PgPoolOptions::new()
                .max_connections(size)
                .min_connections(size)
                .test_before_acquire(false)
                .connect(&url)
                .await?,
        ),
        "held" => Lanes::Held {
            url,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size as usize),
        },
        other => anyhow::bail!("wolo-bench-floor: FLOOR_RELEASE is pool or held, not {other:?}"),
    };
    let floor = Arc::new(Floor {
        jwt: auth::Jwt::new(
            setting("WOLO_JWT_SECRET")?.as_bytes(),
            std::env::var("WOLO_JWT_AUDIENCE").ok(),
        ),
        sql: setting("FLOOR_SQL")?,
        lanes,
    });
    let app = Router::new()
        .route("/pots/pots", get(read))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(setting("FLOOR_ADDR")?).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
