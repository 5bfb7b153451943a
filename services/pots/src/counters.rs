//! `POST /pots/{id}/view` and `/share` (anonymous): the page's view and share counters.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
    Json,
};
use rest::{
    input::{db, uuid as parse_id},
    ApiError,
};
use serde_json::json;

use crate::{access::pot_not_found, AppState};

/// `POST /pots/{id}/view` (anonymous): one more view; 200 {view_count}.
#[tracing::instrument(skip_all, fields(pot_id = %id))]
pub async fn post_view(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    count(&state, &id, "view_count").await
}

/// `POST /pots/{id}/share` (anonymous): one more share (a visitor shared the link); 200
/// {share_count}.
#[tracing::instrument(skip_all, fields(pot_id = %id))]
pub async fn post_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    count(&state, &id, "share_count").await
}

async fn count(state: &AppState, id: &str, column: &'static str) -> Result<Response, ApiError> {
    let pot_id = parse_id(id, "pot")?;
    // One atomic statement: concurrent increments queue on the row lock, none is lost.
    let n: Option<i32> = sqlx::query_scalar(&format!(
        "update pots.pots set {column} = coalesce({column}, 0) + 1 where id = $1 returning {column}"
    ))
    .bind(pot_id)
    .fetch_optional(&state.db)
    .await
    .map_err(db)?;
    let n = n.ok_or_else(pot_not_found)?;
    Ok(Json(json!({ column: n })).into_response())
}
