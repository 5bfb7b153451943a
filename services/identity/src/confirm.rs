//! GoTrue's confirmations-on behaviour: `/signup` answers a user without a session and
//! e-mails a code (and a link) that `/verify {type: signup | email}` exchanges for one;
//! `PUT /user` keeps `data` in `user_metadata` and takes a new e-mail or phone only once it
//! is confirmed with the code sent to it (`/verify {type: email_change | phone_change}`);
//! `/resend` sends a pending code again. `docs/identity.md` lists the codes and limits.
//!
//! A pending code is stored as the SHA-256 of the address and the code, as GoTrue stores its
//! token hashes: the link carries that hash, a typed code is hashed with the address. Nobody
//! reads the hashes through the REST layer (V109).

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::{
    crypto,
    http::{
        banned, body, check_password, db, load_user, lock, normalise_email, normalise_phone,
        otp_invalid, send_sms_code, sign_in, signed_in_as, user_json, validation, Client, UserRow,
        VerifyRequest, OTP_MINUTES,
    },
    AppState, NAME,
};

/// How long a sign-up confirmation or an e-mail change code is valid, hours.
pub const EMAIL_CODE_HOURS: i32 = 24;
/// Minimum delay between two codes to one address, seconds.
pub const RESEND_SECONDS: i64 = 60;
/// Largest `user_metadata`, bytes of JSON (the database holds the same bound, V109).
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

/// The stored form of a code sent to `address`.
fn token_hash(address: &str, code: &str) -> String {
    crypto::sha256_hex(&format!("{address}{code}"))
}

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
fn metadata_of(data: Option<&Value>) -> ApiResult<Map<String, Value>> {
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

/// Publishes an e-mail carrying `code` and its link to `email`.
async fn send_email_code(
    conn: &mut PgConnection,
    state: &AppState,
    user: Option<Uuid>,
    email: &str,
    message: &str,
    link_type: &str,
    code: &str,
) -> ApiResult<()> {
    let confirm_url = format!(
        "{}/auth/confirm?token_hash={}&type={link_type}",
        state.public_web_url,
        token_hash(email, code)
    );
    platform::outbox::publish(
        conn,
        "notification.requested",
        &json!({
            "user_id": user,
            "recipient": {"email": email},
            "message": message,
            "locale": "fr-SN",
            "channels": ["email"],
            "data": {"code": code, "confirm_url": confirm_url, "hours": EMAIL_CODE_HOURS},
        }),
        NAME,
    )
    .await
    .map(|_| ())
    .map_err(db)
}

// ---------------------------------------------------------------- POST /signup

#[derive(Deserialize)]
struct SignupRequest {
    email: Option<String>,
    password: Option<String>,
    data: Option<Value>,
}

/// `POST /signup {email, password, data?}`: 200 with the user and no session; the account
/// signs in once its e-mail is confirmed. An address that already has an account gets the
/// same answer (a user that does not exist, GoTrue's obfuscated user) and no account is
/// created or changed; an account still waiting for its confirmation gets a new code.
/// Both paths hash the password, so the time taken tells nothing either.
pub async fn post_signup(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: SignupRequest = body(&bytes)?;
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
    .bind(token_hash(&email, &code))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let answer = match id {
        Some(id) => {
            send_email_code(
                &mut tx,
                &state,
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
    .bind(token_hash(email, code))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    send_email_code(
        conn,
        state,
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

// ---------------------------------------------------------------- POST /verify

/// The hash a verify request names: `token_hash` (the link), or `token` typed with the
/// address it was sent to.
fn requested_hash(
    token_hash_param: Option<&str>,
    address: Option<&str>,
    token: Option<&str>,
) -> Option<String> {
    if let Some(h) = token_hash_param.map(str::trim).filter(|h| !h.is_empty()) {
        return Some(h.to_lowercase());
    }
    match (address, token.map(str::trim).filter(|t| !t.is_empty())) {
        (Some(a), Some(t)) => Some(token_hash(a, t)),
        _ => None,
    }
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
    if !row.get::<bool, _>("active") {
        tx.commit().await.map_err(db)?;
        return Err(banned());
    }
    sign_in(
        &state,
        tx,
        row.get("id"),
        &client,
        crate::claims::Method::Otp,
    )
    .await
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
    if !row.get::<bool, _>("active") {
        tx.commit().await.map_err(db)?;
        return Err(banned());
    }
    sign_in(
        &state,
        tx,
        row.get("id"),
        &client,
        crate::claims::Method::Otp,
    )
    .await
}

// ---------------------------------------------------------------- PUT /user

/// What `PUT /user` takes, as GoTrue's UserUpdateParams (`nonce`, `channel` and the PKCE
/// fields are accepted and unused).
const UPDATABLE: &[&str] = &[
    "email",
    "phone",
    "password",
    "data",
    "nonce",
    "channel",
    "code_challenge",
    "code_challenge_method",
];

fn string_field<'a>(obj: &'a Map<String, Value>, key: &str) -> ApiResult<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(validation(&format!(
            "{key} doit être une chaîne ({key} must be a string)"
        ))),
    }
}

/// `PUT /user {password?, data?, email?, phone?}` for the signed-in user, in one
/// transaction. `data` is merged into `user_metadata` (a key set to null is removed); a new
/// e-mail or phone is kept in `email_change` / `phone_change` and a code sent to it; the
/// address changes when `/verify` gets that code. Other fields: 400 naming them.
pub async fn put_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (user_id, session, admin) = signed_in_as(&state, &headers)?;
    let req: Value = body(&bytes)?;
    let Value::Object(req) = req else {
        return Err(validation("Objet JSON attendu (a JSON object is expected)"));
    };
    let unknown: Vec<&str> = req
        .keys()
        .map(String::as_str)
        .filter(|k| !UPDATABLE.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(validation(&format!(
            "Champs non modifiables ici : {} (fields not accepted: {})",
            unknown.join(", "),
            unknown.join(", ")
        ))
        .hint("PUT /user takes email, phone, password and data"));
    }
    let data = match req.get("data") {
        None | Some(Value::Null) => None,
        d => Some(metadata_of(d)?),
    };
    let email = string_field(&req, "email")?
        .filter(|e| !e.trim().is_empty())
        .map(normalise_email)
        .transpose()?;
    let phone = string_field(&req, "phone")?
        .filter(|p| !p.trim().is_empty())
        .map(normalise_phone)
        .transpose()?;
    let phc = match string_field(&req, "password")? {
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
enum Change {
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
async fn send_change_code(
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
    .bind(token_hash(address, &code))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    match change {
        Change::Email => {
            send_email_code(
                conn,
                state,
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

// ---------------------------------------------------------------- POST /resend

#[derive(Deserialize)]
struct ResendRequest {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
}

/// `POST /resend {type: signup | email_change, email}`: sends the pending code again (at
/// most once a minute); always `200 {}` for a well-formed request, whether or not a code
/// was pending, so the answer tells nothing about the address.
pub async fn post_resend(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: ResendRequest = body(&bytes)?;
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
