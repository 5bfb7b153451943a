//! Access tokens as the REST layer and every custom endpoint see them.
//!
//! Tokens are HS256 JWTs signed with `WOLO_JWT_SECRET` (verified with the `jsonwebtoken`
//! crate; `alg: none` and every other algorithm are refused). Claims: `sub` (user id),
//! `role` (one of [`Role`]), `exp`, optionally `aud`. No token at all means [`Role::Anon`].

use std::fmt;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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

    /// Verifies `token`: signature (HS256 only), expiry (no leeway), audience when configured,
    /// and a role among the API roles.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = decode::<Value>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            }
        })?;
        let claims = data.claims;
        let role = match claims.get("role").and_then(Value::as_str) {
            None => Role::Anon,
            Some(r) => Role::parse(r).ok_or_else(|| AuthError::RoleNotAllowed(r.to_string()))?,
        };
        let user_id = claims
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
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
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            exp: now + ttl_seconds,
            aud: self.audience.clone(),
            iat: Some(now),
            session_id,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }
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

    #[test]
    fn user_roles_map_to_api_roles() {
        assert_eq!(Role::for_user_roles(&["user", "super_admin"]), Role::Admin);
        assert_eq!(Role::for_user_roles(&["partner"]), Role::Partner);
        assert_eq!(Role::for_user_roles::<&str>(&[]), Role::User);
    }
}
