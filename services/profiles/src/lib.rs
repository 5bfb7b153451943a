//! Profiles: personal details, guardians of minors, identity documents, addresses. Owns the `profiles` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/profiles`.
//! `docs/profiles.md` describes the rules (minors, identity documents, export, deletion).
//!
//! One file per flow: [`profile`] (`GET|PUT /me`), [`guardians`] (a minor's guardian asked
//! and confirming), [`documents`] (identity documents), [`privacy`] (export, deletion);
//! [`crypto`] holds the document keys and [`settings`] reads them.

pub mod crypto;
pub mod documents;
pub mod guardians;
pub mod jobs;
pub mod privacy;
pub mod profile;
pub mod settings;

use std::sync::Arc;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use sqlx::PgPool;

pub use crypto::IdKeys;
pub use jobs::{spawn_jobs, REENCRYPT_INTERVAL};
pub use settings::ProfilesSettings;

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
    settings: platform::section::<ProfilesSettings>,
};

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

/// The service's routes, with the identity document keys read at start-up
/// ([`ProfilesSettings`]: `WOLO_ID_HASH_KEY`, `WOLO_ID_ENCRYPTION_KEYS`; required in
/// production).
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::of(&ctx, NAME, ENDPOINTS.to_vec());
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
        keys: Arc::new(ctx.settings::<ProfilesSettings>().keys.clone()),
        clock: ctx.clock,
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route(
            "/me",
            get(profile::get_me)
                .put(profile::put_me)
                .delete(privacy::delete_me),
        )
        .route("/me/export", get(privacy::get_export))
        .route(
            "/me/identity-document",
            post(documents::post_identity_document),
        )
        .route(
            "/guardianship/{minor_id}/confirm",
            post(guardians::post_confirm_guardianship),
        )
        .route(
            "/{user_id}/identity-document/verify",
            post(documents::post_verify_document),
        )
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}
