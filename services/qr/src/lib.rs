//! QR: issuing, rendering and redeeming QR codes at partner venues, partner settlements. Owns the `qr` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/qr`.
//!
//! Custom endpoints: `GET /codes/{code}.png|.svg`, `POST /redeem`, `GET /venues`,
//! `GET /scan` (the partners' scanning page) and its assets, `POST /settlements/{id}/approve`,
//! `POST /settlements/{id}/paid`. Jobs: the outbox consumer `qr.pots` (issue / cancel), the
//! expiry of codes, the partner settlements. See docs/qr.md.

pub mod code;
pub mod issue;
pub mod jobs;
pub mod redeem;
pub mod render;
pub mod scan;
pub mod settings;
pub mod settle;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
pub(crate) use rest::input::db;
use sqlx::PgPool;

pub use code::QrSecret;
pub use jobs::spawn_jobs;
pub use settings::QrSettings;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "qr";
/// The port the `wolo-qr` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8087;

/// The qr service as `wolo serve`, `wolo serve qr` and `wolo-qr` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: spawn_jobs,
    settings: platform::section::<QrSettings>,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    pub secret: QrSecret,
    pub identity_url: String,
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
        method: "GET",
        path: "/codes/{code}.png",
        summary: "The QR code as a PNG (pot owner, admins, staff of the pack's partner)",
    },
    rest::Endpoint {
        method: "GET",
        path: "/codes/{code}.svg",
        summary: "The QR code as an SVG (pot owner, admins, staff of the pack's partner)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/redeem",
        summary: "Redeem a code at a venue (partner staff): {code, venue_id, device}",
    },
    rest::Endpoint {
        method: "GET",
        path: "/venues",
        summary: "Venues where the signed-in partner staff may redeem",
    },
    rest::Endpoint {
        method: "GET",
        path: "/scan",
        summary: "The partners' scanning page (HTML, French)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/settlements/{id}/approve",
        summary: "Approve a pending partner settlement (admin, audited)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/settlements/{id}/paid",
        summary: "Mark an approved settlement paid: {payment_reference} (admin, audited)",
    },
];

/// The service's routes, with the settings read at start-up ([`QrSettings`]).
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let cfg = ctx.settings::<QrSettings>();
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        secret: cfg.secret.clone(),
        identity_url: cfg.identity_url.clone(),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/codes/{file}", get(render::get_code))
        .route("/redeem", post(redeem::post_redeem))
        .route("/venues", get(scan::get_venues))
        .route("/scan", get(scan::get_page))
        .route("/assets/{file}", get(scan::get_asset))
        .route("/settlements/{id}/approve", post(settle::post_approve))
        .route("/settlements/{id}/paid", post(settle::post_paid))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
