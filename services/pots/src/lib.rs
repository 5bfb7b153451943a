//! Pots: birthday pots, their J-30 lifecycle, invitations and daily snapshots. Owns the `pots` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/pots`.

use axum::{extract::FromRef, Router};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "pots";
/// The port the `wolo-pots` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8084;

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

/// The service's routes.
pub fn router(ctx: platform::Context) -> Router {
    let state = AppState { db: ctx.db };
    Router::new()
        .merge(platform::health::router(NAME))
        .with_state(state)
}
