//! Identity: phone OTP and email sign-in, sessions, roles. Owns the `identity` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/identity`.

pub mod admin;
pub mod caller;
pub mod claims;
pub mod crypto;
pub mod google;
pub mod logout;
pub mod messages;
pub mod otp;
pub mod password;
pub mod password_policy;
pub mod purge;
pub mod recover;
pub mod session;
pub mod settings;
pub mod signup;
pub mod throttle;
pub mod token;
pub mod user;
pub mod verify;
pub mod verify_request;

pub use purge::{purge_expired, spawn_jobs, PurgeCounts};
pub use settings::{Settings, REFRESH_REUSE_SECONDS};

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
    settings: platform::section::<Settings>,
};

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
        summary: "Update the signed-in user: {password? (password policy as /signup), data? (merged into user_metadata; null removes a key), email? | phone? (in effect once confirmed with the code sent to the new address: POST /verify type email_change | phone_change)}; a field GoTrue does not take 400 PGRST102 naming it; app_metadata 403 not_admin; 422 email_exists | phone_exists; 200 user",
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

/// The service's routes: probes, its endpoints, and its schema's tables PostgREST-style.
/// The settings (Google sign-in, rate limits, password policy, refresh reuse interval, admin
/// session length) are the context's, read once at start-up ([`Settings`]; tests give their
/// own with `Context::with_section`).
pub fn router(ctx: platform::Context) -> Router {
    let settings = ctx.settings::<Settings>();
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        google: Arc::new(google::Google::new(settings.google.clone())),
        public_web_url: ctx.config.public_web_url.clone(),
        admin_session_hours: settings.admin_session_hours,
        limits: Arc::new(settings.limits.clone()),
        passwords: Arc::new(settings.passwords.clone()),
        refresh_reuse_seconds: settings.refresh_reuse_seconds,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/otp", post(otp::post_otp))
        .route("/verify", post(verify::post_verify))
        .route("/token", post(token::post_token))
        .route("/signup", post(signup::post_signup))
        .route("/resend", post(signup::post_resend))
        .route("/user", get(user::get_user).put(user::put_user))
        .route("/recover", post(recover::post_recover))
        .route("/admin/users/{id}/roles", post(admin::post_user_roles))
        .route("/logout", post(logout::post_logout))
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
