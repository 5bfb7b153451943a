//! Pots: birthday pots, their J-30 lifecycle, invitations and daily snapshots. Owns the `pots` schema.
//!
//! - [`router`] serves the service at `/` (`wolo serve` mounts it under `/pots`): the tables
//!   PostgREST-style (a plain insert into `pots` creates a pot: the V60 trigger sets the owner
//!   and the J-30 date and publishes `pot.created`), and the [`ENDPOINTS`].
//! - [`lifecycle`]: the job opening, funding and expiring pots ([`lifecycle::lifecycle_once`]).
//! - [`events`]: the outbox consumer `pots.donations` (raised total, donor count, funded).
//! - [`analytics`]: the daily `pot_analytics` snapshot ([`analytics::snapshot_once`]).
//!
//! See docs/pots.md.

pub mod analytics;
pub mod events;
pub mod http;
pub mod lifecycle;

use std::time::Duration;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use chrono::Utc;
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "pots";
/// The port the `wolo-pots` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8084;

/// The pots service as `wolo serve`, `wolo serve pots` and `wolo-pots` run it.
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
    /// The web app's base URL (`WOLO_PUBLIC_WEB_URL`): invitation links are
    /// `<base>/p/<pot_id>?i=<invitation_id>`.
    pub public_web_url: String,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

/// Custom endpoints beside the tables (listed in the OpenAPI document).
pub const ENDPOINTS: &[rest::Endpoint] = &[
    rest::Endpoint {
        method: "POST",
        path: "/pots/{id}/close",
        summary: "Owner (or admin): close the pot {reason?} (default \"owner\"); publishes pot.closed; 200 pot; 403 not the owner; 409 already closed",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/{id}/invitations",
        summary: "Owner: invite someone {method: whatsapp|sms|email, recipient: phone (E.164, Senegal by default) or e-mail, message?}; sends the pot_invitation message with the link <WOLO_PUBLIC_WEB_URL>/p/<pot_id>?i=<invitation_id>; share_count + 1; 201 invitation",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/invitations/{id}/opened",
        summary: "Anonymous: the invitation was opened (first call stamps opened_at; idempotent); 200 {id, opened_at, clicked_at}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/invitations/{id}/clicked",
        summary: "Anonymous: the invitation link was clicked (first call stamps clicked_at, and opened_at if unset; idempotent); 200 {id, opened_at, clicked_at}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/{id}/view",
        summary: "Anonymous: count one view of the pot page; 200 {view_count}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/pots/{id}/share",
        summary: "Anonymous: count one share of the pot link; 200 {share_count}",
    },
    rest::Endpoint {
        method: "GET",
        path: "/pots/{id}/public",
        summary: "Anonymous: the pot page in one request (title, progress, days left, donors as the pot's and each donor's anonymity allow, messages, preferred pack); the id is the link, whatever the visibility",
    },
];

/// The service's routes: probes, its custom endpoints, and its schema's tables PostgREST-style.
pub fn router(ctx: platform::Context) -> Router {
    let public_web_url = ctx.config.public_web_url.clone();
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
        public_web_url,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/pots/{id}/close", post(http::post_close))
        .route("/pots/{id}/invitations", post(http::post_invitation))
        .route(
            "/pots/invitations/{id}/opened",
            post(http::post_invitation_opened),
        )
        .route(
            "/pots/invitations/{id}/clicked",
            post(http::post_invitation_clicked),
        )
        .route("/pots/{id}/view", post(http::post_view))
        .route("/pots/{id}/share", post(http::post_share))
        .route("/pots/{id}/public", get(http::get_public))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}

/// How often the lifecycle job runs.
pub const LIFECYCLE_INTERVAL: Duration = Duration::from_secs(60);
/// How often the analytics snapshot runs: hourly, upserting the Dakar day's row, so each day
/// gets its row even across restarts and the row holds the day's last values.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once):
/// the lifecycle every minute, the daily analytics snapshot (refreshed hourly), the consumer
/// `pots.donations`.
pub fn spawn_jobs(ctx: &platform::Context) {
    let db = ctx.db.clone();
    let web = ctx.config.public_web_url.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LIFECYCLE_INTERVAL);
        loop {
            tick.tick().await;
            match lifecycle::lifecycle_once(&db, Utc::now(), &web).await {
                Ok(c) if c != lifecycle::LifecycleCounts::default() => tracing::info!(
                    opened = c.opened,
                    funded = c.funded,
                    expired = c.expired,
                    "pots lifecycle"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pots lifecycle failed"),
            }
        }
    });
    let db = ctx.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SNAPSHOT_INTERVAL);
        loop {
            tick.tick().await;
            match analytics::snapshot_once(&db, Utc::now()).await {
                Ok(n) => tracing::info!(rows = n, "pots analytics snapshot"),
                Err(e) => tracing::warn!(error = %e, "pots analytics snapshot failed"),
            }
        }
    });
    events::donations_consumer()
        .spawn(ctx.db.clone(), ctx.config.database_url.expose().to_string());
}
