//! Packs: the gift catalogue, partners and their venues, sponsor campaigns. Owns the `packs` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/packs`.

use axum::{extract::FromRef, Router};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "packs";
/// The port the `wolo-packs` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8086;

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
