//! Admin sessions (`admin.admin_sessions`): identity opens one when it signs an admin in
//! (keyed by the SHA-256 of `sid:<session_id>` of the access token; expiry = now +
//! `WOLO_ADMIN_SESSION_HOURS`), and every service refuses an admin token whose admin
//! session is not open (`rest::sessions`, V104). The console records (or refreshes) it with
//! `POST /admin/sessions` (a token without `session_id`, made outside identity, is keyed by
//! the token itself), ends it with `POST /admin/sessions/{id}/end {reason}`; the job
//! [`expire_sessions_once`] ends the ones past `expires_at` with reason `timeout`. An ended
//! admin session revokes its sign-in and is never reopened; only a super admin ends another
//! admin's session (a trigger: the same rule holds for a REST PATCH). Writes are audited.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use rest::{
    extract::{self, Admin},
    ApiError,
};

use crate::AppState;
use rest::input::db;

/// Reasons a session may end with.
pub const REASONS: [&str; 4] = ["logout", "timeout", "revoked", "suspicious"];

const COLUMNS: &str = "id, user_id, host(ip_address) as ip_address, user_agent, admin_level,
    permissions_granted, created_at, last_activity_at, expires_at, terminated_at,
    termination_reason, is_suspicious";

/// `POST /sessions`: records (or refreshes) the admin session of this access token.
#[tracing::instrument(skip_all, fields(user_id = %admin.id))]
pub async fn post_session(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    client: platform::Client,
) -> Result<Response, ApiError> {
    let Admin { caller, id: user } = admin;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key = caller
        .claims
        .get("session_id")
        .or_else(|| caller.claims.get("sid"))
        .and_then(Value::as_str)
        .map(|s| format!("sid:{s}"))
        .unwrap_or_else(|| format!("token:{token}"));
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    let mut tx = rest::begin(&state.db, &caller, "POST", "/sessions", &headers, false).await?;
    // Admin sessions are opened by the service, never by the API roles (V104); the claims
    // stay set for the audit trail.
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    // An ended or expired admin session of this sign-in is not reopened: sign in again.
    let over: bool = sqlx::query_scalar(
        "select exists (select 1 from admin.admin_sessions
                         where session_token_hash = $1 and user_id = $2
                           and (terminated_at is not null or expires_at <= now()))",
    )
    .bind(&hash)
    .bind(user)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if over {
        return Err(rest::sessions::ended(rest::sessions::Shape::PostgRest));
    }
    platform::db::xact_lock(&mut tx, &format!("admin.sessions:{hash}"))
        .await
        .map_err(db)?;
    let existing: Option<Value> = sqlx::query_scalar(&format!(
        "update admin.admin_sessions set last_activity_at = now()
          where session_token_hash = $1 and user_id = $2 and terminated_at is null and expires_at > now()
          returning (select to_jsonb(x) from (select {COLUMNS}) x)"
    ))
    .bind(&hash)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    if let Some(row) = existing {
        tx.commit().await.map_err(db)?;
        return Ok(Json(row).into_response());
    }
    let row: Value = sqlx::query_scalar(&format!(
        "with w as (
            insert into admin.admin_sessions
                (user_id, session_token_hash, ip_address, user_agent, admin_level, permissions_granted, expires_at)
            select $1, $2, coalesce($3::inet, '0.0.0.0'::inet), $4,
                   case when 'super_admin' = any(coalesce(u.roles, array[]::text[])) then 'super' else 'regular' end,
                   coalesce(u.roles, array['user']), now() + make_interval(hours => $5)
              from identity.users u where u.id = $1
            returning *)
         select to_jsonb(x) from (select {COLUMNS} from w) x"
    ))
    .bind(user)
    .bind(&hash)
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref())
    .bind(state.session_hours)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| ApiError::not_found("user_not_found", "Compte administrateur introuvable (admin account not found)"))?;
    tx.commit().await.map_err(db)?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}

/// The body of `POST /sessions/{id}/end` (may be left out: reason `logout`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    pub reason: Option<String>,
}

/// `POST /sessions/{id}/end {reason?}`: ends an open admin session.
#[tracing::instrument(skip_all, fields(session_id = %id, user_id = %admin.id))]
pub async fn post_end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    admin: Admin,
    headers: HeaderMap,
    extract::Json(req): extract::Json<EndRequest>,
) -> Result<Response, ApiError> {
    let caller = admin.caller;
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            "Identifiant de session invalide (invalid session id)",
        )
    })?;
    let reason = req.reason.unwrap_or_else(|| "logout".into());
    if !REASONS.contains(&reason.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_reason",
            "reason : logout, timeout, revoked ou suspicious",
        ));
    }
    let mut tx = rest::begin(&state.db, &caller, "POST", "/sessions/end", &headers, false).await?;
    let row: Option<Value> = sqlx::query_scalar(&format!(
        "update admin.admin_sessions set terminated_at = now(), termination_reason = $2,
                is_suspicious = is_suspicious or $2 = 'suspicious'
          where id = $1 and terminated_at is null
          returning (select to_jsonb(x) from (select {COLUMNS}) x)"
    ))
    .bind(id)
    .bind(&reason)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from admin.admin_sessions where id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        return Err(if exists {
            ApiError::conflict("Session déjà terminée (session already ended)")
        } else {
            ApiError::not_found(
                "session_not_found",
                "Session introuvable (session not found)",
            )
        });
    };
    tx.commit().await.map_err(db)?;
    if let Some(owner) = row
        .get("user_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
    {
        rest::sessions::forget_user(owner);
    }
    Ok(Json(row).into_response())
}

/// Ends every open session past its expiry at `now` (reason `timeout`); returns how many.
pub async fn expire_sessions_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "update admin.admin_sessions set terminated_at = $1, termination_reason = 'timeout'
          where terminated_at is null and expires_at <= $1",
    )
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}
