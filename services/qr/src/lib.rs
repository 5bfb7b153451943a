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
pub mod settle;

use std::time::Duration;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
pub(crate) use rest::input::db;
use sqlx::PgPool;
use uuid::Uuid;

pub use code::QrSecret;

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
    settings: check_settings,
};

/// The service's own settings, read as its router reads them (start-up stops on an error).
fn check_settings(
    _: &platform::config::Env,
    config: &platform::Config,
) -> Result<platform::Section, platform::config::ConfigError> {
    QrConfig::from_env(config).map_err(|e| platform::config::ConfigError::Line(e.to_string()))?;
    Ok(platform::Section::default())
}

/// The service's settings (environment).
#[derive(Clone, Debug)]
pub struct QrConfig {
    /// `WOLO_QR_SECRET`: signs the codes (≥ 32 bytes; development default outside production).
    pub secret: QrSecret,
    /// `WOLO_PUBLIC_WEB_URL`: the web app, for the link in the `qr_ready` message.
    pub public_web_url: String,
    /// `WOLO_QR_IDENTITY_URL`: where the scanning page signs in, relative to `/qr/scan`
    /// (default `../identity`).
    pub identity_url: String,
}

impl QrConfig {
    /// `WOLO_QR_SECRET` and `WOLO_QR_IDENTITY_URL` from the environment; the web app's URL
    /// from the platform configuration (`WOLO_PUBLIC_WEB_URL`).
    pub fn from_env(config: &platform::Config) -> anyhow::Result<QrConfig> {
        let production = config.environment == platform::config::Environment::Production;
        Ok(QrConfig {
            secret: QrSecret::from_env(production)?,
            public_web_url: config.public_web_url.clone(),
            identity_url: std::env::var("WOLO_QR_IDENTITY_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "../identity".into()),
        })
    }

    fn from_context(ctx: &platform::Context) -> QrConfig {
        match QrConfig::from_env(&ctx.config) {
            Ok(c) => c,
            Err(e) => panic!("qr settings: {e}"),
        }
    }
}

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

/// The service's routes with the settings from the environment.
pub fn router(ctx: platform::Context) -> Router {
    let cfg = QrConfig::from_context(&ctx);
    router_with(ctx, cfg)
}

/// The service's routes with explicit settings (tests).
pub fn router_with(ctx: platform::Context, cfg: QrConfig) -> Router {
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
        secret: cfg.secret,
        identity_url: cfg.identity_url,
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

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once).
pub fn spawn_jobs(ctx: &platform::Context) {
    let cfg = QrConfig::from_context(ctx);
    issue::consumer(cfg.secret.clone(), cfg.public_web_url.clone())
        .spawn(ctx.db.clone(), ctx.config.database_url.expose().to_string());
    let pool = ctx.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            match jobs::expire_codes_once(&pool, now).await {
                Ok(n) if n > 0 => tracing::info!(expired = n, "qr codes expired"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "qr expiry job failed"),
            }
            match jobs::build_settlements_once(&pool, now).await {
                Ok(n) if n > 0 => tracing::info!(settlements = n, "partner settlements built"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "settlement job failed"),
            }
        }
    });
}

/// The first word of the user's profile name, or "" when there is none.
pub async fn first_name(conn: &mut sqlx::PgConnection, user: Uuid) -> Result<String, sqlx::Error> {
    let full: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(user)
            .fetch_optional(conn)
            .await?;
    Ok(full
        .and_then(|f| f.split_whitespace().next().map(str::to_string))
        .unwrap_or_default())
}
