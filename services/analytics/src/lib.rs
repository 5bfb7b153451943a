//! Analytics: product events, business metrics, funnels and A/B tests. Owns the `analytics` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/analytics`.
//! See docs/analytics.md.

pub mod ab;
pub mod domain;
pub mod ingest;
pub mod jobs;

pub use jobs::{spawn_jobs, JOB_INTERVAL};

use axum::{extract::FromRef, routing::post, Router};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "analytics";
/// The port the `wolo-analytics` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8089;

/// The analytics service as `wolo serve`, `wolo serve analytics` and `wolo-analytics` run it.
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
        path: "/events",
        summary: "Record up to 1,000 events: [{event_name, event_category?, properties?, timestamp?, anonymous_id?, session_id?, page_url?, referrer?, platform?}] (or {events: [...]}), anonymous or signed in; enriched from User-Agent, CF-IPCountry and X-Region; 200 {inserted, rejected: []}, 207 when some are rejected ({index, code, message}); 413 over 1,000",
    },
    rest::Endpoint {
        method: "POST",
        path: "/ab/assign",
        summary: "A/B assignment: {test (name or id), user_id | anonymous_id}; deterministic (hash of test and subject against traffic_allocation), stored once; 201 on first assignment, 200 after: {test_id, test, variant|null, in_test}",
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
        .route("/events", post(ingest::post_events))
        .route("/ab/assign", post(ab::post_assign))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
