//! Identity: phone OTP and email sign-in, sessions, roles. Owns the `identity` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/identity`.

pub mod admin;
pub mod claims;
pub mod confirm;
pub mod crypto;
pub mod google;
pub mod http;
pub mod password_policy;
pub mod purge;
pub mod throttle;

pub use purge::{purge_expired, spawn_jobs, PurgeCounts};

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use sqlx::PgPool;
use std::sync::Arc;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "identity";
/// The port the `wolo-identity` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8081;

/// The identity service as `wolo serve`, `wolo serve identity` and `wolo-identity` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: start_jobs,
    settings: check_settings,
};

/// The service's own settings, read at start-up as its router reads them.
fn check_settings(
    _: &platform::config::Env,
    _: &platform::Config,
) -> Result<platform::Section, platform::config::ConfigError> {
    Settings::from_env().map_err(platform::config::ConfigError::Line)?;
    Ok(platform::Section::default())
}

fn start_jobs(ctx: &platform::Context) {
    spawn_jobs(ctx);
}

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    /// Google ID token verification (configuration and key cache).
    pub google: Arc<google::Google>,
    /// The web app (`WOLO_PUBLIC_WEB_URL`): the password reset link points there.
    pub public_web_url: String,
    /// How long an admin's sign-in keeps its admin session (`WOLO_ADMIN_SESSION_HOURS`).
    pub admin_session_hours: i32,
    /// Rate limits of sign-in, `/verify`, `/recover` and `/otp` (`WOLO_RATE_LIMIT_*`).
    pub limits: Arc<throttle::Limits>,
    /// What a new password must satisfy (`WOLO_PASSWORD_*`).
    pub passwords: Arc<password_policy::PasswordPolicy>,
    /// How long a rotated refresh token may still be presented, seconds
    /// (`WOLO_REFRESH_TOKEN_REUSE_INTERVAL`, GoTrue's reuse interval).
    pub refresh_reuse_seconds: i64,
}

/// The service's own settings, beside the platform's.
#[derive(Clone, Debug)]
pub struct Settings {
    pub google: google::GoogleConfig,
    pub limits: throttle::Limits,
    pub passwords: password_policy::PasswordPolicy,
    /// `WOLO_REFRESH_TOKEN_REUSE_INTERVAL`, seconds.
    pub refresh_reuse_seconds: i64,
}

impl Settings {
    /// Every setting from the environment; an error names the one that is malformed.
    pub fn from_env() -> Result<Settings, String> {
        Ok(Settings {
            google: google::GoogleConfig::from_env(),
            limits: throttle::Limits::from_env()?,
            passwords: password_policy::PasswordPolicy::from_env()?,
            refresh_reuse_seconds: refresh_reuse_seconds_from_env()?,
        })
    }

    /// The settings from the environment, or the process stops (status 2) naming the
    /// malformed one, as for every other setting, before anything is served.
    fn from_env_or_exit() -> Settings {
        Settings::from_env().unwrap_or_else(|e| {
            eprintln!("identity: {e}");
            std::process::exit(2)
        })
    }
}

/// GoTrue's default refresh token reuse interval, seconds.
pub const REFRESH_REUSE_SECONDS: i64 = 10;

/// `WOLO_REFRESH_TOKEN_REUSE_INTERVAL` (0..=3600 seconds, default [`REFRESH_REUSE_SECONDS`]).
pub fn refresh_reuse_seconds_from_env() -> Result<i64, String> {
    match std::env::var("WOLO_REFRESH_TOKEN_REUSE_INTERVAL") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=3600).contains(s))
            .ok_or_else(|| {
                format!("WOLO_REFRESH_TOKEN_REUSE_INTERVAL must be 0..3600 seconds, got {v:?}")
            }),
        _ => Ok(REFRESH_REUSE_SECONDS),
    }
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
        path: "/otp",
        summary: "Send a 6-digit SMS code: {phone} (E.164 or Senegalese national); 200 {}; 429 when asked again within 60 s or over 5/h per phone (over_sms_send_rate_limit), 20/h per IP (over_request_rate_limit); limits are settings (WOLO_RATE_LIMIT_OTP_*)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/verify",
        summary: "Exchange a code for a session: {phone, token, type: sms} (SMS sign-in), {token_hash | (email, token), type: signup | email} (confirms a sign-up), {token_hash | (email, token), type: email_change}, {phone, token, type: phone_change}, {token_hash | token, email?, type: recovery} (password reset link; single use, revokes every session); 200 session {access_token, refresh_token, expires_in, expires_at, user}; 403 otp_expired; 429 over_request_rate_limit (30 requests per IP per 5 min, 10 failures per phone or e-mail per hour)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/token",
        summary: "?grant_type=refresh_token {refresh_token} (rotates; a rotated token is accepted again within 10 s, after that its reuse revokes the sign-in: 400 refresh_token_not_found | refresh_token_already_used | session_expired | user_banned), ?grant_type=password {email|phone, password} (400 invalid_credentials, email_not_confirmed; 429 over_request_rate_limit after 10 failures per account in 15 min or 30 attempts per IP in 5 min) or ?grant_type=id_token {provider: \"google\", id_token, nonce?}; 200 session (access token with GoTrue's claims: aal, amr, session_id, app_metadata, user_metadata...)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/signup",
        summary: "Create an e-mail account: {email, password, data?} (password policy: 8+ characters, not a common password; else 422 weak_password {weak_password: {reasons}}); 200 user without a session (a code is e-mailed; POST /verify type signup signs in); an address that has an account gets the same answer and nothing changes",
    },
    rest::Endpoint {
        method: "GET",
        path: "/user",
        summary: "The signed-in user (Bearer access token)",
    },
    rest::Endpoint {
        method: "PUT",
        path: "/user",
        summary: "Update the signed-in user: {password? (password policy as /signup), data? (merged into user_metadata; null removes a key), email? | phone? (in effect once confirmed with the code sent to the new address: POST /verify type email_change | phone_change)}; other fields 400; 422 email_exists | phone_exists; 200 user",
    },
    rest::Endpoint {
        method: "POST",
        path: "/resend",
        summary: "Send a pending code again: {type: signup | email_change, email}; at most once a minute; always 200 {}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/recover",
        summary: "Send a password reset e-mail: {email}; 200 {} whether or not registered (the link is valid 1 h, once); 429 over_email_send_rate_limit over 5 requests per address per hour, over_request_rate_limit over 30 per IP per hour",
    },
    rest::Endpoint {
        method: "POST",
        path: "/admin/users/{id}/roles",
        summary: "Admin only: set a user's roles {roles: [user|partner|admin|super_admin]}; audited in admin.audit_logs; 200 user",
    },
    rest::Endpoint {
        method: "POST",
        path: "/logout",
        summary: "?scope=global (default) | local | others: revoke refresh tokens; 204",
    },
];

/// The service's routes: probes, and its schema's tables PostgREST-style. The settings
/// (Google sign-in, rate limits, password policy, refresh reuse interval) come from the environment
/// ([`Settings::from_env`]; a malformed one stops the process with status 2).
pub fn router(ctx: platform::Context) -> Router {
    router_with(ctx, Settings::from_env_or_exit())
}

/// [`router`] with an explicit Google sign-in configuration (tests).
pub fn router_with_google(ctx: platform::Context, google: google::GoogleConfig) -> Router {
    router_with(
        ctx,
        Settings {
            google,
            ..Settings::from_env_or_exit()
        },
    )
}

/// [`router`] with explicit settings (tests).
pub fn router_with(ctx: platform::Context, settings: Settings) -> Router {
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
        google: Arc::new(google::Google::new(settings.google)),
        public_web_url: ctx.config.public_web_url.clone(),
        admin_session_hours: rest::sessions::admin_session_hours_from_env().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "using the default admin session length");
            rest::sessions::ADMIN_SESSION_HOURS
        }),
        limits: Arc::new(settings.limits),
        passwords: Arc::new(settings.passwords),
        refresh_reuse_seconds: settings.refresh_reuse_seconds,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/otp", post(http::post_otp))
        .route("/verify", post(throttle::post_verify))
        .route("/token", post(http::post_token))
        .route("/signup", post(confirm::post_signup))
        .route("/resend", post(confirm::post_resend))
        .route("/user", get(http::get_user).put(confirm::put_user))
        .route("/recover", post(http::post_recover))
        .route("/admin/users/{id}/roles", post(admin::post_user_roles))
        .route("/logout", post(http::post_logout))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api).gotrue())
        .layer(axum::middleware::map_response(api_version))
}

/// GoTrue's API version header: `@supabase/auth-js` reads an error body's `code` only when a
/// response carries it.
async fn api_version(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut().insert(
        "x-supabase-api-version",
        axum::http::HeaderValue::from_static("2024-01-01"),
    );
    res
}
