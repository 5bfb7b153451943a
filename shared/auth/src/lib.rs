//! Access tokens as the REST layer and every custom endpoint see them.
//!
//! Tokens are HS256 JWTs signed with `WOLO_JWT_SECRET` (verified with the `jsonwebtoken`
//! crate; `alg: none` and every other algorithm are refused). Claims: `sub` (user id, a
//! canonical UUID), `role` (one of [`Role`]), `exp`, optionally `aud` and `nbf`; identity
//! adds GoTrue's (`session_id`, `aal`, `amr`, `app_metadata`, ...) with [`Jwt::issue_with`].
//! No token at all means [`Role::Anon`].

use std::fmt;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The PostgreSQL roles a request may run as; nothing else is ever switched to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "wolo_anon")]
    Anon,
    #[serde(rename = "wolo_user")]
    User,
    #[serde(rename = "wolo_partner")]
    Partner,
    #[serde(rename = "wolo_admin")]
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Anon, Role::User, Role::Partner, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anon => "wolo_anon",
            Role::User => "wolo_user",
            Role::Partner => "wolo_partner",
            Role::Admin => "wolo_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role for a user's `identity.users.roles`: admin/super_admin -> admin,
    /// partner -> partner, anything else -> user.
    pub fn for_user_roles<S: AsRef<str>>(roles: &[S]) -> Role {
        let has = |r: &str| roles.iter().any(|x| x.as_ref() == r);
        if has("admin") || has("super_admin") {
            Role::Admin
        } else if has("partner") {
            Role::Partner
        } else {
            Role::User
        }
    }

    /// Server-side cap on one statement for this role, in milliseconds.
    pub fn statement_timeout_ms(self) -> u64 {
        match self {
            Role::Anon => 3_000,
            Role::User | Role::Partner => 8_000,
            Role::Admin => 30_000,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling, after verification.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub role: Role,
    pub user_id: Option<Uuid>,
    /// Every claim of the token (`{}` for anonymous callers), as set in `request.jwt.claims`.
    pub claims: Value,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            role: Role::Anon,
            user_id: None,
            claims: Value::Object(Default::default()),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("JWT expired")]
    Expired,
    /// `nbf` is still in the future.
    #[error("JWT not yet valid")]
    NotYetValid,
    /// `sub` is present but not a canonical (lower-case, hyphenated) UUID.
    #[error("JWT sub claim must be a UUID")]
    BadSubject,
    #[error("JWT invalid: {0}")]
    Invalid(String),
    #[error("JWT role {0:?} is not allowed")]
    RoleNotAllowed(String),
}

/// Claims we issue and expect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// Verifies and issues tokens with one HS256 key.
#[derive(Clone)]
pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    audience: Option<String>,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Jwt {
    pub fn new(secret: &[u8], audience: Option<String>) -> Jwt {
        Jwt {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            audience,
        }
    }

    /// Verifies `token`: signature (HS256 only), expiry and `nbf` (no leeway), audience when
    /// configured, a role among the API roles, and a `sub`, when present, that is a canonical
    /// UUID (lower-case and hyphenated, as [`Uuid`]'s `Display` writes it: not upper-case,
    /// braced, `urn:uuid:` or without hyphens, which `Uuid::parse_str` would accept).
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = decode::<Value>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                // A reason a person can act on, not the parser's own words.
                ErrorKind::InvalidToken => {
                    AuthError::Invalid("not a JWT (three base64url parts)".into())
                }
                ErrorKind::InvalidSignature => AuthError::Invalid(
                    "signature does not match: not a token of this service".into(),
                ),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::Invalid("not signed with HS256".into())
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    AuthError::Invalid(format!("{c} claim missing"))
                }
                ErrorKind::InvalidAudience => {
                    AuthError::Invalid("issued for another audience".into())
                }
                ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    AuthError::Invalid("its parts cannot be read (base64url JSON)".into())
                }
                _ => AuthError::Invalid("it cannot be verified".into()),
            }
        })?;
        let claims = data.claims;
        // The crate skips an `nbf` it cannot read as a number; such a token is not trusted.
        if claims.get("nbf").is_some_and(|n| !n.is_number()) {
            return Err(AuthError::Invalid("nbf claim must be a number".into()));
        }
        let role = match claims.get("role").and_then(Value::as_str) {
            None => Role::Anon,
            Some(r) => Role::parse(r).ok_or_else(|| AuthError::RoleNotAllowed(r.to_string()))?,
        };
        let user_id = match claims.get("sub") {
            None => None,
            Some(sub) => Some(canonical_uuid(sub).ok_or(AuthError::BadSubject)?),
        };
        Ok(Caller {
            role,
            user_id,
            claims,
        })
    }

    /// Issues a token for `user_id` as `role`, valid `ttl_seconds` from now.
    pub fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        ttl_seconds: i64,
        session_id: Option<String>,
    ) -> String {
        let mut extra = Map::new();
        if let Some(session_id) = session_id {
            extra.insert("session_id".into(), Value::String(session_id));
        }
        self.issue_with(user_id, role, ttl_seconds, extra)
    }

    /// [`Jwt::issue`] with more claims (GoTrue's `session_id`, `aal`, `amr`, `email`,
    /// `app_metadata`...). `sub`, `role`, `exp`, `iat` and `aud` are always this issuer's:
    /// the same keys in `extra` are ignored.
    pub fn issue_with(
        &self,
        user_id: Uuid,
        role: Role,
        ttl_seconds: i64,
        extra: Map<String, Value>,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            exp: now + ttl_seconds,
            aud: self.audience.clone(),
            iat: Some(now),
            session_id: None,
        };
        let Value::Object(mut all) = serde_json::to_value(&claims).expect("claims serialise")
        else {
            unreachable!("claims serialise to an object")
        };
        for (k, v) in extra {
            if !matches!(k.as_str(), "sub" | "role" | "exp" | "iat" | "aud") {
                all.insert(k, v);
            }
        }
        encode(&Header::new(Algorithm::HS256), &all, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }
}

/// `value` as a UUID when it is a string in canonical form (`Uuid`'s `Display`).
fn canonical_uuid(value: &Value) -> Option<Uuid> {
    let s = value.as_str()?;
    let id = Uuid::parse_str(s).ok()?;
    (id.hyphenated().to_string() == s).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn an_issued_token_verifies_with_its_role_and_subject() {
        let jwt = Jwt::new(SECRET, None);
        let id = Uuid::new_v4();
        let caller = jwt.verify(&jwt.issue(id, Role::Partner, 60, None)).unwrap();
        assert_eq!(caller.role, Role::Partner);
        assert_eq!(caller.user_id, Some(id));
    }

    #[test]
    fn expired_forged_and_unsigned_tokens_are_refused() {
        let jwt = Jwt::new(SECRET, None);
        let id = Uuid::new_v4();
        assert_eq!(
            jwt.verify(&jwt.issue(id, Role::User, -5, None)),
            Err(AuthError::Expired)
        );
        let other = Jwt::new(b"another-secret-another-secret-0000", None);
        assert!(matches!(
            jwt.verify(&other.issue(id, Role::Admin, 60, None)),
            Err(AuthError::Invalid(_))
        ));
        // alg: none, role admin, no signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6IndvbG9fYWRtaW4iLCJleHAiOjk5OTk5OTk5OTl9.";
        assert!(matches!(jwt.verify(none), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn a_role_outside_the_api_roles_is_refused() {
        let jwt = Jwt::new(SECRET, None);
        let claims = serde_json::json!({"sub": "x", "role": "postgres", "exp": chrono::Utc::now().timestamp() + 60});
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            jwt.verify(&token),
            Err(AuthError::RoleNotAllowed("postgres".into()))
        );
    }

    #[test]
    fn the_audience_is_checked_when_configured() {
        let issuer = Jwt::new(SECRET, Some("wolo-web".into()));
        let strict = Jwt::new(SECRET, Some("other".into()));
        let token = issuer.issue(Uuid::new_v4(), Role::User, 60, None);
        assert!(issuer.verify(&token).is_ok());
        assert!(strict.verify(&token).is_err());
    }

    fn signed(claims: &Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn a_token_is_refused_until_its_nbf() {
        let jwt = Jwt::new(SECRET, None);
        let now = chrono::Utc::now().timestamp();
        let sub = Uuid::new_v4().to_string();
        let with_nbf = |nbf: Value| {
            signed(
                &serde_json::json!({"sub": sub, "role": "wolo_user", "exp": now + 600, "nbf": nbf}),
            )
        };
        // No leeway, as for exp: one second ahead is already refused.
        for ahead in [2, 60, 3600] {
            assert_eq!(
                jwt.verify(&with_nbf((now + ahead).into())),
                Err(AuthError::NotYetValid),
                "nbf now + {ahead}"
            );
        }
        for past in [0, 1, 3600] {
            let caller = jwt.verify(&with_nbf((now - past).into())).unwrap();
            assert_eq!(caller.user_id.unwrap().to_string(), sub);
        }
        // Fractional seconds are numbers too.
        assert!(jwt.verify(&with_nbf((now as f64 - 0.5).into())).is_ok());
        // The crate would skip an nbf it cannot read; we refuse it.
        for unreadable in [
            Value::from((now + 3600).to_string()),
            Value::from("soon"),
            Value::Null,
            serde_json::json!([now]),
        ] {
            assert!(
                matches!(
                    jwt.verify(&with_nbf(unreadable.clone())),
                    Err(AuthError::Invalid(_))
                ),
                "nbf {unreadable}"
            );
        }
    }

    #[test]
    fn sub_must_be_a_canonical_uuid() {
        let jwt = Jwt::new(SECRET, None);
        let exp = chrono::Utc::now().timestamp() + 600;
        let id = Uuid::parse_str("6f1c2a9e-0b3d-4c5e-8f70-123456789abc").unwrap();
        let with_sub =
            |sub: Value| signed(&serde_json::json!({"sub": sub, "role": "wolo_user", "exp": exp}));
        let caller = jwt.verify(&with_sub(id.to_string().into())).unwrap();
        assert_eq!(caller.user_id, Some(id));
        for bad in [
            Value::from("6F1C2A9E-0B3D-4C5E-8F70-123456789ABC"),
            Value::from("6f1c2a9e-0b3d-4c5e-8f70-123456789ABC"),
            Value::from("{6f1c2a9e-0b3d-4c5e-8f70-123456789abc}"),
            Value::from("urn:uuid:6f1c2a9e-0b3d-4c5e-8f70-123456789abc"),
            Value::from("6f1c2a9e0b3d4c5e8f70123456789abc"),
            Value::from(" 6f1c2a9e-0b3d-4c5e-8f70-123456789abc"),
            Value::from("x"),
            Value::from(""),
            Value::from(42),
            Value::Null,
        ] {
            // Uuid::parse_str alone would take the first five as `id`.
            assert_eq!(
                jwt.verify(&with_sub(bad.clone())),
                Err(AuthError::BadSubject),
                "sub {bad}"
            );
        }
        // The crate's own claim parsing already refuses a list.
        assert!(matches!(
            jwt.verify(&with_sub(serde_json::json!([id.to_string()]))),
            Err(AuthError::Invalid(_))
        ));
        // No sub at all (an anon key, a service token) is still accepted, without a user.
        let anon = signed(&serde_json::json!({"role": "wolo_anon", "exp": exp}));
        let caller = jwt.verify(&anon).unwrap();
        assert_eq!((caller.role, caller.user_id), (Role::Anon, None));
    }

    #[test]
    fn issue_with_adds_claims_but_keeps_its_own() {
        let jwt = Jwt::new(SECRET, Some("authenticated".into()));
        let id = Uuid::new_v4();
        let mut extra = Map::new();
        extra.insert("aal".into(), "aal1".into());
        extra.insert(
            "amr".into(),
            serde_json::json!([{"method": "otp", "timestamp": 1}]),
        );
        extra.insert("session_id".into(), "s-1".into());
        // Cannot be overridden through extra.
        extra.insert("sub".into(), Uuid::new_v4().to_string().into());
        extra.insert("role".into(), "wolo_admin".into());
        extra.insert("exp".into(), 9_999_999_999_i64.into());
        extra.insert("aud".into(), "elsewhere".into());
        let caller = jwt
            .verify(&jwt.issue_with(id, Role::User, 60, extra))
            .unwrap();
        assert_eq!(caller.user_id, Some(id));
        assert_eq!(caller.role, Role::User);
        assert_eq!(caller.claims["aud"], "authenticated");
        assert!(caller.claims["exp"].as_i64().unwrap() <= chrono::Utc::now().timestamp() + 60);
        assert_eq!(caller.claims["aal"], "aal1");
        assert_eq!(caller.claims["amr"][0]["method"], "otp");
        assert_eq!(caller.claims["session_id"], "s-1");
        // issue() still puts session_id, and only when given.
        let plain = jwt.verify(&jwt.issue(id, Role::User, 60, None)).unwrap();
        assert!(plain.claims.get("session_id").is_none());
        let with = jwt
            .verify(&jwt.issue(id, Role::User, 60, Some("s-2".into())))
            .unwrap();
        assert_eq!(with.claims["session_id"], "s-2");
    }

    #[test]
    fn user_roles_map_to_api_roles() {
        assert_eq!(Role::for_user_roles(&["user", "super_admin"]), Role::Admin);
        assert_eq!(Role::for_user_roles(&["partner"]), Role::Partner);
        assert_eq!(Role::for_user_roles::<&str>(&[]), Role::User);
    }
}
