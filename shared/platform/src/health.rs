//! `GET /health` (the process answers) and `GET /ready` (the database answers and its
//! migrations are the ones this binary was built with). Both answer JSON.

use std::time::Duration;

use axum::{
    extract::{FromRef, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::migrate;

/// How long `/ready` waits for the database before saying no.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The two probes, for any state that holds a pool.
pub fn router<S>(service: &'static str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PgPool: FromRef<S>,
{
    Router::new()
        .route(
            "/health",
            get(move || async move { Json(json!({"status": "ok", "service": service})) }),
        )
        .route(
            "/ready",
            get(move |State(pool): State<PgPool>| async move { ready(service, &pool).await }),
        )
}

async fn ready(service: &'static str, pool: &PgPool) -> (StatusCode, Json<Value>) {
    let expected = migrate::latest_version();
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "service": service, "reason": reason})),
        )
    };
    // The process's gate already knows the database is away (crate::gate): say so at once.
    if crate::serve::gate_closed() {
        return not_ready("database unreachable".into());
    }
    match tokio::time::timeout(READY_TIMEOUT, migrate::applied_version(pool)).await {
        Err(_) => not_ready("database did not answer in time".into()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            not_ready("database unreachable".into())
        }
        Ok(Ok(None)) => not_ready(format!(
            "database not migrated (expected version {expected})"
        )),
        Ok(Ok(Some(applied))) if applied < expected => not_ready(format!(
            "migrations pending: database at {applied}, expected {expected}"
        )),
        Ok(Ok(Some(applied))) => {
            let mut body = json!({
                "status": "ready",
                "service": service,
                "database": "ok",
                "migrations": {"applied": applied, "expected": expected},
            });
            // With a standby configured: where reads go now (crate::reads).
            if let Some(standby) = crate::reads::standby_state() {
                body["reads"] = json!(if standby { "standby" } else { "primary" });
            }
            (StatusCode::OK, Json(body))
        }
    }
}
