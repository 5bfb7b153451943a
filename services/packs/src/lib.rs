//! Packs: the gift catalogue, partners and their venues, sponsor campaigns. Owns the `packs` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/packs`.
//!
//! The tables are served PostgREST-style (catalog for everyone, admin management audited by
//! the triggers of V70). Custom endpoints:
//! - `POST /pots/{pot_id}/preferred-pack` {pack_id}: the pot's owner picks its pack;
//! - `POST /campaigns/{id}/impression`, `POST /campaigns/{id}/click`: campaign counters.
//!
//! SQL for other services: `packs.effective_price_cfa(pack_id)`, `packs.quantity_left`,
//! `packs.is_available`, `packs.apply_campaign_boost(sponsor, points, context)` (from Rust:
//! [`apply_campaign_boost`]). The handlers live in [`preferred_pack`] and [`campaigns`]; this
//! file holds the service's description, state and router. See docs/packs.md.

pub mod campaigns;
pub mod preferred_pack;

use axum::{extract::FromRef, routing::post, Router};
use sqlx::PgPool;

pub use campaigns::apply_campaign_boost;
use campaigns::post_campaign_event;
use preferred_pack::post_preferred_pack;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "packs";
/// The port the `wolo-packs` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8086;

/// The packs service as `wolo serve`, `wolo serve packs` and `wolo-packs` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: spawn_jobs,
    settings: platform::no_settings,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

impl FromRef<AppState> for auth::Jwt {
    fn from_ref(state: &AppState) -> auth::Jwt {
        state.jwt.clone()
    }
}

/// Custom endpoints beside the tables (listed in the OpenAPI document).
pub const ENDPOINTS: &[rest::Endpoint] = &[
    rest::Endpoint {
        method: "POST",
        path: "/pots/{pot_id}/preferred-pack",
        summary: "The pot's owner picks its pack: {pack_id} (active and available)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/campaigns/{id}/impression",
        summary: "Count an impression of an active sponsor campaign",
    },
    rest::Endpoint {
        method: "POST",
        path: "/campaigns/{id}/click",
        summary: "Count a click on an active sponsor campaign",
    },
];

/// The service's routes: probes, custom endpoints, and its schema's tables PostgREST-style.
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/pots/{pot_id}/preferred-pack", post(post_preferred_pack))
        .route("/campaigns/{id}/{kind}", post(post_campaign_event))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once).
/// The packs service has none: availability is computed on read, campaign budgets are
/// spent by `packs.apply_campaign_boost`.
pub fn spawn_jobs(_ctx: &platform::Context) {}
