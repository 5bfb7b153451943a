//! Donations: checkout through Wave or PayDunya (Orange Money, Free Money, cards), signed Wave
//! webhooks and PayDunya notifications, the USSD menu and donations by SMS, refunds and
//! donation aggregates. Owns the `donations` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/donations`.
//! `docs/donations.md` describes the flow, the states and the risk score.

pub mod checkout;
pub mod config;
pub mod jobs;
pub mod paydunya;
pub mod paydunya_ipn;
pub mod refunds;
pub mod risk;
pub mod signature;
pub mod sms;
pub mod ussd;
pub mod wave;
pub mod webhook;

pub use config::DonationsConfig;
pub use jobs::{donation_analytics_once, expire_pending_once, spawn_jobs};

use std::sync::Arc;

use axum::{extract::FromRef, routing::post, Router};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "donations";
/// The port the `wolo-donations` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8085;

/// The donations service as `wolo serve`, `wolo serve donations` and `wolo-donations` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: spawn_jobs,
    settings: platform::section::<DonationsConfig>,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    pub config: Arc<DonationsConfig>,
    pub wave: wave::Wave,
    /// PayDunya, when configured.
    pub paydunya: Option<paydunya::PayDunya>,
    /// Wave deliveries applied together ([`webhook::Batcher`]).
    pub webhooks: webhook::Batcher,
}

impl AppState {
    /// PayDunya's call timeout (zero when it is not configured).
    pub fn paydunya_timeout(&self) -> std::time::Duration {
        self.paydunya
            .as_ref()
            .map(|p| p.config().timeout)
            .unwrap_or_default()
    }
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
        path: "/checkout",
        summary: "Start a donation (anonymous or signed in): {pot_id, amount_cfa (admin minimum..maximum), donor_name?, donor_phone?, donor_email?, message?, is_anonymous?, show_amount?, provider?: wave (default) | paydunya}; 201 also carries provider and payment_url; 422 provider_unavailable when PayDunya is not configured; optional Idempotency-Key header (scoped to the caller: the signed-in user, else the client IP); 201 {donation_id, status, wave_payment_url, expires_at} (200 on a replay of the same request); 422 idempotency_key_reused (same key, another request); 409 pot not open; 502/504 Wave error or timeout",
    },
    rest::Endpoint {
        method: "POST",
        path: "/webhooks/wave",
        summary: "Wave webhook (Wave-Signature checked first: 401 otherwise); each event id applied once, a completed event only to the donation whose stored session and amount it names; 200 also for duplicates and recorded errors; 400 unreadable JSON or a body Postgres cannot store (U+0000), recorded once; 503 database down",
    },
    rest::Endpoint {
        method: "POST",
        path: "/webhooks/paydunya",
        summary: "PayDunya notification (form data[...]; data[hash] = SHA-512 of the master key, else 401): a trigger only, the payment is confirmed with PayDunya's confirm call and applied once; 200 {outcome}; 404 when PayDunya is not configured",
    },
    rest::Endpoint {
        method: "POST",
        path: "/{id}/refund",
        summary: "Admin only: refund a succeeded donation through Wave {reason, category?: user_request|fraud|admin_action}; audited; 200 refund; 409 not refundable or in progress; 502/504 Wave failure (donation unchanged)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/{pot_id}/refund",
        summary: "Admin only: refund every succeeded donation of an expired pot {reason}; the pots service then publishes pot.refunded; 200 {refunds}, 502 when some failed",
    },
];

/// The service's routes, with the settings read at start-up ([`DonationsConfig`]: Wave, and
/// the web app's URL for Wave's return pages).
/// Tests give explicit settings with `ctx.with_section(DonationsConfig::new(..))`.
pub fn router(ctx: platform::Context) -> Router {
    let cfg = (*ctx.settings::<DonationsConfig>()).clone();
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        wave: wave::Wave::new(cfg.clone()),
        paydunya: cfg.paydunya.clone().map(paydunya::PayDunya::new),
        webhooks: webhook::Batcher::default(),
        config: Arc::new(cfg),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/checkout", post(checkout::post_checkout))
        .route("/webhooks/wave", post(webhook::post_wave_webhook))
        .route("/webhooks/paydunya", post(paydunya_ipn::post_paydunya_ipn))
        .route("/ussd/{key}", post(ussd::post_ussd))
        .route("/sms/{key}", post(sms::post_sms))
        .route("/{id}/refund", post(refunds::post_refund))
        .route("/pots/{pot_id}/refund", post(refunds::post_pot_refund))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
