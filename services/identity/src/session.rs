//! Sessions, shared by every way of signing in: the user row and its GoTrue JSON, refresh
//! token rows (one per rotation, chained per sign-in), the session answer with a fresh
//! access token ([`sign_in`]), admin sessions bound to a sign-in, and the advisory lock of
//! one account's flows. Nothing here is an endpoint: the endpoint families use it.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::{input::db, ApiError, ApiResult};

pub use platform::Client;

use crate::{claims, crypto, AppState};

/// Lifetime of an access token, seconds.
pub const ACCESS_TTL: i64 = 900;
/// Lifetime of a refresh token (one session row), days.
pub const REFRESH_TTL_DAYS: i32 = 30;

/// 400 `invalid_credentials`.
pub(crate) fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_credentials",
        "Identifiants invalides (invalid login credentials)",
    )
}

/// 403 `user_banned`: a deactivated account.
pub(crate) fn banned() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "user_banned",
        "Ce compte est désactivé (user is deactivated)",
    )
}

/// 403 `otp_expired`: a wrong, expired or used code or link.
pub(crate) fn otp_invalid() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "otp_expired",
        "Code invalide ou expiré (token has expired or is invalid)",
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
pub(crate) async fn new_session(
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
pub(crate) fn session_json(
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
#[tracing::instrument(skip_all, fields(user_id = %user_id, method = method.as_str()))]
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

/// Signs in the account of a code just consumed in `tx`, whose `row` carries `id` and
/// `active`: a deactivated account keeps the code spent (the transaction commits) and gets
/// 403 `user_banned`.
pub(crate) async fn sign_in_unless_banned(
    state: &AppState,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    row: &sqlx::postgres::PgRow,
    client: &Client,
    method: claims::Method,
) -> ApiResult<Response> {
    if !row.get::<bool, _>("active") {
        tx.commit().await.map_err(db)?;
        return Err(banned());
    }
    sign_in(state, tx, row.get("id"), client, method).await
}

/// An admin's token is bound to an admin session (`admin.admin_sessions`): opened here for
/// the sign-in `chain` when it has none, never reopened once ended or expired. Returns
/// whether it is open (always true for other users).
pub(crate) async fn bind_admin_session(
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
pub(crate) async fn end_admin_sessions(
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

/// Serialises one account's flows (`key`) until the transaction ends.
pub(crate) async fn lock(conn: &mut PgConnection, key: &str) -> ApiResult<()> {
    platform::db::xact_lock(conn, &format!("identity:{key}"))
        .await
        .map_err(db)
}
