//! Sign-in with an SMS code: `POST /otp {phone}` sends a six-digit code (limits:
//! `crate::throttle::check_otp`), `POST /verify {phone, token, type: sms}` exchanges it for a
//! session ([`verify_sms`], through `crate::verify`), creating the account on first sign-in.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use rest::{
    extract,
    input::{db, normalise_phone},
    ApiError, ApiResult,
};

use crate::{
    claims, crypto,
    messages::{send_sms_code, OTP_MINUTES},
    session::{banned, lock, otp_invalid, sign_in, Client},
    verify_request::VerifyRequest,
    AppState,
};

/// Wrong tries before a code is dead.
pub const OTP_MAX_ATTEMPTS: i32 = 5;

/// The body of `POST /otp`: GoTrue's `OtpParams` (and the captcha field every auth-js call
/// carries). Only `phone` is used: e-mail codes, `create_user: false`, PKCE and other
/// channels are not offered, and their fields are accepted and ignored as GoTrue's
/// parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OtpRequest {
    phone: Option<String>,
    email: Option<String>,
    create_user: Option<bool>,
    data: Option<Value>,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<Value>,
}

/// `POST /otp {phone}`: stores the SHA-256 of a fresh code (10 min) and publishes the SMS
/// in the same transaction; `200 {}`.
#[tracing::instrument(skip_all)]
pub async fn post_otp(
    State(state): State<AppState>,
    client: Client,
    extract::Json(req): extract::Json<OtpRequest>,
) -> Result<Response, ApiError> {
    let phone = normalise_phone(req.phone.as_deref().unwrap_or(""))?;
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &phone).await?;
    crate::throttle::check_otp(&mut tx, &state.limits, &phone, &client).await?;
    let code = crypto::otp_code();
    sqlx::query(
        "insert into identity.otp_codes (phone, code_hash, expires_at, ip)
         values ($1, $2, now() + make_interval(mins => $3), $4::inet)",
    )
    .bind(&phone)
    .bind(crypto::sha256_hex(&code))
    .bind(OTP_MINUTES)
    .bind(&client.ip)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    send_sms_code(&mut tx, None, &phone, &code).await?;
    tx.commit().await.map_err(db)?;
    Ok(Json(json!({})).into_response())
}

/// `/verify {type: sms, phone, token}`: the latest code of the phone (5 tries, 10 min), then
/// a session for the phone's account (created on first sign-in).
pub(crate) async fn verify_sms(
    state: AppState,
    client: Client,
    req: VerifyRequest,
) -> ApiResult<Response> {
    let phone = normalise_phone(req.phone.as_deref().unwrap_or(""))?;
    let token = req.token.unwrap_or_default();
    let token = token.trim();
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &phone).await?;
    let row = sqlx::query(
        "select id, code_hash, attempts, (consumed_at is null and expires_at > now()) as live
         from identity.otp_codes where phone = $1 order by created_at desc, id limit 1",
    )
    .bind(&phone)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(otp_invalid());
    };
    let id: Uuid = row.get("id");
    let attempts: i32 = row.get("attempts");
    let live: bool = row.get("live");
    if !live || attempts >= OTP_MAX_ATTEMPTS {
        return Err(otp_invalid());
    }
    let hash: String = row.get("code_hash");
    if crypto::sha256_hex(token) != hash {
        sqlx::query("update identity.otp_codes set attempts = attempts + 1 where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        return Err(otp_invalid());
    }
    sqlx::query("update identity.otp_codes set consumed_at = now() where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let existing = sqlx::query(
        "select id, coalesce(is_active, true) as active from identity.users where phone = $1",
    )
    .bind(&phone)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let user_id = match existing {
        Some(r) => {
            if !r.get::<bool, _>("active") {
                // The code is spent either way.
                tx.commit().await.map_err(db)?;
                return Err(banned());
            }
            r.get("id")
        }
        None => sqlx::query_scalar(
            "insert into identity.users (phone, auth_provider) values ($1, 'phone') returning id",
        )
        .bind(&phone)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?,
    };
    sign_in(&state, tx, user_id, &client, claims::Method::Otp).await
}

#[cfg(test)]
mod tests {
    use rest::input::{normalise_email, normalise_phone};

    #[test]
    fn senegalese_numbers_are_normalised_to_e164() {
        assert_eq!(normalise_phone("77 123 45 67").unwrap(), "+221771234567");
        assert_eq!(
            normalise_phone("+221 77 123 45 67").unwrap(),
            "+221771234567"
        );
        assert_eq!(normalise_phone("00221771234567").unwrap(), "+221771234567");
        assert_eq!(
            normalise_phone("+33 6 12 34 56 78").unwrap(),
            "+33612345678"
        );
        assert!(normalise_phone("12").is_err());
        assert!(normalise_phone("abc").is_err());
        assert!(normalise_phone("").is_err());
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            normalise_email(" Awa@Example.SN ").unwrap(),
            "awa@example.sn"
        );
        assert!(normalise_email("awa@example").is_err());
        assert!(normalise_email("@example.sn").is_err());
        assert!(normalise_email("a b@example.sn").is_err());
    }
}
