//! The GoTrue-shaped endpoints: `/otp`, `/verify`, `/token`, `/signup`, `/user` (GET, PUT),
//! `/logout`, `/recover`.
//! `docs/identity.md` describes the flows and limits.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::{claims, crypto, AppState, NAME};

pub use rest::input::{body, db, normalise_email, normalise_phone, validation};

/// Lifetime of an access token, seconds.
pub const ACCESS_TTL: i64 = 900;
/// Lifetime of a refresh token (one session row), days.
pub const REFRESH_TTL_DAYS: i32 = 30;
/// Lifetime of an SMS code, minutes.
pub const OTP_MINUTES: i32 = 10;
/// Wrong tries before a code is dead.
pub const OTP_MAX_ATTEMPTS: i32 = 5;

// ---------------------------------------------------------------- request details

pub use platform::Client;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_credentials",
        "Identifiants invalides (invalid login credentials)",
    )
}

pub(crate) fn banned() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "user_banned",
        "Ce compte est désactivé (user is deactivated)",
    )
}

/// A refresh GoTrue refuses: 400 with its code (auth-js raises an AuthApiError and signs
/// the client out; `session_not_found` would read as a missing session instead).
fn bad_refresh(code: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        code,
        format!("Jeton de rafraîchissement invalide : {why} (invalid refresh token: {why})"),
    )
}

// ---------------------------------------------------------------- users and sessions

pub(crate) struct UserRow {
    pub(crate) id: Uuid,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) provider: String,
    pub(crate) roles: Vec<String>,
    pub(crate) is_active: bool,
    pub(crate) created_at: Option<DateTime<Utc>>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
    pub(crate) last_login_at: Option<DateTime<Utc>>,
    pub(crate) user_metadata: Value,
    pub(crate) email_confirmed_at: Option<DateTime<Utc>>,
    pub(crate) confirmation_sent_at: Option<DateTime<Utc>>,
    pub(crate) email_change: Option<String>,
    pub(crate) email_change_sent_at: Option<DateTime<Utc>>,
    pub(crate) phone_change: Option<String>,
    pub(crate) phone_change_sent_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str =
    "id, phone, email, auth_provider, coalesce(roles, array['user']) as roles, \
     coalesce(is_active, true) as is_active, created_at, updated_at, last_login_at, \
     user_metadata, email_confirmed_at, confirmation_sent_at, email_change, \
     email_change_sent_at, phone_change, phone_change_sent_at";

fn user_from(row: &sqlx::postgres::PgRow) -> UserRow {
    UserRow {
        id: row.get("id"),
        phone: row.get("phone"),
        email: row.get("email"),
        provider: row.get("auth_provider"),
        roles: row.get("roles"),
        is_active: row.get("is_active"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        last_login_at: row.get("last_login_at"),
        user_metadata: row.get("user_metadata"),
        email_confirmed_at: row.get("email_confirmed_at"),
        confirmation_sent_at: row.get("confirmation_sent_at"),
        email_change: row.get("email_change"),
        email_change_sent_at: row.get("email_change_sent_at"),
        phone_change: row.get("phone_change"),
        phone_change_sent_at: row.get("phone_change_sent_at"),
    }
}

pub(crate) async fn load_user(conn: &mut PgConnection, id: Uuid) -> ApiResult<Option<UserRow>> {
    let row = sqlx::query(&format!(
        "select {USER_COLUMNS} from identity.users where id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(row.as_ref().map(user_from))
}

pub(crate) fn user_json(u: &UserRow) -> Value {
    json!({
        "id": u.id,
        "aud": "authenticated",
        "role": auth::Role::for_user_roles(&u.roles).as_str(),
        "phone": u.phone,
        "email": u.email,
        "app_metadata": {"provider": u.provider, "providers": [u.provider], "roles": u.roles},
        "user_metadata": u.user_metadata,
        "created_at": u.created_at,
        "updated_at": u.updated_at,
        "last_sign_in_at": u.last_login_at,
        "email_confirmed_at": u.email.as_ref().and(u.email_confirmed_at),
        "confirmed_at": u.email.as_ref().and(u.email_confirmed_at).or(u.phone.as_ref().and(u.created_at)),
        "confirmation_sent_at": u.confirmation_sent_at,
        "new_email": u.email_change,
        "email_change_sent_at": u.email_change_sent_at,
        "new_phone": u.phone_change,
        "phone_change_sent_at": u.phone_change_sent_at,
    })
}

/// Inserts one refresh-token row (a new chain unless `chain` = (chain_id, parent id)) and
/// returns (chain id, refresh token).
async fn new_session(
    conn: &mut PgConnection,
    user: Uuid,
    chain: Option<(Uuid, Uuid)>,
    client: &Client,
) -> ApiResult<(Uuid, String)> {
    let token = crypto::refresh_token();
    let id = Uuid::new_v4();
    let (chain_id, parent) = match chain {
        Some((c, p)) => (c, Some(p)),
        None => (id, None),
    };
    sqlx::query(
        "insert into identity.user_sessions
             (id, user_id, token_hash, device_info, ip_address, expires_at, chain_id, parent_session_id)
         values ($1, $2, $3, $4, $5::inet, now() + make_interval(days => $6), $7, $8)",
    )
    .bind(id)
    .bind(user)
    .bind(crypto::sha256_hex(&token))
    .bind(json!({"user_agent": client.user_agent}))
    .bind(&client.ip)
    .bind(REFRESH_TTL_DAYS)
    .bind(chain_id)
    .bind(parent)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok((chain_id, token))
}

/// The GoTrue session object for `user` with a fresh access token (claims: `crate::claims`).
fn session_json(
    state: &AppState,
    user: &UserRow,
    chain_id: Uuid,
    refresh: String,
    amr: &[claims::Amr],
) -> Value {
    let role = auth::Role::for_user_roles(&user.roles);
    let object = user_json(user);
    let access = state.jwt.issue_with(
        user.id,
        role,
        ACCESS_TTL,
        claims::access_claims(&object, chain_id, amr),
    );
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL,
        "expires_at": Utc::now().timestamp() + ACCESS_TTL,
        "refresh_token": refresh,
        "user": object,
    })
}

/// Marks a successful sign-in made with `method`, opens a session, commits and answers.
pub(crate) async fn sign_in(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    user_id: Uuid,
    client: &Client,
    method: claims::Method,
) -> ApiResult<Response> {
    sqlx::query("update identity.users set last_login_at = now() where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let user = load_user(&mut tx, user_id)
        .await?
        .ok_or_else(invalid_credentials)?;
    let (chain, refresh) = new_session(&mut tx, user_id, None, client).await?;
    let amr = claims::record_sign_in(&mut tx, chain, method).await?;
    bind_admin_session(state, &mut tx, &user, chain, client).await?;
    tx.commit().await.map_err(db)?;
    Ok(Json(session_json(state, &user, chain, refresh, &amr)).into_response())
}

/// An admin's token is bound to an admin session (`admin.admin_sessions`): opened here for
/// the sign-in `chain` when it has none, never reopened once ended or expired. Returns
/// whether it is open (always true for other users).
async fn bind_admin_session(
    state: &AppState,
    conn: &mut PgConnection,
    user: &UserRow,
    chain: Uuid,
    client: &Client,
) -> ApiResult<bool> {
    if auth::Role::for_user_roles(&user.roles) != auth::Role::Admin {
        return Ok(true);
    }
    sqlx::query_scalar("select wolo.open_admin_session($1, $2, $3::inet, $4, $5)")
        .bind(user.id)
        .bind(chain)
        .bind(&client.ip)
        .bind(&client.user_agent)
        .bind(state.admin_session_hours)
        .fetch_one(conn)
        .await
        .map_err(db)
}

/// Ends the admin sessions of the sign-ins `chains` of `user` (every one when `None`).
async fn end_admin_sessions(
    conn: &mut PgConnection,
    user: Uuid,
    chains: Option<&[Uuid]>,
    reason: &str,
) -> ApiResult<()> {
    sqlx::query("select wolo.end_admin_sessions($1, $2, $3)")
        .bind(user)
        .bind(chains)
        .bind(reason)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn lock(conn: &mut PgConnection, key: &str) -> ApiResult<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("identity:{key}"))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

// ---------------------------------------------------------------- POST /otp

#[derive(Deserialize)]
struct OtpRequest {
    phone: Option<String>,
}

pub async fn post_otp(
    State(state): State<AppState>,
    client: Client,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: OtpRequest = body(&bytes)?;
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

/// Publishes the SMS carrying a six-digit `code` to `phone` (the `otp` template): sign-in
/// codes, and the code that confirms a new phone (`PUT /user {phone}`).
pub(crate) async fn send_sms_code(
    conn: &mut PgConnection,
    user: Option<Uuid>,
    phone: &str,
    code: &str,
) -> ApiResult<()> {
    platform::outbox::publish(
        conn,
        "notification.requested",
        &json!({
            "user_id": user,
            "recipient": {"phone": phone},
            "message": "otp",
            "locale": "fr-SN",
            "channels": ["sms"],
            "data": {"code": code, "minutes": OTP_MINUTES},
        }),
        NAME,
    )
    .await
    .map(|_| ())
    .map_err(db)
}

// ---------------------------------------------------------------- POST /verify

#[derive(Deserialize)]
pub(crate) struct VerifyRequest {
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) token_hash: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub(crate) fn otp_invalid() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "otp_expired",
        "Code invalide ou expiré (token has expired or is invalid)",
    )
}

pub async fn post_verify(
    State(state): State<AppState>,
    client: Client,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: VerifyRequest = body(&bytes)?;
    match req.kind.as_deref() {
        Some("sms") => {}
        Some("recovery") => return verify_recovery(state, client, req).await,
        Some("signup" | "email") => return crate::confirm::verify_signup(state, client, req).await,
        Some("email_change") => {
            return crate::confirm::verify_change(state, client, req, false).await
        }
        Some("phone_change") => return crate::confirm::verify_change(state, client, req, true).await,
        _ => {
            return Err(validation(
                "type doit valoir sms, signup, email, email_change, phone_change ou recovery (unsupported type)",
            ))
        }
    }
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

// ---------------------------------------------------------------- POST /token

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct PasswordRequest {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
}

pub async fn post_token(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    client: Client,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    match q.get("grant_type").map(String::as_str) {
        Some("refresh_token") => refresh(state, client, body(&bytes)?).await,
        Some("password") => password(state, client, body(&bytes)?).await,
        Some("id_token") => crate::google::id_token_grant(state, client, &bytes).await,
        _ => Err(validation(
            "grant_type doit valoir refresh_token, password ou id_token (unsupported grant_type)",
        )),
    }
}

/// `grant_type=refresh_token`, as GoTrue answers it: an unknown token is 400
/// `refresh_token_not_found`; a token of a sign-in that ended (logout, reset, revoked by an
/// admin) or expired is 400 `session_expired`; a rotated token presented again within the
/// reuse interval (`WOLO_REFRESH_TOKEN_REUSE_INTERVAL`, 10 s) gets a fresh token of the same
/// sign-in, so two tabs may refresh at once, and after it revokes the whole sign-in (400
/// `refresh_token_already_used`); a deactivated account is 400 `user_banned`.
async fn refresh(state: AppState, client: Client, req: RefreshRequest) -> ApiResult<Response> {
    let token = req.refresh_token.unwrap_or_default();
    if token.is_empty() {
        return Err(bad_refresh(
            "refresh_token_not_found",
            "Refresh Token Not Found",
        ));
    }
    let mut tx = state.db.begin().await.map_err(db)?;
    // Lock the row first, then read its state in a statement of its own: under READ
    // COMMITTED that statement sees what a concurrent refresh of the same token committed
    // while we waited (its child), which the locking statement's own subqueries would not.
    let locked: Option<Uuid> = sqlx::query_scalar(
        "select id from identity.user_sessions where token_hash = $1 for update",
    )
    .bind(crypto::sha256_hex(&token))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    if locked.is_none() {
        return Err(bad_refresh(
            "refresh_token_not_found",
            "Refresh Token Not Found",
        ));
    }
    let row = sqlx::query(
        "select s.id, s.user_id, s.chain_id, coalesce(s.is_revoked, false) as revoked,
                s.expires_at <= now() as expired,
                coalesce(s.revoked_at > now() - make_interval(secs => $2), false) as within_reuse,
                exists (select 1 from identity.user_sessions c where c.parent_session_id = s.id) as rotated,
                exists (select 1 from identity.user_sessions l
                         where l.chain_id = s.chain_id and not coalesce(l.is_revoked, false)
                           and l.expires_at > now()) as chain_live
         from identity.user_sessions s where s.token_hash = $1",
    )
    .bind(crypto::sha256_hex(&token))
    .bind(state.refresh_reuse_seconds as f64)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(bad_refresh(
            "refresh_token_not_found",
            "Refresh Token Not Found",
        ));
    };
    let id: Uuid = row.get("id");
    let user_id: Uuid = row.get("user_id");
    let chain: Uuid = row.get("chain_id");
    let rotated: bool = row.get("rotated");
    let chain_live: bool = row.get("chain_live");
    if row.get::<bool, _>("revoked") {
        if !rotated || !chain_live {
            // Ended by a logout, a reset or an admin: no token of it refreshes any more.
            return Err(bad_refresh("session_expired", "Session Expired"));
        }
        if !row.get::<bool, _>("within_reuse") {
            // A rotated token presented again after the reuse interval: someone holds a
            // copy. End the whole sign-in.
            sqlx::query(
                "update identity.user_sessions set is_revoked = true, revoked_at = coalesce(revoked_at, now())
                 where chain_id = $1",
            )
            .bind(chain)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            end_admin_sessions(&mut tx, user_id, Some(&[chain]), "revoked").await?;
            tx.commit().await.map_err(db)?;
            rest::sessions::forget_user(user_id);
            tracing::warn!(%user_id, %chain, "refresh token reuse: session chain revoked");
            return Err(bad_refresh("refresh_token_already_used", "Already Used"));
        }
        // Within the reuse interval (two tabs, a lost answer): a fresh token of the same
        // sign-in, the other live token left alone.
    }
    if row.get::<bool, _>("expired") {
        return Err(bad_refresh("session_expired", "Session Expired"));
    }
    let user = load_user(&mut tx, user_id).await?;
    match user {
        Some(u) if u.is_active => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "user_banned",
                "Ce compte est désactivé (invalid refresh token: user banned)",
            ))
        }
    }
    sqlx::query(
        "update identity.user_sessions set is_revoked = true, revoked_at = coalesce(revoked_at, now())
         where id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let (chain, refresh) = new_session(&mut tx, user_id, Some((chain, id)), &client).await?;
    let amr = claims::carry_amr(&mut tx, id).await?;
    let user = load_user(&mut tx, user_id).await?.ok_or_else(banned)?;
    if !bind_admin_session(&state, &mut tx, &user, chain, &client).await? {
        // The admin session of this sign-in ended or expired: the sign-in ends with it.
        drop(tx);
        let mut tx = state.db.begin().await.map_err(db)?;
        sqlx::query(
            "update identity.user_sessions set is_revoked = true, revoked_at = coalesce(revoked_at, now())
             where chain_id = $1 and not coalesce(is_revoked, false)",
        )
        .bind(chain)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rest::sessions::forget_user(user_id);
        return Err(bad_refresh("session_expired", "Session Expired"));
    }
    tx.commit().await.map_err(db)?;
    Ok(Json(session_json(&state, &user, chain, refresh, &amr)).into_response())
}

async fn password(state: AppState, client: Client, req: PasswordRequest) -> ApiResult<Response> {
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

// POST /signup: crate::confirm (confirmations on, as GoTrue).

// ---------------------------------------------------------------- GET /user, POST /logout

pub(crate) fn signed_in(state: &AppState, headers: &HeaderMap) -> ApiResult<(Uuid, Option<Uuid>)> {
    signed_in_as(state, headers).map(|(user, session, _)| (user, session))
}

/// [`signed_in`] and whether the token is an admin's.
pub(crate) fn signed_in_as(
    state: &AppState,
    headers: &HeaderMap,
) -> ApiResult<(Uuid, Option<Uuid>, bool)> {
    let caller = claims::authenticate(&state.jwt, headers)?;
    let user = caller.user_id.ok_or_else(|| {
        ApiError::unauthorized(
            "no_authorization",
            "Jeton d'accès requis (access token required)",
        )
    })?;
    let session = caller
        .claims
        .get("session_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    Ok((user, session, caller.role == auth::Role::Admin))
}

pub async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (user_id, session, admin) = signed_in_as(&state, &headers)?;
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

pub async fn post_logout(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (user_id, session) = signed_in(&state, &headers)?;
    let scope = q.get("scope").map(String::as_str).unwrap_or("global");
    let sql = match scope {
        "global" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                     where user_id = $1 and not coalesce(is_revoked, false) returning chain_id",
        "local" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                    where user_id = $1 and chain_id = $2 and not coalesce(is_revoked, false) returning chain_id",
        "others" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                     where user_id = $1 and chain_id is distinct from $2 and not coalesce(is_revoked, false)
                     returning chain_id",
        _ => return Err(validation("scope doit valoir global, local ou others (invalid scope)")),
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let mut chains: Vec<Uuid> = sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(session)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    if scope == "local" {
        // The admin session of this sign-in ends even when its tokens were already revoked.
        chains.extend(session);
    }
    chains.sort();
    chains.dedup();
    end_admin_sessions(&mut tx, user_id, Some(&chains), "logout").await?;
    tx.commit().await.map_err(db)?;
    rest::sessions::forget_user(user_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

// PUT /user: crate::confirm (metadata, password, e-mail and phone changes).

// ---------------------------------------------------------------- POST /recover

/// Lifetime of a password reset token, minutes.
pub const RESET_MINUTES: i32 = 60;
/// Minimum delay between two reset e-mails to one user, seconds (later requests are
/// answered 200 but send nothing).
pub const RESET_RESEND_SECONDS: i64 = 60;

#[derive(Deserialize)]
struct RecoverRequest {
    email: Option<String>,
}

/// `POST /recover {email}`: always `200 {}` for a well-formed address. For an existing active
/// user, stores the SHA-256 of a fresh token (1 h) and publishes the `password_reset` e-mail
/// in the same transaction.
pub async fn post_recover(
    State(state): State<AppState>,
    client: Client,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let req: RecoverRequest = body(&bytes)?;
    let email = normalise_email(req.email.as_deref().unwrap_or(""))?;
    crate::throttle::admit_recover(&state, &email, &client).await?;
    let mut tx = state.db.begin().await.map_err(db)?;
    lock(&mut tx, &format!("recover:{email}")).await?;
    let row = sqlx::query(
        "select u.id,
                coalesce(nullif(split_part(trim(p.full_name), ' ', 1), ''), split_part(u.email, '@', 1)) as first_name,
                exists (select 1 from identity.password_reset_tokens t
                        where t.user_id = u.id
                          and t.created_at > now() - make_interval(secs => $2)) as recent
         from identity.users u left join profiles.profiles p on p.user_id = u.id
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
    let first_name: String = row.get("first_name");
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
    platform::outbox::publish(
        &mut tx,
        "notification.requested",
        &json!({
            "user_id": user_id,
            "recipient": {"email": email},
            "message": "password_reset",
            "locale": "fr-SN",
            "channels": ["email"],
            "data": {"first_name": first_name, "reset_url": reset_url, "minutes": RESET_MINUTES},
        }),
        NAME,
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Json(json!({})).into_response())
}

// ---------------------------------------------------------------- POST /verify (recovery)

/// `{type: "recovery", token_hash | token, email?}`: the value is the token of the reset link
/// (never the stored hash). Consumes it (once), revokes every session of the user and opens
/// a new one.
async fn verify_recovery(
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

#[cfg(test)]
mod tests {
    use super::*;

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
