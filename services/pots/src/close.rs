//! `POST /pots/{id}/close` {reason?}: the owner (or an admin) closes the pot.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use rest::{
    extract::{Json, User},
    input::{db, uuid as parse_id, validation},
    ApiError, ApiResult,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    access::{internal, owned_pot, pot_not_found, service_tx},
    lifecycle::{close_pot, CloseError},
    AppState,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /pots/{id}/close` {reason?} (default `owner`, 100 characters at most): 200 the pot;
/// 403 not the owner; 409 `pot_closed`.
#[tracing::instrument(skip_all, fields(pot_id = %id))]
pub async fn post_close(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<CloseRequest>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&id, "pot")?;
    let reason = req
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "owner".to_string());
    if reason.chars().count() > 100 {
        return Err(validation(
            "reason : 100 caractères au plus (reason: at most 100 characters)",
        ));
    }
    let path = format!("/pots/{pot_id}/close");
    let mut tx = service_tx(&state, &user.caller, "POST", &path, &headers).await?;
    owned_pot(&mut tx, &user.caller, user.id, pot_id).await?;
    match close_pot(&mut tx, pot_id, &reason, Utc::now())
        .await
        .map_err(internal)?
    {
        Ok(()) => {}
        Err(CloseError::NotFound) => return Err(pot_not_found()),
        Err(CloseError::AlreadyClosed) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "pot_closed",
                "Cette cagnotte est déjà fermée (the pot is already closed)",
            ))
        }
    }
    let pot = pot_json(&mut tx, pot_id).await?;
    tx.commit().await.map_err(db)?;
    Ok(axum::Json(pot).into_response())
}

async fn pot_json(conn: &mut sqlx::PgConnection, pot_id: Uuid) -> ApiResult<Value> {
    sqlx::query_scalar("select to_jsonb(p) from pots.pots p where id = $1")
        .bind(pot_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}
