//! E-mail accounts, GoTrue's confirmations-on behaviour: `POST /signup` answers a user
//! without a session and e-mails a code (and a link) that `POST /verify {type: signup |
//! email}` ([`verify_signup`], through `crate::verify`) exchanges for one; `POST /resend`
//! sends a pending code again.
//!
//! A pending code is stored as the SHA-256 of the address and the code
//! (`crate::messages::code_hash`): the link carries that hash, a typed code is hashed with
//! the address. Nobody reads the hashes through the REST layer (V109).

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::{
    extract,
    input::{db, normalise_email, validation},
    ApiError, ApiResult,
};

use crate::{
    crypto,
    messages::{code_hash, requested_hash, send_email_code, EMAIL_CODE_HOURS, RESEND_SECONDS},
    password::check_password,
    session::{
        banned, load_user, lock, otp_invalid, sign_in_unless_banned, user_json, Client, UserRow,
    },
    user::{metadata_of, send_change_code, Change},
    verify_request::VerifyRequest,
    AppState,
};

/// The body of `POST /signup`: GoTrue's `SignupParams` (and the captcha field of auth-js).
/// E-mail accounts only: `phone`, `channel` and the PKCE fields are accepted and unused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SignupRequest {
    email: Option<String>,
    password: Option<String>,
    data: Option<Value>,
    phone: Option<String>,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<Value>,
}

/// `POST /signup {email, password, data?}`: 200 with the user and no session; the account
/// signs in once its e-mail is confirmed. An address that already has an account gets the
/// same answer (a user that does not exist, GoTrue's obfuscated user) and no account is
/// created or changed; an account still waiting for its confirmation gets a new code.
/// Both paths hash the password, so the time taken tells nothing either.
#[tracing::instrument(skip_all)]
pub async fn post_signup(
    State(state): State<AppState>,
    extract::Json(req): extract::Json<SignupRequest>,
) -> Result<Response, ApiError> {
    let email = normalise_email(req.email.as_deref().unwrap_or(""))?;
    let password = req.password.unwrap_or_default();
    check_password(&state, &password)?;
    let metadata = metadata_of(req.data.as_ref())?;
    let phc = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal("password hashing failed"))?;
    let code = crypto::otp_code();
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &format!("signup:{email}")).await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "insert into identity.users
             (email, auth_provider, password_hash, user_metadata, email_confirmed_at,
              confirmation_token_hash, confirmation_sent_at)
         values ($1, 'email', $2, $3, null, $4, now())
         on conflict (email) do nothing returning id",
    )
    .bind(&email)
    .bind(&phc)
    .bind(Value::Object(metadata.clone()))
    .bind(code_hash(&email, &code))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let answer = match id {
        Some(id) => {
            send_email_code(
                &mut tx,
                &state.public_web_url,
                Some(id),
                &email,
                "email_confirmation",
                "signup",
                &code,
            )
            .await?;
            let user = load_user(&mut tx, id).await?.ok_or_else(banned)?;
            user_json(&user)
        }
        None => {
            let row = sqlx::query(
                "select id, email_confirmed_at is not null as confirmed,
                        coalesce(confirmation_sent_at > now() - make_interval(secs => $2), false) as recent
                 from identity.users where email = $1",
            )
            .bind(&email)
            .bind(RESEND_SECONDS as f64)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            if !row.get::<bool, _>("confirmed") && !row.get::<bool, _>("recent") {
                let id: Uuid = row.get("id");
                renew_confirmation(&mut tx, &state, id, &email, &code).await?;
            }
            obfuscated_user(&email, metadata)
        }
    };
    tx.commit().await.map_err(db)?;
    Ok(Json(answer).into_response())
}

async fn renew_confirmation(
    conn: &mut PgConnection,
    state: &AppState,
    id: Uuid,
    email: &str,
    code: &str,
) -> ApiResult<()> {
    sqlx::query(
        "update identity.users set confirmation_token_hash = $2, confirmation_sent_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(code_hash(email, code))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    send_email_code(
        conn,
        &state.public_web_url,
        Some(id),
        email,
        "email_confirmation",
        "signup",
        code,
    )
    .await
}

/// What a sign-up for an address that has an account answers: the shape of a new user,
/// with an id that belongs to nobody.
fn obfuscated_user(email: &str, metadata: Map<String, Value>) -> Value {
    let now = chrono::Utc::now();
    user_json(&UserRow {
        id: Uuid::new_v4(),
        phone: None,
        email: Some(email.to_string()),
        provider: "email".into(),
        roles: vec!["user".into()],
        is_active: true,
        created_at: Some(now),
        updated_at: Some(now),
        last_login_at: None,
        user_metadata: Value::Object(metadata),
        email_confirmed_at: None,
        confirmation_sent_at: Some(now),
        email_change: None,
        email_change_sent_at: None,
        phone_change: None,
        phone_change_sent_at: None,
    })
}

/// `/verify {type: signup | email, token_hash}` or `{…, email, token}`: confirms the
/// account's e-mail and signs in.
pub(crate) async fn verify_signup(
    state: AppState,
    client: Client,
    req: VerifyRequest,
) -> ApiResult<Response> {
    let email = match req.email.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(e) => Some(normalise_email(e)?),
        None => None,
    };
    let hash = requested_hash(
        req.token_hash.as_deref(),
        email.as_deref(),
        req.token.as_deref(),
    )
    .ok_or_else(otp_invalid)?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(
        "update identity.users set email_confirmed_at = now(), confirmation_token_hash = null
         where confirmation_token_hash = $1
           and confirmation_sent_at > now() - make_interval(hours => $2)
         returning id, coalesce(is_active, true) as active",
    )
    .bind(&hash)
    .bind(EMAIL_CODE_HOURS)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(otp_invalid());
    };
    sign_in_unless_banned(&state, tx, &row, &client, crate::claims::Method::Otp).await
}

/// The body of `POST /resend`: GoTrue's `ResendConfirmationParams` (and the captcha field
/// of auth-js); `phone` and the PKCE fields are accepted and unused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ResendRequest {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<Value>,
}

/// `POST /resend {type: signup | email_change, email}`: sends the pending code again (at
/// most once a minute); always `200 {}` for a well-formed request, whether or not a code
/// was pending, so the answer tells nothing about the address.
#[tracing::instrument(skip_all)]
pub async fn post_resend(
    State(state): State<AppState>,
    extract::Json(req): extract::Json<ResendRequest>,
) -> Result<Response, ApiError> {
    let kind = req.kind.as_deref().unwrap_or("");
    if kind != "signup" && kind != "email_change" {
        return Err(validation(
            "type doit valoir signup ou email_change (only types signup and email_change are supported)",
        ));
    }
    let email = normalise_email(req.email.as_deref().unwrap_or(""))?;
    let code = crypto::otp_code();
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &format!("signup:{email}")).await?;
    if kind == "signup" {
        let row = sqlx::query(
            "select id from identity.users
              where email = $1 and email_confirmed_at is null and coalesce(is_active, true)
                and coalesce(confirmation_sent_at < now() - make_interval(secs => $2), true)",
        )
        .bind(&email)
        .bind(RESEND_SECONDS as f64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(row) = row {
            renew_confirmation(&mut tx, &state, row.get("id"), &email, &code).await?;
        }
    } else {
        // The address is the new one (auth-js sends the e-mail it changed to).
        let row = sqlx::query(
            "select id from identity.users
              where email_change = $1 and coalesce(is_active, true)
                and coalesce(email_change_sent_at < now() - make_interval(secs => $2), true)",
        )
        .bind(&email)
        .bind(RESEND_SECONDS as f64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(row) = row {
            send_change_code(&mut tx, &state, Change::Email, row.get("id"), &email).await?;
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(Json(json!({})).into_response())
}
