//! Google sign-in: `POST /token?grant_type=id_token {provider: "google", id_token}`
//! (GoTrue's `signInWithIdToken`). The ID token is verified with `jsonwebtoken` (RS256)
//! against Google's JWKS, fetched with `reqwest` and cached in memory.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{http::StatusCode, response::Response};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::{
    http::{body, db, Client},
    AppState,
};

/// Google's JWKS (override with `WOLO_GOOGLE_JWKS_URL`).
pub const DEFAULT_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The issuers Google uses in ID tokens.
pub const ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// How long fetched keys are trusted before a refetch.
pub const JWKS_TTL: Duration = Duration::from_secs(300);
/// An unknown `kid` triggers a refetch, at most once per this interval.
pub const JWKS_MIN_REFETCH: Duration = Duration::from_secs(10);

/// Google sign-in settings.
#[derive(Clone, Debug)]
pub struct GoogleConfig {
    /// Where the signing keys are fetched.
    pub jwks_url: String,
    /// The OAuth client id the ID tokens must be issued for (`aud`); `None`: sign-in refused.
    pub client_id: Option<String>,
}

impl GoogleConfig {
    /// `WOLO_GOOGLE_JWKS_URL` (default [`DEFAULT_JWKS_URL`]) and `WOLO_GOOGLE_CLIENT_ID`.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        GoogleConfig {
            jwks_url: var("WOLO_GOOGLE_JWKS_URL").unwrap_or_else(|| DEFAULT_JWKS_URL.to_string()),
            client_id: var("WOLO_GOOGLE_CLIENT_ID"),
        }
    }
}

/// The configuration, an HTTP client and the key cache.
pub struct Google {
    config: GoogleConfig,
    http: reqwest::Client,
    cache: Mutex<Option<(Instant, JwkSet)>>,
}

fn invalid(details: impl ToString) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_id_token",
        "Jeton d'identité Google invalide (invalid id token)",
    )
    .details(details.to_string())
}

fn unavailable(details: impl ToString) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "unexpected_failure",
        "Clés Google indisponibles (could not fetch google signing keys)",
    )
    .details(details.to_string())
}

/// What is kept from a verified ID token.
#[derive(Debug)]
pub struct Identity {
    pub sub: String,
    pub email: String,
}

impl Google {
    pub fn new(config: GoogleConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("reqwest client");
        Google {
            config,
            http,
            cache: Mutex::new(None),
        }
    }

    async fn fetch(&self) -> ApiResult<JwkSet> {
        let res = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(unavailable)?
            .error_for_status()
            .map_err(unavailable)?;
        let set: JwkSet = res.json().await.map_err(unavailable)?;
        *self.cache.lock().expect("jwks cache") = Some((Instant::now(), set.clone()));
        Ok(set)
    }

    /// The key for `kid`: from the cache while fresh, refetched when stale or when the kid is
    /// unknown (at most once per [`JWKS_MIN_REFETCH`]).
    async fn key(&self, kid: &str) -> ApiResult<DecodingKey> {
        let cached = self.cache.lock().expect("jwks cache").clone();
        let set = match cached {
            Some((at, set)) if at.elapsed() < JWKS_TTL => {
                if set.find(kid).is_some() || at.elapsed() < JWKS_MIN_REFETCH {
                    set
                } else {
                    self.fetch().await?
                }
            }
            _ => self.fetch().await?,
        };
        let jwk = set
            .find(kid)
            .ok_or_else(|| invalid("unknown signing key (kid)"))?;
        DecodingKey::from_jwk(jwk).map_err(invalid)
    }

    /// Verifies signature (RS256), `iss`, `aud`, `exp` and `email_verified`.
    pub async fn verify(&self, id_token: &str) -> ApiResult<Identity> {
        let Some(client_id) = self.config.client_id.as_deref() else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "provider_disabled",
                "Connexion Google non configurée (google sign-in not configured)",
            ));
        };
        let header = jsonwebtoken::decode_header(id_token).map_err(invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("algorithm must be RS256"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&ISSUERS);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
            .map_err(invalid)?
            .claims;
        let verified = match &claims["email_verified"] {
            Value::Bool(b) => *b,
            Value::String(s) => s == "true",
            _ => false,
        };
        if !verified {
            return Err(invalid("email not verified"));
        }
        let email = claims["email"]
            .as_str()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@') && e.len() <= 255)
            .ok_or_else(|| invalid("no email"))?;
        let sub = claims["sub"].as_str().unwrap_or_default().to_string();
        Ok(Identity { sub, email })
    }
}

#[derive(Deserialize)]
pub(crate) struct IdTokenRequest {
    provider: Option<String>,
    id_token: Option<String>,
}

/// `POST /token?grant_type=id_token`: links to the user with the verified e-mail, or
/// creates one (`auth_provider = 'google'`), and opens a session.
pub(crate) async fn id_token_grant(
    state: AppState,
    client: Client,
    bytes: &axum::body::Bytes,
) -> ApiResult<Response> {
    let req: IdTokenRequest = body(bytes)?;
    if req.provider.as_deref() != Some("google") {
        return Err(crate::http::validation(
            "provider doit valoir \"google\" (only provider \"google\" is supported)",
        ));
    }
    let token = req.id_token.unwrap_or_default();
    if token.trim().is_empty() {
        return Err(invalid("id_token required"));
    }
    let identity = state.google.verify(token.trim()).await?;
    let mut tx = state.db.begin().await.map_err(db)?;
    crate::http::lock(&mut tx, &format!("google:{}", identity.email)).await?;
    let existing: Option<(Uuid, bool)> =
        sqlx::query_as("select id, coalesce(is_active, true) from identity.users where email = $1")
            .bind(&identity.email)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let user_id = match existing {
        Some((_, false)) => return Err(crate::http::banned()),
        Some((id, true)) => id,
        None => {
            let id: Uuid = sqlx::query_scalar(
                "insert into identity.users (email, auth_provider) values ($1, 'google') returning id",
            )
            .bind(&identity.email)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            tracing::info!(user_id = %id, google_sub = %identity.sub, "google user created");
            id
        }
    };
    crate::http::sign_in(&state, tx, user_id, &client, crate::claims::Method::OAuth).await
}
