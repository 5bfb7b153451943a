//! Password recovery: `POST /recover {email}` e-mails a reset link (throttled,
//! `crate::throttle::admit_recover`); `POST /verify {type: recovery, token_hash | token}`
//! ([`verify_recovery`], through `crate::verify`) consumes it once, ends every sign-in of
//! the user and opens a new one.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use platform::events::{Channel, NotificationRequested};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use rest::{
    extract,
    input::{db, normalise_email},
    ApiError, ApiResult,
};

use crate::{
    claims, crypto,
    messages::{self, LOCALE},
    session::{banned, end_admin_sessions, lock, otp_invalid, sign_in, Client},
    verify_request::VerifyRequest,
    AppState,
};

/// Lifetime of a password reset token, minutes.
pub const RESET_MINUTES: i32 = 60;
/// Minimum delay between two reset e-mails to one user, seconds (later requests are
/// answered 200 but send nothing).
pub const RESET_RESEND_SECONDS: i64 = 60;

/// The body of `POST /recover`: GoTrue's `RecoverParams` (and the captcha field of
/// auth-js); the PKCE fields are accepted and unused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RecoverRequest {
    email: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<Value>,
}

/// `POST /recover {email}`: always `200 {}` for a well-formed address. For an existing active
/// user, stores the SHA-256 of a fresh token (1 h) and publishes the `password_reset` e-mail
/// in the same transaction.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn post_recover(
    State(state): State<AppState>,
    client: Client,
    extract::Json(req): extract::Json<RecoverRequest>,
) -> Result<Response, ApiError> {
    let email = normalise_email(req.email.as_deref().unwrap_or(""))?;
    crate::throttle::admit_recover(&state, &email, &client).await?;
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &format!("recover:{email}")).await?;
    let row = sqlx::query(
        "select u.id,
                exists (select 1 from identity.password_reset_tokens t
                        where t.user_id = u.id
                          and t.created_at > now() - make_interval(secs => $2)) as recent
         from identity.users u
         where u.email = $1 and coalesce(u.is_active, true)",
    )
    .bind(&email)
    .bind(RESET_RESEND_SECONDS as f64)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Ok(Json(json!({})).into_response());
    };
    if row.get::<bool, _>("recent") {
        return Ok(Json(json!({})).into_response());
    }
    let user_id: Uuid = row.get("id");
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
    // The profile's first name, else the address's local part.
    let first_name = match platform::names::first_name(&mut tx, user_id)
        .await
        .map_err(db)?
    {
        name if name.is_empty() => email.split('@').next().unwrap_or_default().to_string(),
        name => name,
    };
    let token = crypto::refresh_token();
    sqlx::query(
        "insert into identity.password_reset_tokens (user_id, token_hash, expires_at)
         values ($1, $2, now() + make_interval(mins => $3))",
    )
    .bind(user_id)
    .bind(crypto::sha256_hex(&token))
    .bind(RESET_MINUTES)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let reset_url = format!("{}/reset?token={token}", state.public_web_url);
    let message = NotificationRequested::to_email(&email, "password_reset")
        .user(user_id)
        .locale(LOCALE)
        .channels(&[Channel::Email])
        .var("first_name", first_name)
        .var("reset_url", reset_url)
        .var("minutes", RESET_MINUTES);
    messages::publish(&mut tx, message).await?;
    tx.commit().await.map_err(db)?;
    Ok(Json(json!({})).into_response())
}

// ---------------------------------------------------------------- POST /verify (recovery)

/// `{type: "recovery", token_hash | token, email?}`: the value is the token of the reset link
/// (never the stored hash). Consumes it (once), revokes every session of the user and opens
/// a new one.
pub(crate) async fn verify_recovery(
    state: AppState,
    client: Client,
    req: VerifyRequest,
) -> ApiResult<Response> {
    let token = req
        .token_hash
        .or(req.token)
        .unwrap_or_default()
        .trim()
        .to_string();
    if token.is_empty() {
        return Err(otp_invalid());
    }
    let email = match req.email.as_deref() {
        Some(e) if !e.trim().is_empty() => Some(e.trim().to_lowercase()),
        _ => None,
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(
        "update identity.password_reset_tokens t set used_at = now()
         from identity.users u
         where t.token_hash = $1 and t.used_at is null and t.expires_at > now()
           and u.id = t.user_id and ($2::text is null or u.email = $2)
         returning t.id, t.user_id, coalesce(u.is_active, true) as active",
    )
    .bind(crypto::sha256_hex(&token))
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(otp_invalid());
    };
    let id: Uuid = row.get("id");
    let user_id: Uuid = row.get("user_id");
    if !row.get::<bool, _>("active") {
        tx.commit().await.map_err(db)?;
        return Err(banned());
    }
    // Other pending links of the user die with this one.
    sqlx::query(
        "update identity.password_reset_tokens set used_at = now()
         where user_id = $1 and id <> $2 and used_at is null",
    )
    .bind(user_id)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query(
        "update identity.user_sessions set is_revoked = true, revoked_at = now()
         where user_id = $1 and not coalesce(is_revoked, false)",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    end_admin_sessions(&mut tx, user_id, None, "revoked").await?;
    let res = sign_in(&state, tx, user_id, &client, claims::Method::Recovery).await;
    rest::sessions::forget_user(user_id);
    res
}
