//! Notifications: templates in fr-SN, wo-SN and en, the delivery queue over email, SMS and
//! WhatsApp, preferences, digests, delivery receipts, analytics. Owns the `notifications`
//! schema. `docs/notifications.md` describes the flows.
//!
//! - [`request_message`]: the public API for other services (and the outbox consumer of
//!   `notification.requested`): checks variables, applies preferences and quiet hours,
//!   renders and queues;
//! - [`dispatch::dispatch_once`], [`jobs::run_digest`], [`jobs::rollup_analytics`]: the jobs,
//!   each taking `now`; [`jobs::spawn_jobs`] runs them in a loop;
//! - [`router`] serves the service at `/` (`wolo serve` mounts it under `/notifications`):
//!   the tables PostgREST-style, `POST /messages`, `POST /receipts/{provider}`.

pub mod config;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod jobs;
pub mod messages;
pub mod providers;
pub mod receipts;
pub mod render;
pub mod request;

use std::sync::Arc;

use axum::{extract::FromRef, routing::post, Router};
use sqlx::PgPool;

pub use config::NotifyConfig;
pub use error::NotifyError;
pub use jobs::spawn_jobs;
pub use platform::events::NotificationRequested;
pub use render::Channel;
pub use request::{request_message, request_message_at, MessageRequest, Recipient};

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "notifications";
/// The port the `wolo-notifications` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8088;

/// The notifications service as `wolo serve`, `wolo serve notifications` and `wolo-notifications` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: spawn_jobs,
    settings: platform::section::<NotifyConfig>,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    pub config: Arc<NotifyConfig>,
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
        path: "/messages",
        summary: "Request a message (admin token): {user_id, recipient: {phone, email}, message, locale, channels, data, scheduled_at}; 201 {ids}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/receipts/{provider}",
        summary: "Delivery receipts from a provider (sms, whatsapp, smtp, dev), signed X-Wolo-Signature: t=<unix seconds>,v1=<HMAC-SHA256 hex of \"<t>./receipts/{provider}.<body>\"> (t within 5 minutes); a replay answers 200 {replayed: true} and changes nothing; timestamps from sent_at to now",
    },
];

/// The service's routes: probes, the custom endpoints, and its schema's tables PostgREST-style,
/// with the settings read at start-up ([`NotifyConfig`]).
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        config: ctx.settings::<NotifyConfig>(),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/messages", post(messages::post_message))
        .route("/receipts/{provider}", post(receipts::post_receipts))
        .route(
            "/receipts/gateway/{key}",
            post(receipts::post_gateway_report),
        )
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
