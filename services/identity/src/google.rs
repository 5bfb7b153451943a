//! Google sign-in: `POST /token?grant_type=id_token {provider: "google", id_token}`
//! (GoTrue's `signInWithIdToken`). The ID token is verified with `jsonwebtoken` (RS256)
//! against Google's JWKS, fetched with `reqwest` and cached in memory. The request's
//! `nonce` is checked against the token's as GoTrue does, and the user is found by Google's
//! `sub` (stored in `identity.users.google_sub`, V110) before the e-mail.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{http::StatusCode, response::Response};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use platform::config::{ConfigError, Env};
use rest::{
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::{
    session::{banned, lock, sign_in, Client},
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

impl Default for GoogleConfig {
    /// Google's keys, no client id (Google sign-in refused).
    fn default() -> Self {
        GoogleConfig {
            jwks_url: DEFAULT_JWKS_URL.to_string(),
            client_id: None,
        }
    }
}

impl GoogleConfig {
    /// `WOLO_GOOGLE_JWKS_URL` (default [`DEFAULT_JWKS_URL`]; an `http://` or `https://` URL)
    /// and `WOLO_GOOGLE_CLIENT_ID`, read once at start-up (`crate::settings`).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let jwks_url = match env.get("WOLO_GOOGLE_JWKS_URL") {
            None => DEFAULT_JWKS_URL.to_string(),
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => u,
            Some(u) => {
                return Err(ConfigError::invalid(
                    "WOLO_GOOGLE_JWKS_URL",
                    format!("{u:?} is not an http:// or https:// URL"),
                ))
            }
        };
        Ok(GoogleConfig {
            jwks_url,
            client_id: env.get("WOLO_GOOGLE_CLIENT_ID"),
        })
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
    /// The token's `nonce` claim, if any.
    pub nonce: Option<String>,
}

/// GoTrue's nonce rule for ID tokens: the request's `nonce` and the token's must both be
/// there or both be absent (empty counts as absent), and the token's must be the lower-case
/// SHA-256 hex of the request's (the client hashes the nonce it hands to Google; the raw
/// value is not accepted, as GoTrue). Guards against a replayed ID token.
pub fn check_nonce(sent: Option<&str>, in_token: Option<&str>) -> ApiResult<()> {
    let sent = sent.filter(|n| !n.is_empty());
    let in_token = in_token.filter(|n| !n.is_empty());
    match (sent, in_token) {
        (None, None) => Ok(()),
        (Some(sent), Some(in_token)) if crate::crypto::sha256_hex(sent) == in_token => Ok(()),
        (Some(_), Some(_)) => Err(invalid("nonces mismatch").hint(
            "send the nonce given to Google before hashing; the ID token carries its SHA-256 hex",
        )),
        _ => Err(invalid(
            "passed nonce and nonce in id_token should either both exist or not",
        )),
    }
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
        let sub = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| invalid("no sub"))?
            .to_string();
        let nonce = match &claims["nonce"] {
            Value::Null => None,
            Value::String(n) => Some(n.clone()),
            _ => return Err(invalid("nonce must be a string")),
        };
        Ok(Identity { sub, email, nonce })
    }
}

/// The body of `POST /token?grant_type=id_token`: GoTrue's `IdTokenGrantParams` and the
/// captcha field of auth-js; `access_token`, `client_id`, `issuer` and `link_identity` are
/// accepted and unused (Google only, by its ID token).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct IdTokenRequest {
    provider: Option<String>,
    id_token: Option<String>,
    nonce: Option<String>,
    access_token: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    link_identity: Option<bool>,
    gotrue_meta_security: Option<Value>,
}

/// `POST /token?grant_type=id_token`: finds the user by Google's `sub`, else by the verified
/// e-mail (and links the `sub` to it), else creates one (`auth_provider = 'google'`), and
/// opens a session.
pub(crate) async fn id_token_grant(
    state: AppState,
    client: Client,
    req: IdTokenRequest,
) -> ApiResult<Response> {
    if req.provider.as_deref() != Some("google") {
        return Err(validation(
            "provider doit valoir \"google\" (only provider \"google\" is supported)",
        ));
    }
    let token = req.id_token.unwrap_or_default();
    if token.trim().is_empty() {
        return Err(invalid("id_token required"));
    }
    let identity = state.google.verify(token.trim()).await?;
    check_nonce(req.nonce.as_deref(), identity.nonce.as_deref())?;
    let mut tx = state.db.begin().await.map_err(db)?;
    // Always the sub first, then the e-mail: no two sign-ins wait on each other in turn.
    lock(&mut tx, &format!("google-sub:{}", identity.sub)).await?;
    lock(&mut tx, &format!("google:{}", identity.email)).await?;
    let user_id = match find_user(&mut tx, &identity).await? {
        Some((_, false)) => return Err(banned()),
        Some((id, true)) => id,
        None => {
            let id: Uuid = sqlx::query_scalar(
                "insert into identity.users (email, auth_provider, google_sub)
                 values ($1, 'google', $2) returning id",
            )
            .bind(&identity.email)
            .bind(&identity.sub)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            tracing::info!(user_id = %id, google_sub = %identity.sub, "google user created");
            id
        }
    };
    sign_in(&state, tx, user_id, &client, crate::claims::Method::OAuth).await
}

/// The user of a Google identity, `(id, active)`: the one linked to its `sub` (whatever
/// e-mail Google now gives), else the one with its verified e-mail, which is then linked to
/// the `sub` when it has no Google account yet. An account already linked to another Google
/// account keeps that link and is still found by e-mail, as GoTrue links identities by
/// verified e-mail. Nothing else on the row changes (its e-mail stays ours).
async fn find_user(
    conn: &mut PgConnection,
    identity: &Identity,
) -> ApiResult<Option<(Uuid, bool)>> {
    let by_sub: Option<(Uuid, bool)> = sqlx::query_as(
        "select id, coalesce(is_active, true) from identity.users where google_sub = $1",
    )
    .bind(&identity.sub)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if by_sub.is_some() {
        return Ok(by_sub);
    }
    let by_email: Option<(Uuid, bool, Option<String>)> = sqlx::query_as(
        "select id, coalesce(is_active, true), google_sub from identity.users where email = $1",
    )
    .bind(&identity.email)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some((id, active, linked)) = by_email else {
        return Ok(None);
    };
    match linked {
        None if active => {
            sqlx::query("update identity.users set google_sub = $2 where id = $1")
                .bind(id)
                .bind(&identity.sub)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            tracing::info!(user_id = %id, google_sub = %identity.sub, "google account linked");
        }
        None => {}
        Some(other) => {
            tracing::warn!(user_id = %id, google_sub = %identity.sub, linked = %other,
                "google sign-in by e-mail of an account linked to another google account");
        }
    }
    Ok(Some((id, active)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_default_to_googles_keys_and_a_bad_url_is_named() {
        let c = GoogleConfig::from_env(&Env::from_pairs::<&str, &str>(&[])).unwrap();
        assert_eq!(c.jwks_url, DEFAULT_JWKS_URL);
        assert_eq!(c.client_id, None);
        let c = GoogleConfig::from_env(&Env::from_pairs(&[
            ("WOLO_GOOGLE_JWKS_URL", "http://127.0.0.1:9/certs"),
            ("WOLO_GOOGLE_CLIENT_ID", " wolo.apps.googleusercontent.com "),
        ]))
        .unwrap();
        assert_eq!(c.jwks_url, "http://127.0.0.1:9/certs");
        assert_eq!(
            c.client_id.as_deref(),
            Some("wolo.apps.googleusercontent.com")
        );
        let e = GoogleConfig::from_env(&Env::from_pairs(&[(
            "WOLO_GOOGLE_JWKS_URL",
            "googleapis.com/certs",
        )]))
        .unwrap_err();
        assert!(e.to_string().contains("WOLO_GOOGLE_JWKS_URL"), "{e}");
    }

    #[test]
    fn the_nonce_rule_is_gotrues() {
        let raw = "n-0S6_WzA2Mj";
        let hashed = crate::crypto::sha256_hex(raw);
        assert!(check_nonce(None, None).is_ok());
        assert!(check_nonce(Some(""), Some("")).is_ok());
        assert!(check_nonce(Some(raw), Some(&hashed)).is_ok());
        for (sent, in_token, why) in [
            (Some(raw), Some(raw), "mismatch"),
            (Some(raw), Some(hashed.to_uppercase().as_str()), "mismatch"),
            (Some("other"), Some(hashed.as_str()), "mismatch"),
            (Some(raw), None, "both exist"),
            (Some(raw), Some(""), "both exist"),
            (None, Some(hashed.as_str()), "both exist"),
            (Some(""), Some(hashed.as_str()), "both exist"),
        ] {
            let e = check_nonce(sent, in_token).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (400, "invalid_id_token")
            );
            assert!(
                e.details.as_deref().unwrap().contains(why),
                "{sent:?} {in_token:?}: {e:?}"
            );
        }
    }
}
