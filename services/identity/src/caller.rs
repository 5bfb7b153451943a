//! Who calls identity's own routes, as GoTrue answers it (`crate::claims::authenticate`: a
//! header that is not `Bearer <token>` is 401 `no_authorization`, a token that does not
//! verify 403 `bad_jwt`). The same pieces as `rest::extract`, with GoTrue's errors:
//!
//! - [`SignedIn`]: a signed-in user (401 `no_authorization` when anonymous), with the
//!   `session_id` of the sign-in the token belongs to;
//! - [`SignedInAdmin`]: an admin (403 `not_admin` otherwise).

use auth::Jwt;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{request::Parts, StatusCode},
};
use serde_json::Value;
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::claims;

/// A signed-in caller of any role.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub caller: auth::Caller,
    /// The account.
    pub user: Uuid,
    /// The sign-in (`session_id` claim) the token was issued for, when it says.
    pub session: Option<Uuid>,
    /// Whether the token is an admin's.
    pub admin: bool,
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct SignedInAdmin {
    pub caller: auth::Caller,
    /// The admin's account.
    pub id: Uuid,
}

fn no_authorization() -> ApiError {
    ApiError::unauthorized(
        "no_authorization",
        "Jeton d'accès requis (access token required)",
    )
}

fn signed_in(parts: &Parts, jwt: &Jwt) -> ApiResult<SignedIn> {
    let caller = claims::authenticate(jwt, &parts.headers)?;
    let user = caller.user_id.ok_or_else(no_authorization)?;
    let session = caller
        .claims
        .get("session_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    let admin = caller.role == auth::Role::Admin;
    Ok(SignedIn {
        caller,
        user,
        session,
        admin,
    })
}

impl<S> FromRequestParts<S> for SignedIn
where
    Jwt: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        signed_in(parts, &Jwt::from_ref(state))
    }
}

impl<S> FromRequestParts<S> for SignedInAdmin
where
    Jwt: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let who = signed_in(parts, &Jwt::from_ref(state))?;
        if !who.admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_admin",
                "Réservé aux administrateurs (admin only)",
            ));
        }
        Ok(SignedInAdmin {
            caller: who.caller,
            id: who.user,
        })
    }
}
