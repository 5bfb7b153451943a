//! Pots: birthday pots, their J-30 lifecycle, invitations and daily snapshots. Owns the `pots` schema.
//!
//! - [`router`] serves the service at `/` (`wolo serve` mounts it under `/pots`): the tables
//!   PostgREST-style (a plain insert into `pots` creates a pot: the V60 trigger sets the owner
//!   and the J-30 date and publishes `pot.created`), and the [`ENDPOINTS`].
//! - [`lifecycle`]: the job opening, funding and expiring pots ([`lifecycle::lifecycle_once`]).
//! - [`events`]: the outbox consumer `pots.donations` (raised total, donor count, funded).
//! - [`analytics`]: the daily `pot_analytics` snapshot ([`analytics::snapshot_once`]).
//! - The custom endpoints, one module per family: [`close`], [`invitations`] (and their
//!   tracking), [`counters`] (view, share), [`public`] (the pot page); what they share (the
//!   request transaction, the owner check) is in `access`.
//!
//! See docs/pots.md.

mod access;
pub mod analytics;
pub mod close;
pub mod counters;
pub mod events;
pub mod invitations;
pub mod lifecycle;
pub mod public;

use std::time::Duration;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use chrono::Utc;
use sqlx::PgPool;

use crate::{close::post_close, counters::*, invitations::*, public::get_public};

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
    /// Where links point (`platform::links`): invitation links, and the share key that
    /// opens a private pot's public view.
    pub links: platform::links::Links,
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
    let links = platform::links::Links::from_config(&ctx.config);
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        links,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/pots/{id}/close", post(post_close))
        .route("/pots/{id}/invitations", post(post_invitation))
        .route(
            "/pots/invitations/{id}/opened",
            post(post_invitation_opened),
        )
        .route(
            "/pots/invitations/{id}/clicked",
            post(post_invitation_clicked),
        )
        .route("/pots/{id}/view", post(post_view))
        .route("/pots/{id}/share", post(post_share))
        .route("/pots/{id}/public", get(get_public))
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
    let web = platform::links::Links::from_config(&ctx.config);
    platform::jobs::every(&ctx.db, NAME, "lifecycle", LIFECYCLE_INTERVAL, move || {
        let (db, web) = (db.clone(), web.clone());
        async move { lifecycle::lifecycle_once(&db, Utc::now(), &web).await }
    });
    let db = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        NAME,
        "analytics_snapshot",
        SNAPSHOT_INTERVAL,
        move || {
            let db = db.clone();
            async move { Ok(analytics::snapshot_once(&db, Utc::now()).await?) }
        },
    );
    events::donations_consumer().spawn(ctx.db.clone(), platform::outbox::watcher(ctx));
}
