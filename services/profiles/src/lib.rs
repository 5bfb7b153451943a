//! Profiles: personal details, guardians of minors, identity documents, addresses. Owns the `profiles` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/profiles`.
//! `docs/profiles.md` describes the rules (minors, identity documents, export, deletion).

pub mod crypto;
pub mod http;
pub mod privacy;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use sqlx::PgPool;

pub use crypto::IdKeys;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "profiles";
/// The port the `wolo-profiles` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8082;

/// The profiles service as `wolo serve`, `wolo serve profiles` and `wolo-profiles` run it.
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
    let production = config.environment == platform::config::Environment::Production;
    IdKeys::from_env(production).map_err(platform::config::ConfigError::Line)?;
    Ok(platform::Section::default())
}

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
    pub keys: Arc<IdKeys>,
    /// Where the minor rule reads today (Africa/Dakar); tests set it.
    pub clock: platform::Clock,
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
        summary: "The caller's profile (identity document number masked)",
    },
    rest::Endpoint {
        method: "PUT",
        path: "/me",
        summary: "Create or update the caller's profile {full_name, date_of_birth, locale (fr-SN|wo-SN|en), timezone (IANA), avatar_url, bio, is_profile_public, allow_contact_by_sponsors, notification_preferences, guardian_user_id + relationship_type (required under 18, Africa/Dakar)}",
    },
    rest::Endpoint {
        method: "POST",
        path: "/guardianship/{minor_id}/confirm",
        summary: "The guardian named by a minor confirms (guardian's token); until then the minor's pot cannot open",
    },
    rest::Endpoint {
        method: "POST",
        path: "/me/identity-document",
        summary: "Register the caller's identity document {type: passport|national_id|birth_certificate, number, country?, media_url?}: HMAC fingerprint, number encrypted (AES-256-GCM); 409 when another account holds it",
    },
    rest::Endpoint {
        method: "POST",
        path: "/{user_id}/identity-document/verify",
        summary: "Admin only: mark a user's identity document verified {reason?}; audited",
    },
    rest::Endpoint {
        method: "GET",
        path: "/me/export",
        summary: "Everything WOLO holds on the caller, across services, as one JSON document",
    },
    rest::Endpoint {
        method: "DELETE",
        path: "/me",
        summary: "Delete the caller's account: personal data removed or anonymised everywhere, financial records kept (7 years) without personal data, sessions revoked, user deactivated; audited",
    },
];

/// The service's routes, with identity document keys from the environment
/// (`WOLO_ID_HASH_KEY`, `WOLO_ID_ENCRYPTION_KEYS`; required in production).
pub fn router(ctx: platform::Context) -> Router {
    let production = ctx.config.environment == platform::config::Environment::Production;
    let keys = IdKeys::from_env(production).unwrap_or_else(|e| panic!("profiles: {e}"));
    router_with_keys(ctx, keys)
}

/// [`router`] with explicit keys (tests).
pub fn router_with_keys(ctx: platform::Context, keys: IdKeys) -> Router {
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
        keys: Arc::new(keys),
        clock: ctx.clock,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route(
            "/me",
            get(http::get_me)
                .put(http::put_me)
                .delete(privacy::delete_me),
        )
        .route("/me/export", get(privacy::get_export))
        .route("/me/identity-document", post(http::post_identity_document))
        .route(
            "/guardianship/{minor_id}/confirm",
            post(http::post_confirm_guardianship),
        )
        .route(
            "/{user_id}/identity-document/verify",
            post(http::post_verify_document),
        )
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}

/// How often identity documents under an old key are re-encrypted.
pub const REENCRYPT_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the service's background jobs (`wolo serve` calls it once): re-encryption of
/// identity documents still under an old key, every hour, 500 rows at a time.
pub fn spawn_jobs(ctx: &platform::Context) {
    let production = ctx.config.environment == platform::config::Environment::Production;
    let keys = match IdKeys::from_env(production) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "profiles: no identity document keys, re-encryption job not started");
            return;
        }
    };
    let db = ctx.db.clone();
    tokio::spawn(async move {
        loop {
            loop {
                match crypto::reencrypt_documents_once(&db, &keys, 500).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(rows = n, "identity documents re-encrypted"),
                    Err(e) => {
                        tracing::warn!(error = %e, "identity document re-encryption failed");
                        break;
                    }
                }
            }
            tokio::time::sleep(REENCRYPT_INTERVAL).await;
        }
    });
}
