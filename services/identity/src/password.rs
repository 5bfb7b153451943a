//! Sign-in with a password: `POST /token?grant_type=password {email | phone, password}`
//! (throttled, `crate::throttle::admit_password`), and the password policy every new
//! password is checked against (sign-up, `PUT /user`).

use axum::{http::StatusCode, response::Response};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use rest::{
    input::{db, normalise_phone, validation},
    ApiError, ApiResult,
};

use crate::{
    claims, crypto,
    session::{banned, invalid_credentials, sign_in, Client},
    AppState,
};

/// The body of `grant_type=password`: GoTrue's `PasswordGrantParams` (and the captcha field
/// of auth-js, accepted and unused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    #[allow(dead_code)]
    gotrue_meta_security: Option<Value>,
}

/// `grant_type=password`: the account by e-mail or phone, its password checked (a missing
/// account costs the same hashing), then a session.
pub(crate) async fn password_grant(
    state: AppState,
    client: Client,
    req: PasswordRequest,
) -> ApiResult<Response> {
    let password = req.password.unwrap_or_default();
    let (column, value) = match (req.email.as_deref(), req.phone.as_deref()) {
        (Some(e), _) if !e.trim().is_empty() => ("email", e.trim().to_lowercase()),
        (_, Some(p)) if !p.trim().is_empty() => match normalise_phone(p) {
            Ok(p) => ("phone", p),
            Err(_) => ("phone", String::new()),
        },
        _ => {
            return Err(validation(
                "email ou phone requis (email or phone required)",
            ))
        }
    };
    // Throttled before any work (crate::throttle); every failure is logged, no password.
    let attempt = crate::throttle::admit_password(&state, &value, &client).await?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(&format!(
        "select id, coalesce(is_active, true) as active, password_hash,
                email_confirmed_at is not null or $2 <> 'email' as confirmed
         from identity.users where {column} = $1"
    ))
    .bind(&value)
    .bind(column)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let (user_id, active, phc, confirmed): (Option<Uuid>, bool, Option<String>, bool) = match &row {
        Some(r) => (
            Some(r.get("id")),
            r.get("active"),
            r.get("password_hash"),
            r.get("confirmed"),
        ),
        None => (None, false, None, false),
    };
    let has_password = phc.is_some();
    let ok =
        tokio::task::spawn_blocking(move || crypto::verify_password(&password, phc.as_deref()))
            .await
            .unwrap_or(false);
    let (true, Some(user_id)) = (ok, user_id) else {
        drop(tx);
        let reason = match (user_id, has_password) {
            (None, _) => "unknown account",
            (Some(_), false) => "no password",
            (Some(_), true) => "wrong password",
        };
        attempt.failed(&state, reason).await;
        return Err(invalid_credentials());
    };
    if !active {
        drop(tx);
        attempt.refused(&state, "deactivated account").await;
        return Err(banned());
    }
    if !confirmed {
        drop(tx);
        attempt.refused(&state, "e-mail not confirmed").await;
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "email_not_confirmed",
            "Adresse e-mail non confirmée : saisissez le code reçu (email not confirmed)",
        ));
    }
    let res = sign_in(&state, tx, user_id, &client, claims::Method::Password).await;
    if res.is_ok() {
        attempt.succeeded(&state).await;
    }
    res
}

/// The password policy (`crate::password_policy`): 422 `weak_password` with its reasons.
pub(crate) fn check_password(state: &AppState, password: &str) -> ApiResult<()> {
    state.passwords.check(password).map_err(ApiError::from)
}
