//! The signed-in user: `GET /user`, and `PUT /user` (GoTrue's confirmations-on behaviour:
//! `data` is merged into `user_metadata`; a new e-mail or phone is kept pending and takes
//! effect once confirmed with the code sent to it, `POST /verify {type: email_change |
//! phone_change}`, [`verify_change`] through `crate::verify`). `docs/identity.md` lists the
//! codes and limits.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use rest::{
    extract,
    input::{db, normalise_email, normalise_phone, validation},
    ApiError, ApiResult,
};

use crate::{
    caller::SignedIn,
    crypto,
    messages::{
        code_hash, requested_hash, send_email_code, send_sms_code, EMAIL_CODE_HOURS, OTP_MINUTES,
        RESEND_SECONDS,
    },
    password::check_password,
    session::{banned, load_user, otp_invalid, sign_in_unless_banned, user_json, Client, UserRow},
    verify_request::VerifyRequest,
    AppState,
};

/// Largest `user_metadata`, bytes of JSON (the database holds the same bound, V109).
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

fn too_many(code: &str, what: &str) -> ApiError {
    crate::throttle::too_many(
        code,
        &format!(
            "Veuillez patienter {RESEND_SECONDS} s avant de demander un nouveau code (you can only request this {what} after {RESEND_SECONDS} seconds)"
        ),
    )
}

fn exists(code: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("Cette adresse est déjà utilisée par un autre compte (a user with this {what} has already been registered)"),
    )
}

/// `data` of a request: absent or a JSON object within [`METADATA_MAX_BYTES`].
pub(crate) fn metadata_of(data: Option<&Value>) -> ApiResult<Map<String, Value>> {
    match data {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => {
            if Value::Object(m.clone()).to_string().len() > METADATA_MAX_BYTES {
                return Err(validation(&format!(
                    "data dépasse {METADATA_MAX_BYTES} octets (data larger than {METADATA_MAX_BYTES} bytes)"
                )));
            }
            Ok(m.clone())
        }
        Some(_) => Err(validation(
            "data doit être un objet JSON (data must be an object)",
        )),
    }
}

/// `GET /user`: the signed-in user, while its sign-in lasts.
#[tracing::instrument(skip_all, fields(user_id = %who.user))]
pub async fn get_user(State(state): State<AppState>, who: SignedIn) -> Result<Response, ApiError> {
    let (user_id, session, admin) = (who.user, who.session, who.admin);
    let mut conn = state.db.acquire().await.map_err(db)?;
    // As GoTrue: a token whose sign-in has ended no longer gets the user (asked now, not
    // from the request layer's cache).
    if let Some(session) = session {
        let live = rest::sessions::is_active_uncached(&mut *conn, session, user_id, admin)
            .await
            .map_err(db)?;
        if !live {
            return Err(rest::sessions::ended(rest::sessions::Shape::GoTrue));
        }
    }
    let user = load_user(&mut conn, user_id).await?.ok_or_else(|| {
        ApiError::unauthorized("user_not_found", "Utilisateur introuvable (user not found)")
    })?;
    if !user.is_active {
        return Err(banned());
    }
    Ok(Json(user_json(&user)).into_response())
}

/// The body of `PUT /user`: GoTrue's `UserUpdateParams`. `nonce`, `channel`,
/// `current_password` and the PKCE fields are accepted and unused; `app_metadata` is
/// refused (403 `not_admin`: roles change through `POST /admin/users/{id}/roles`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UserUpdate {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    data: Option<Value>,
    app_metadata: Option<Value>,
    current_password: Option<String>,
    nonce: Option<String>,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `PUT /user {password?, data?, email?, phone?}` for the signed-in user, in one
/// transaction. `data` is merged into `user_metadata` (a key set to null is removed); a new
/// e-mail or phone is kept in `email_change` / `phone_change` and a code sent to it; the
/// address changes when `/verify` gets that code. A field GoTrue does not take: 400
/// `PGRST102` naming it; `app_metadata`: 403 `not_admin`.
#[tracing::instrument(skip_all, fields(user_id = %who.user))]
pub async fn put_user(
    State(state): State<AppState>,
    who: SignedIn,
    extract::Json(req): extract::Json<UserUpdate>,
) -> Result<Response, ApiError> {
    let (user_id, session, admin) = (who.user, who.session, who.admin);
    if req.app_metadata.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_admin",
            "Modifier app_metadata est réservé aux administrateurs (updating app_metadata requires admin privileges)",
        )
        .hint("roles change through POST /admin/users/{id}/roles"));
    }
    let data = match &req.data {
        None | Some(Value::Null) => None,
        d => Some(metadata_of(d.as_ref())?),
    };
    let email = req
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(normalise_email)
        .transpose()?;
    let phone = req
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(normalise_phone)
        .transpose()?;
    let phc = match req.password.as_deref() {
        Some(password) => {
            check_password(&state, password)?;
            let password = password.to_string();
            Some(
                tokio::task::spawn_blocking(move || crypto::hash_password(&password))
                    .await
                    .map_err(|_| ApiError::internal("password hashing failed"))?,
            )
        }
        None => None,
    };

    let mut tx = state.db.begin().await.map_err(db)?;
    // The request layer's answer may be a few seconds old; a change of the account asks now.
    if let Some(session) = session {
        let live = rest::sessions::is_active_uncached(&mut *tx, session, user_id, admin)
            .await
            .map_err(db)?;
        if !live {
            return Err(rest::sessions::ended(rest::sessions::Shape::GoTrue));
        }
    }
    let user = load_user(&mut tx, user_id).await?.ok_or_else(|| {
        ApiError::unauthorized("user_not_found", "Utilisateur introuvable (user not found)")
    })?;
    if !user.is_active {
        return Err(banned());
    }
    if let Some(phc) = &phc {
        sqlx::query("update identity.users set password_hash = $2 where id = $1")
            .bind(user_id)
            .bind(phc)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if let Some(data) = data {
        let mut merged = match &user.user_metadata {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        for (k, v) in data {
            if v.is_null() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        let merged = Value::Object(merged);
        if merged.to_string().len() > METADATA_MAX_BYTES {
            return Err(validation(&format!(
                "user_metadata dépasserait {METADATA_MAX_BYTES} octets (user_metadata would exceed {METADATA_MAX_BYTES} bytes)"
            )));
        }
        sqlx::query("update identity.users set user_metadata = $2 where id = $1")
            .bind(user_id)
            .bind(merged)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if let Some(email) = email.filter(|e| user.email.as_deref() != Some(e.as_str())) {
        ask_change(&mut tx, &state, &user, Change::Email, &email).await?;
    }
    if let Some(phone) = phone.filter(|p| user.phone.as_deref() != Some(p.as_str())) {
        ask_change(&mut tx, &state, &user, Change::Phone, &phone).await?;
    }
    let user = load_user(&mut tx, user_id).await?.ok_or_else(banned)?;
    tx.commit().await.map_err(db)?;
    Ok(Json(user_json(&user)).into_response())
}

async fn taken(conn: &mut PgConnection, column: &str, value: &str, user: Uuid) -> ApiResult<bool> {
    sqlx::query_scalar(&format!(
        "select exists (select 1 from identity.users where {column} = $1 and id <> $2)"
    ))
    .bind(value)
    .bind(user)
    .fetch_one(conn)
    .await
    .map_err(db)
}

fn sent_recently(at: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    at.is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::seconds(RESEND_SECONDS))
}

/// An address change `PUT /user` may ask for: which columns hold it and how its code goes.
#[derive(Clone, Copy)]
pub(crate) enum Change {
    Email,
    Phone,
}

impl Change {
    /// (current column, pending column, its token hash, when it was sent)
    fn columns(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Change::Email => (
                "email",
                "email_change",
                "email_change_token_hash",
                "email_change_sent_at",
            ),
            Change::Phone => (
                "phone",
                "phone_change",
                "phone_change_token_hash",
                "phone_change_sent_at",
            ),
        }
    }
}

/// `PUT /user {email | phone}` with a new address: 422 when another account has it, 429
/// when the same address was asked for within a minute; else a fresh code to it.
async fn ask_change(
    conn: &mut PgConnection,
    state: &AppState,
    user: &UserRow,
    change: Change,
    address: &str,
) -> ApiResult<()> {
    let (pending, sent_at, exists_code, what, limit_code, channel) = match change {
        Change::Email => (
            user.email_change.as_deref(),
            user.email_change_sent_at,
            "email_exists",
            "email address",
            "over_email_send_rate_limit",
            "email",
        ),
        Change::Phone => (
            user.phone_change.as_deref(),
            user.phone_change_sent_at,
            "phone_exists",
            "phone number",
            "over_sms_send_rate_limit",
            "SMS",
        ),
    };
    if taken(&mut *conn, change.columns().0, address, user.id).await? {
        return Err(exists(exists_code, what));
    }
    if pending == Some(address) && sent_recently(sent_at) {
        return Err(too_many(limit_code, channel));
    }
    send_change_code(conn, state, change, user.id, address).await
}

/// Stores a fresh code for the pending `address` of `user` and sends it there: an e-mail
/// with its link, or the SMS of the sign-in codes.
pub(crate) async fn send_change_code(
    conn: &mut PgConnection,
    state: &AppState,
    change: Change,
    user: Uuid,
    address: &str,
) -> ApiResult<()> {
    let (_, pending, hash, sent_at) = change.columns();
    let code = crypto::otp_code();
    sqlx::query(&format!(
        "update identity.users set {pending} = $2, {hash} = $3, {sent_at} = now() where id = $1"
    ))
    .bind(user)
    .bind(address)
    .bind(code_hash(address, &code))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    match change {
        Change::Email => {
            send_email_code(
                conn,
                &state.public_web_url,
                Some(user),
                address,
                "email_change",
                "email_change",
                &code,
            )
            .await
        }
        Change::Phone => send_sms_code(conn, Some(user), address, &code).await,
    }
}

/// `/verify {type: email_change | phone_change, token_hash | (email | phone, token)}`:
/// the new address replaces the old one and the user is signed in.
pub(crate) async fn verify_change(
    state: AppState,
    client: Client,
    req: VerifyRequest,
    phone: bool,
) -> ApiResult<Response> {
    let address = if phone {
        match req.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => Some(normalise_phone(p)?),
            None => None,
        }
    } else {
        match req.email.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(e) => Some(normalise_email(e)?),
            None => None,
        }
    };
    let token_hash_param = if phone {
        None
    } else {
        req.token_hash.as_deref()
    };
    let hash = requested_hash(token_hash_param, address.as_deref(), req.token.as_deref())
        .ok_or_else(otp_invalid)?;
    let sql = if phone {
        "update identity.users
            set phone = phone_change, phone_change = null, phone_change_token_hash = null,
                phone_change_sent_at = null
          where phone_change_token_hash = $1
            and phone_change_sent_at > now() - make_interval(mins => $2)
         returning id, coalesce(is_active, true) as active"
    } else {
        "update identity.users
            set email = email_change, email_change = null, email_change_token_hash = null,
                email_change_sent_at = null, email_confirmed_at = now()
          where email_change_token_hash = $1
            and email_change_sent_at > now() - make_interval(mins => $2)
         returning id, coalesce(is_active, true) as active"
    };
    let minutes = if phone {
        OTP_MINUTES
    } else {
        EMAIL_CODE_HOURS * 60
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(sql)
        .bind(&hash)
        .bind(minutes)
        .fetch_optional(&mut *tx)
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
                // Someone else confirmed the address meanwhile.
                Some("23505") if phone => exists("phone_exists", "phone number"),
                Some("23505") => exists("email_exists", "email address"),
                _ => db(e),
            },
        )?;
    let Some(row) = row else {
        return Err(otp_invalid());
    };
    sign_in_unless_banned(&state, tx, &row, &client, crate::claims::Method::Otp).await
}
