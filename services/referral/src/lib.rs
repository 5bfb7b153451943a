//! Referral: sponsors' invitations (50 a day), contact batches, the points ledger and conversions. Owns the `referral` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/referral`.
//! `docs/referral.md` describes the flows, the limits and the points rules.
//!
//! One module per flow: [`invitations`] (sponsor codes, contact batches, invitations, their
//! expiry, `GET /me`), [`accept`], [`points`] (ledger, consumer, maturation, conversion);
//! [`settings`] (read once at start-up) and [`system_config`] (the admins' tunables).

pub mod accept;
pub mod invitations;
pub mod points;
pub mod settings;
pub mod system_config;

use std::time::Duration;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use chrono::Utc;
use sqlx::PgPool;

pub use settings::ReferralSettings;

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
    settings: platform::section::<ReferralSettings>,
};
/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    /// Base of the sign-up link sent in invitations ([`ReferralSettings::invite_url_base`]).
    pub invite_url_base: String,
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

/// The service's routes: probes, custom endpoints and its schema's tables PostgREST-style,
/// with the settings read at start-up ([`ReferralSettings`]).
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        invite_url_base: ctx.settings::<ReferralSettings>().invite_url_base.clone(),
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
    platform::jobs::every(
        &ctx.db,
        NAME,
        "expire_invitations",
        JOB_INTERVAL,
        move || {
            let db = db.clone();
            async move { Ok(invitations::expire_invitations_once(&db, Utc::now()).await?) }
        },
    );
    let db = ctx.db.clone();
    platform::jobs::every(&ctx.db, NAME, "mature_points", JOB_INTERVAL, move || {
        let db = db.clone();
        async move { Ok(points::mature_points_once(&db, Utc::now()).await?) }
    });
    points::points_consumer().spawn(ctx.db.clone(), platform::outbox::watcher(ctx));
}
