//! Axum extractors for custom endpoints: who is calling, and what they sent.
//!
//! - [`Anyone`]: the caller, signed in or anonymous (a bad token is still a 401);
//! - [`User`], [`Partner`], [`Admin`]: a signed-in caller of that role (401 when anonymous,
//!   403 `42501` when the role is wrong);
//! - [`Json`]: the body as `T`; bad JSON, a wrong type, a missing field and an unknown field
//!   (with `#[serde(deny_unknown_fields)]` on `T`) are a 400 `PGRST102` naming the field.
//!
//! The state must give the token verifier (`impl FromRef<AppState> for auth::Jwt`).
//!
//! ```no_run
//! use axum::{extract::{FromRef, State}, routing::post, Router};
//! use rest::extract::{Json, User};
//!
//! #[derive(Clone)]
//! struct AppState { jwt: auth::Jwt }
//! impl FromRef<AppState> for auth::Jwt {
//!     fn from_ref(s: &AppState) -> auth::Jwt { s.jwt.clone() }
//! }
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Close { reason: Option<String> }
//!
//! async fn close(user: User, Json(req): Json<Close>) -> String {
//!     format!("{} closes: {:?}", user.id, req.reason)
//! }
//! let _app: Router = Router::new().route("/close", post(close)).with_state(AppState {
//!     jwt: auth::Jwt::new(&[7; 32], None),
//! });
//! ```

use auth::{Caller, Jwt};
use axum::{
    body::Bytes,
    extract::{FromRef, FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The caller, signed in or anonymous.
#[derive(Debug, Clone)]
pub struct Anyone(pub Caller);

/// A signed-in caller (any role); `id` is the account.
#[derive(Debug, Clone)]
pub struct User {
    pub caller: Caller,
    pub id: Uuid,
}

/// A partner venue's staff member (or an admin).
#[derive(Debug, Clone)]
pub struct Partner {
    pub caller: Caller,
    pub id: Uuid,
}

/// An admin.
#[derive(Debug, Clone)]
pub struct Admin {
    pub caller: Caller,
    pub id: Uuid,
}

fn caller<S>(parts: &Parts, state: &S) -> ApiResult<Caller>
where
    Jwt: FromRef<S>,
{
    crate::api::authenticate(&Jwt::from_ref(state), &parts.headers)
}

impl<S> FromRequestParts<S> for Anyone
where
    Jwt: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        caller(parts, state).map(Anyone)
    }
}

/// A signed-in caller's extractor: authenticated, then `$require` (401 anonymous, 403 role).
macro_rules! signed_in {
    ($($who:ident: $require:path,)*) => {$(
        impl<S> FromRequestParts<S> for $who
        where
            Jwt: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
                let caller = caller(parts, state)?;
                let id = $require(&caller)?;
                Ok($who { caller, id })
            }
        }
    )*};
}

signed_in! {
    User: crate::api::require_user,
    Partner: crate::api::require_partner,
    Admin: crate::api::require_admin,
}

/// The JSON body as `T`. An empty body reads as `{}` (every field absent), so a body whose
/// fields are all optional may be left out.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "PGRST102",
                "Corps de la requête illisible (unreadable request body)",
            )
            .details(e.body_text())
        })?;
        parse(&bytes).map(Json)
    }
}

/// `bytes` as `T`, with the errors of [`Json`] (for a body that must be read raw first, such
/// as a signed webhook).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(body_error)?;
    Ok(value)
}

/// 400 `PGRST102` naming the field of `err` (or saying the JSON itself is malformed).
fn body_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::bad_request("PGRST102", "Corps JSON invalide (invalid JSON body)")
            .details(inner.to_string());
    }
    // serde's message without its " at line 1 column 84".
    let reason = inner.to_string();
    let reason = match reason.rfind(" at line ") {
        Some(i) => reason[..i].to_string(),
        None => reason,
    };
    // The path of an unknown field ends with the field itself; that of a missing field is
    // the object that lacks it.
    let within = |field: &str| {
        if path == "." || path.is_empty() {
            field.to_string()
        } else if path == field || path.ends_with(&format!(".{field}")) {
            path.clone()
        } else {
            format!("{path}.{field}")
        }
    };
    if let Some(name) = quoted_after(&reason, "unknown field `") {
        let field = within(&name);
        let accepted = reason
            .split_once("expected one of ")
            .map(|(_, list)| list.replace('`', ""))
            .or_else(|| {
                reason
                    .split_once("expected `")
                    .map(|(_, f)| f.replace('`', ""))
            });
        return unknown_field(&field, accepted.as_deref()).details(reason.clone());
    }
    if let Some(name) = quoted_after(&reason, "missing field `") {
        let field = within(&name);
        return ApiError::bad_request(
            "PGRST102",
            format!("Champ manquant « {field} » (missing field {field})"),
        )
        .details(reason);
    }
    ApiError::bad_request(
        "PGRST102",
        format!("Champ « {path} » invalide (invalid value at {path})"),
    )
    .details(reason)
}

/// 400 `PGRST102` for the unknown field `field`, with the accepted ones (`"a, b"`) as a hint:
/// what [`Json`] answers, for a handler that reads a body of several shapes itself.
pub fn unknown_field(field: &str, accepted: Option<&str>) -> ApiError {
    let e = ApiError::bad_request(
        "PGRST102",
        format!("Champ inconnu « {field} » (unknown field {field})"),
    );
    match accepted.filter(|l| !l.is_empty()) {
        Some(list) => e.hint(format!(
            "Champs acceptés : {list} (accepted fields: {list})"
        )),
        None => e,
    }
}

fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let rest = text.split_once(prefix)?.1;
    Some(rest.split('`').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Checkout {
        #[allow(dead_code)]
        pot_id: Uuid,
        #[allow(dead_code)]
        amount_cfa: i32,
        #[serde(default)]
        #[allow(dead_code)]
        message: Option<String>,
        #[serde(default)]
        #[allow(dead_code)]
        recipient: Option<Recipient>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Recipient {
        #[allow(dead_code)]
        phone: String,
    }

    const POT: &str = "6f1c1c3e-7f43-4f3e-9a53-6d1d6c0b8a11";

    #[test]
    fn an_unknown_field_is_named_with_the_accepted_ones() {
        let body = format!(r#"{{"pot_id":"{POT}","amount_cfa":500,"donation_message":"Joyeux"}}"#);
        let e = parse::<Checkout>(body.as_bytes()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "PGRST102");
        assert!(e.message.contains("donation_message"), "{}", e.message);
        assert!(
            e.hint.as_deref().unwrap().contains("message"),
            "{:?}",
            e.hint
        );
    }

    #[test]
    fn a_wrong_type_and_a_missing_field_are_named_with_their_path() {
        let body = format!(r#"{{"pot_id":"{POT}","amount_cfa":"cinq cents"}}"#);
        let e = parse::<Checkout>(body.as_bytes()).unwrap_err();
        assert_eq!(
            e.message,
            "Champ « amount_cfa » invalide (invalid value at amount_cfa)"
        );
        let e = parse::<Checkout>(br#"{"amount_cfa":500}"#).unwrap_err();
        assert_eq!(
            e.message,
            "Champ manquant « pot_id » (missing field pot_id)"
        );
        let body = format!(
            r#"{{"pot_id":"{POT}","amount_cfa":5,"recipient":{{"phone":"+221","fax":1}}}}"#
        );
        let e = parse::<Checkout>(body.as_bytes()).unwrap_err();
        assert_eq!(
            e.message,
            "Champ inconnu « recipient.fax » (unknown field recipient.fax)"
        );
        let body = format!(r#"{{"pot_id":"{POT}","amount_cfa":5,"recipient":{{}}}}"#);
        let e = parse::<Checkout>(body.as_bytes()).unwrap_err();
        assert_eq!(
            e.message,
            "Champ manquant « recipient.phone » (missing field recipient.phone)"
        );
    }

    #[test]
    fn malformed_json_and_an_empty_body_are_told_apart() {
        let e = parse::<Checkout>(b"{\"pot_id\":").unwrap_err();
        assert_eq!(e.code, "PGRST102");
        assert!(e.message.contains("invalid JSON"), "{}", e.message);
        // An empty body is `{}`: here the first required field is missing.
        let e = parse::<Checkout>(b"").unwrap_err();
        assert!(e.message.contains("pot_id"), "{}", e.message);
    }
}
