//! What identity's access tokens say, as GoTrue's do (`AccessTokenClaims` of
//! supabase/auth): beside `sub`, `role`, `exp`, `iat` and `aud` (set by [`auth::Jwt`]),
//! `email`, `phone`, `app_metadata`, `user_metadata`, `is_anonymous` (copied from the user
//! object `GET /user` answers), `session_id` (the sign-in), `aal` and `amr` (how the
//! sign-in was made: one [`Amr`] entry, recorded on the session row at sign-in and carried
//! along every refresh, so a refreshed token still says how its sign-in was made).
//!
//! Also how identity's own routes answer a token that does not verify: GoTrue's `bad_jwt`.

use axum::http::{header, HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use rest::input::db;

/// How a sign-in was made: GoTrue's `AuthenticationMethod` names, as they appear in `amr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `grant_type=password`.
    Password,
    /// A code: `/verify` type `sms`, and the e-mailed codes (`signup`, `email_change`, `phone_change`), as GoTrue.
    Otp,
    /// A Google ID token (`grant_type=id_token`).
    OAuth,
    /// A password reset link (`/verify` type `recovery`).
    Recovery,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Otp => "otp",
            Method::OAuth => "oauth",
            Method::Recovery => "recovery",
        }
    }
}

/// One entry of the `amr` claim: the method and when it was used (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amr {
    pub method: String,
    pub timestamp: i64,
}

/// The authenticator assurance level: always `aal1` (no second factor exists yet).
pub const AAL: &str = "aal1";

/// The claims added to `sub`/`role`/`exp`/`iat`/`aud` for the user object `user` (as
/// `GET /user` answers it: its `email`, `phone`, `app_metadata`, `user_metadata` and
/// `is_anonymous` are copied, so the token says what the user object says), the sign-in
/// `session_id` and its `amr`. As GoTrue: `email` and `phone` are `""` when absent, `amr`
/// is left out when empty (a sign-in made before amr was recorded).
pub fn access_claims(user: &Value, session_id: Uuid, amr: &[Amr]) -> Map<String, Value> {
    let text = |k: &str| Value::String(user[k].as_str().unwrap_or_default().to_string());
    let object = |k: &str| match &user[k] {
        Value::Object(o) => Value::Object(o.clone()),
        _ => Value::Object(Map::new()),
    };
    let mut claims = Map::new();
    claims.insert("email".into(), text("email"));
    claims.insert("phone".into(), text("phone"));
    claims.insert("app_metadata".into(), object("app_metadata"));
    claims.insert("user_metadata".into(), object("user_metadata"));
    claims.insert("aal".into(), AAL.into());
    if !amr.is_empty() {
        claims.insert(
            "amr".into(),
            serde_json::to_value(amr).expect("amr serialises"),
        );
    }
    claims.insert("session_id".into(), session_id.to_string().into());
    claims.insert(
        "is_anonymous".into(),
        user["is_anonymous"].as_bool().unwrap_or(false).into(),
    );
    claims
}

fn parse_amr(value: Option<Value>) -> Vec<Amr> {
    value
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Records how the sign-in `chain` (its first session row) was made, now (the database's
/// clock), and returns its `amr`.
pub async fn record_sign_in(
    conn: &mut PgConnection,
    chain: Uuid,
    method: Method,
) -> ApiResult<Vec<Amr>> {
    let amr: Option<Value> = sqlx::query_scalar(
        "update identity.user_sessions
         set amr = jsonb_build_array(jsonb_build_object(
                 'method', $2::text, 'timestamp', floor(extract(epoch from now()))::bigint))
         where id = $1 returning amr",
    )
    .bind(chain)
    .bind(method.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(parse_amr(amr))
}

/// Copies the `amr` of the rotated session row `rotated` onto its successor (a refresh keeps
/// how the sign-in was made, as GoTrue) and returns it.
pub async fn carry_amr(conn: &mut PgConnection, rotated: Uuid) -> ApiResult<Vec<Amr>> {
    let amr: Option<Value> = sqlx::query_scalar(
        "update identity.user_sessions n set amr = o.amr
         from identity.user_sessions o
         where o.id = $1 and n.parent_session_id = o.id
         returning n.amr",
    )
    .bind(rotated)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(parse_amr(amr))
}

/// The caller of one of identity's own routes: anonymous without `Authorization`, else a
/// verified token. As GoTrue: a header that is not `Bearer <token>` is 401
/// `no_authorization`, a token that does not verify (signature, expiry, `nbf`, role) 403
/// `bad_jwt`, and one whose `sub` is not a UUID 400 `bad_jwt` (the REST layer answers
/// these 401 `PGRST301`/`PGRST303`, as PostgREST).
pub fn authenticate(jwt: &auth::Jwt, headers: &HeaderMap) -> ApiResult<auth::Caller> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(auth::Caller::anonymous());
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "no_authorization",
                "Jeton d'accès requis (this endpoint requires a valid Bearer token)",
            )
        })?;
    jwt.verify(token).map_err(bad_jwt)
}

/// GoTrue's answer to a token that does not verify.
pub fn bad_jwt(e: auth::AuthError) -> ApiError {
    let status = match e {
        auth::AuthError::BadSubject => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    ApiError::new(
        status,
        "bad_jwt",
        format!("Jeton d'accès invalide (invalid JWT: {e})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_copy_the_user_object() {
        let session = Uuid::new_v4();
        let user = json!({
            "id": Uuid::new_v4(), "phone": "+221771234567", "email": null,
            "app_metadata": {"provider": "phone", "providers": ["phone"], "roles": ["user"]},
            "user_metadata": {"full_name": "Awa"},
        });
        let amr = [Amr {
            method: Method::Otp.as_str().into(),
            timestamp: 1_767_225_600,
        }];
        let c = Value::Object(access_claims(&user, session, &amr));
        assert_eq!(
            c,
            json!({
                "email": "", "phone": "+221771234567",
                "app_metadata": {"provider": "phone", "providers": ["phone"], "roles": ["user"]},
                "user_metadata": {"full_name": "Awa"},
                "aal": "aal1",
                "amr": [{"method": "otp", "timestamp": 1_767_225_600}],
                "session_id": session.to_string(),
                "is_anonymous": false,
            })
        );
        // No amr recorded: left out; no metadata: empty objects.
        let c = access_claims(&json!({"email": "a@b.sn"}), session, &[]);
        assert!(!c.contains_key("amr"));
        assert_eq!(c["user_metadata"], json!({}));
        assert_eq!(c["app_metadata"], json!({}));
        assert_eq!(c["email"], "a@b.sn");
    }

    #[test]
    fn methods_have_gotrue_names() {
        let names: Vec<_> = [
            Method::Password,
            Method::Otp,
            Method::OAuth,
            Method::Recovery,
        ]
        .map(Method::as_str)
        .into();
        assert_eq!(names, ["password", "otp", "oauth", "recovery"]);
    }

    #[test]
    fn bad_tokens_are_gotrue_bad_jwt() {
        let e = bad_jwt(auth::AuthError::NotYetValid);
        assert_eq!((e.status.as_u16(), e.code.as_str()), (403, "bad_jwt"));
        let e = bad_jwt(auth::AuthError::BadSubject);
        assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "bad_jwt"));
    }
}
