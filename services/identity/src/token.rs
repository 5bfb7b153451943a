//! `POST /token`: `?grant_type=refresh_token` (here: rotation, reuse interval, revocation),
//! `?grant_type=password` (`crate::password`) and `?grant_type=id_token` (`crate::google`).
//! The body is read as the grant's own type ([`Grant`]), GoTrue's parameters of that grant.

use std::collections::HashMap;

use axum::{
    extract::{FromRequest, Query, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use rest::{
    extract,
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::{
    claims, crypto,
    google::{self, IdTokenRequest},
    password::{self, PasswordRequest},
    session::{
        banned, bind_admin_session, end_admin_sessions, load_user, new_session, session_json,
        Client,
    },
    AppState,
};

/// The body of `grant_type=refresh_token`: GoTrue's `RefreshTokenGrantParams` (and the
/// captcha field of auth-js, accepted and unused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
    #[allow(dead_code)]
    gotrue_meta_security: Option<Value>,
}

/// A `/token` request: the grant named by `?grant_type=` with its body. An unsupported
/// grant type is 400 `validation_failed` before the body is read; a body that is not the
/// grant's is 400 `PGRST102` naming the field.
pub enum Grant {
    Refresh(RefreshRequest),
    Password(PasswordRequest),
    IdToken(IdTokenRequest),
}

impl<S: Send + Sync> FromRequest<S> for Grant {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let q: HashMap<String, String> = Query::try_from_uri(req.uri())
            .map(|Query(q)| q)
            .unwrap_or_default();
        match q.get("grant_type").map(String::as_str) {
            Some("refresh_token") => {
                let extract::Json(r) = extract::Json::from_request(req, state).await?;
                Ok(Grant::Refresh(r))
            }
            Some("password") => {
                let extract::Json(r) = extract::Json::from_request(req, state).await?;
                Ok(Grant::Password(r))
            }
            Some("id_token") => {
                let extract::Json(r) = extract::Json::from_request(req, state).await?;
                Ok(Grant::IdToken(r))
            }
            _ => Err(validation(
                "grant_type doit valoir refresh_token, password ou id_token (unsupported grant_type)",
            )),
        }
    }
}

/// `POST /token?grant_type=…`: a session (see the module docs).
#[tracing::instrument(skip_all, fields(grant_type = grant.name()))]
pub async fn post_token(
    State(state): State<AppState>,
    client: Client,
    grant: Grant,
) -> Result<Response, ApiError> {
    match grant {
        Grant::Refresh(req) => refresh(state, client, req).await,
        Grant::Password(req) => password::password_grant(state, client, req).await,
        Grant::IdToken(req) => google::id_token_grant(state, client, req).await,
    }
}

impl Grant {
    fn name(&self) -> &'static str {
        match self {
            Grant::Refresh(_) => "refresh_token",
            Grant::Password(_) => "password",
            Grant::IdToken(_) => "id_token",
        }
    }
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
            revoke_chain(&mut tx, chain).await?;
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
        revoke_chain(&mut tx, chain).await?;
        tx.commit().await.map_err(db)?;
        rest::sessions::forget_user(user_id);
        return Err(bad_refresh("session_expired", "Session Expired"));
    }
    tx.commit().await.map_err(db)?;
    Ok(Json(session_json(&state, &user, chain, refresh, &amr)).into_response())
}

/// Revokes every refresh token of the sign-in `chain` (a revoked one keeps its time).
async fn revoke_chain(conn: &mut sqlx::PgConnection, chain: Uuid) -> ApiResult<()> {
    sqlx::query(
        "update identity.user_sessions set is_revoked = true, revoked_at = coalesce(revoked_at, now())
         where chain_id = $1",
    )
    .bind(chain)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}
