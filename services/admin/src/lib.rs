//! Admin: feature flags, system configuration, the audit trail, admin sessions, health
//! checks and the admin console. Owns the `admin` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/admin`.
//! See docs/admin.md.

pub mod config;
pub mod console;
pub mod flags;
pub mod health;
pub mod jobs;
pub mod sessions;
pub mod settings;

pub use console::{CONSOLE_CSP, CONSOLE_HTML};
pub use jobs::spawn_jobs;
pub use settings::AdminSettings;

use axum::{
    extract::FromRef,
    routing::{get, post, put},
    Router,
};
use sqlx::PgPool;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "admin";
/// The port the `wolo-admin` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8090;

/// The admin service as `wolo serve`, `wolo serve admin` and `wolo-admin` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: jobs::spawn_jobs,
    settings: platform::section::<AdminSettings>,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    /// `WOLO_ENV` as flags name it: development, test or production.
    pub environment: String,
    /// Admin session length (`WOLO_ADMIN_SESSION_HOURS`, default 8).
    pub session_hours: i32,
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
        path: "/flags/evaluate",
        summary: "Every feature flag for one subject: ?user_id= | anonymous_id=, region=, groups=a,b; {environment, subject, flags: {key: {enabled, value, reason}}}; Cache-Control private max-age=15 (no-store for a user's evaluation), ETag (304)",
    },
    rest::Endpoint {
        method: "GET",
        path: "/config",
        summary: "Admin only: every system_config row, sensitive values masked (\"********\", masked: true)",
    },
    rest::Endpoint {
        method: "PUT",
        path: "/config/{key}",
        summary: "Admin only: set a configuration value {value, data_type?, validation_rules?, description?, is_sensitive?, environment?}; validated against validation_rules (JSON Schema), 400 config_invalid with the errors in details; audited; 200 (201 when created)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/sessions",
        summary: "Admin only: record (or refresh) the admin console session of this access token; 201 session",
    },
    rest::Endpoint {
        method: "POST",
        path: "/sessions/{id}/end",
        summary: "Admin only: end a session {reason: logout | revoked | timeout | suspicious}; 409 when already ended",
    },
    rest::Endpoint {
        method: "GET",
        path: "/console",
        summary: "The admin console (HTML page): flags, configuration, audit log",
    },
];

/// The service's routes: probes, custom endpoints, the console and its schema's tables.
/// Its settings ([`AdminSettings`]) are the context's, read at start-up.
pub fn router(ctx: platform::Context) -> Router {
    let settings = ctx.settings::<AdminSettings>();
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let environment = match ctx.config.environment {
        platform::config::Environment::Development => "development",
        platform::config::Environment::Test => "test",
        platform::config::Environment::Production => "production",
    };
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        environment: environment.to_string(),
        session_hours: settings.session_hours,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/flags/evaluate", get(flags::get_evaluate))
        .route("/config", get(config::get_config))
        .route("/config/{key}", put(config::put_config))
        .route("/sessions", post(sessions::post_session))
        .route("/sessions/{id}/end", post(sessions::post_end))
        .route("/console", get(console::page))
        .route("/console.js", get(console::script))
        .route("/console.css", get(console::styles))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
