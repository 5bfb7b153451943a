//! Sponsor campaigns: their counters (`POST /campaigns/{id}/impression|click`) and the boost
//! other services apply to sponsorship points ([`apply_campaign_boost`]).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rest::{
    input::{db, uuid as parse_id},
    ApiError,
};
use sqlx::Row;
use uuid::Uuid;

use crate::AppState;

/// `POST /campaigns/{id}/impression|click`: 204, or 404 when the campaign is not active.
#[tracing::instrument(skip_all, fields(campaign_id = %id, kind = %kind))]
pub async fn post_campaign_event(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "id")?;
    if kind != "impression" && kind != "click" {
        return Err(ApiError::not_found("not_found", "Not found"));
    }
    let ok: bool = sqlx::query_scalar("select packs.record_campaign_event($1, $2)")
        .bind(id)
        .bind(&kind)
        .fetch_one(&state.db)
        .await
        .map_err(db)?;
    if !ok {
        return Err(ApiError::not_found(
            "campaign_not_active",
            "Campagne introuvable ou inactive (campaign not active)",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// [`packs.apply_campaign_boost`](docs/packs.md) from Rust: `(points to credit, campaign)`.
pub async fn apply_campaign_boost(
    conn: &mut sqlx::PgConnection,
    sponsor_user_id: Uuid,
    points: i32,
    context: &serde_json::Value,
) -> Result<(i32, Option<Uuid>), sqlx::Error> {
    let row = sqlx::query("select points, campaign_id from packs.apply_campaign_boost($1, $2, $3)")
        .bind(sponsor_user_id)
        .bind(points)
        .bind(context)
        .fetch_one(conn)
        .await?;
    Ok((row.get("points"), row.get("campaign_id")))
}
