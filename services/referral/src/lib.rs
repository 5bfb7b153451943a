//! Referral: sponsors' invitations (50 a day), contact batches, the points ledger and conversions. Owns the `referral` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/referral`.
//! `docs/referral.md` describes the flows, the limits and the points rules.

pub mod accept;
pub mod invitations;
pub mod points;
pub mod util;

use std::time::Duration;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use chrono::Utc;
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "referral";
/// The port the `wolo-referral` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8083;

/// The referral service as `wolo serve`, `wolo serve referral` and `wolo-referral` run it.
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
    /// Base of the sign-up link sent in invitations.
    pub invite_url_base: String,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

/// Custom endpoints beside the tables (listed in the OpenAPI document).
pub const ENDPOINTS: &[rest::Endpoint] = &[
    rest::Endpoint {
        method: "GET",
        path: "/me",
        summary: "The caller's sponsor code, today's invitations (Africa/Dakar day) and points balance",
    },
    rest::Endpoint {
        method: "POST",
        path: "/contact-batches",
        summary: "Offer a batch of up to 50 contacts {contacts: [{contact_id?, name?, phone|email}]}; 201 batch",
    },
    rest::Endpoint {
        method: "POST",
        path: "/invitations",
        summary: "Invite contacts {contacts: [{phone|email, name?}]} or from a batch {batch_id, contact_ids? (default: all)}, message?; all or nothing within the daily limit of 50 (429 daily_limit_reached); 201 {sponsor_code, invitations, remaining_today}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/accept",
        summary: "The signed-in invited user accepts {code} (invitation code, or sponsor code matching their phone/e-mail): links them, creates their birthday pot, points pending for the sponsor; 200",
    },
    rest::Endpoint {
        method: "POST",
        path: "/points/convert",
        summary: "Convert matured points into CFA credit on a pot {points, pot_id} at points.conversion_rate_cfa_per_point; 409 insufficient_points; 201 conversion",
    },
];

/// The service's routes: probes, custom endpoints and its schema's tables PostgREST-style.
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::new(
        NAME,
        ctx.config.database_url.expose(),
        ctx.db.clone(),
        ctx.jwt(),
        ENDPOINTS.to_vec(),
    );
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        invite_url_base: std::env::var("WOLO_INVITE_URL_BASE")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("{}/invitation/", ctx.config.public_web_url)),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/me", get(invitations::get_me))
        .route("/contact-batches", post(invitations::post_batch))
        .route("/invitations", post(invitations::post_invitations))
        .route("/accept", post(accept::post_accept))
        .route("/points/convert", post(points::post_convert))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}

/// How often the expiry and maturation jobs run.
pub const JOB_INTERVAL: Duration = Duration::from_secs(300);

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once):
/// invitation expiry and points maturation every 5 minutes, and the points consumer
/// (`pot.opened`, `donation.succeeded`, `donation.refunded`).
pub fn spawn_jobs(ctx: &platform::Context) {
    let db = ctx.db.clone();
    tokio::spawn(async move {
        loop {
            match invitations::expire_invitations_once(&db, Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(expired = n, "referral invitations expired"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "referral expiry failed"),
            }
            match points::mature_points_once(&db, Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(matured = n, "referral points matured"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "referral maturation failed"),
            }
            tokio::time::sleep(JOB_INTERVAL).await;
        }
    });
    points::points_consumer().spawn(ctx.db.clone(), ctx.config.database_url.expose().to_string());
}
