//! Donations: Wave checkout, signed Wave webhooks, refunds and donation aggregates. Owns the `donations` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/donations`.

use axum::{extract::FromRef, Router};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "donations";
/// The port the `wolo-donations` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8085;

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

/// Custom endpoints beside the tables (listed in the OpenAPI document).
pub const ENDPOINTS: &[rest::Endpoint] = &[];

/// The service's routes: probes, and its schema's tables PostgREST-style.
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::new(
        NAME,
        ctx.config.database_url.expose(),
        ctx.db.clone(),
        ctx.jwt(),
        ENDPOINTS.to_vec(),
    );
    let state = AppState { db: ctx.db };
    Router::new()
        .merge(platform::health::router(NAME))
        .with_state(state)
        .merge(rest::router(api))
}

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once).
pub fn spawn_jobs(_ctx: &platform::Context) {}
