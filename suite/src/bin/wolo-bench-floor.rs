//! `wolo-bench-floor`: the floor under `make bench`'s read benchmark. A server with nothing but
//! what any server answering that request must do with the suite's crates: axum's HTTP, the
//! HS256 check (`auth::Jwt`), and the product's own transaction for it (`rest::begin`: `BEGIN
//! READ ONLY` and the settings), the query, then the transaction dropped as `rest::execute`
//! ends a read, on a sqlx pool of `FLOOR_POOL_SIZE` connections. No query-string grammar, no
//! schema cache, no middleware, metrics, logs or session check: the SQL is given whole
//! (`FLOOR_SQL`, its one parameter `$1` the value of `?id=eq.`).
//!
//! What it shows: how much of the gap between `wolo serve` and pgbench is the suite's own code
//! and how much is the stack under it (bench/run.sh).
//!
//! Settings (environment): `DATABASE_URL`, `FLOOR_ADDR`, `FLOOR_SQL`, `WOLO_JWT_SECRET`,
//! `FLOOR_POOL_SIZE` (5). A development tool for the benchmark only; it never runs in the
//! product.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sqlx::{postgres::PgPoolOptions, PgPool, Row};

struct Floor {
    jwt: auth::Jwt,
    sql: String,
    pool: PgPool,
}

const PATH: &str = "/pots/pots";

async fn read(
    State(floor): State<Arc<Floor>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = match rest::authenticate(&floor.jwt, &headers) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let Some(id) = q.get("id").and_then(|v| v.strip_prefix("eq.")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut tx = match rest::begin(&floor.pool, &caller, "GET", PATH, &headers, true).await {
        Ok(tx) => tx,
        Err(e) => return e.into_response(),
    };
    let row = match sqlx::query(&floor.sql).bind(id).fetch_one(&mut *tx).await {
        Ok(row) => row,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let body: String = row.get(0);
    // As rest::execute ends a read: dropped, its ROLLBACK sent with the pool's check of the
    // returned connection.
    drop(tx);
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn setting(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("wolo-bench-floor: missing setting {name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let size: u32 = std::env::var("FLOOR_POOL_SIZE")
        .unwrap_or_else(|_| "5".into())
        .parse()?;
    let floor = Arc::new(Floor {
        jwt: auth::Jwt::new(
            setting("WOLO_JWT_SECRET")?.as_bytes(),
            std::env::var("WOLO_JWT_AUDIENCE").ok(),
        ),
        sql: setting("FLOOR_SQL")?,
        // As the services' pools: no ping before handing a connection out (platform::db).
        pool: PgPoolOptions::new()
            .max_connections(size)
            .min_connections(size)
            .test_before_acquire(false)
            .connect(&setting("DATABASE_URL")?)
            .await?,
    });
    let app = Router::new().route(PATH, get(read)).with_state(floor);
    let listener = tokio::net::TcpListener::bind(setting("FLOOR_ADDR")?).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
