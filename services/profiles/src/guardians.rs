//! The guardian flow of a minor's profile: the guardian a minor names is asked to confirm
//! ([`ask_to_confirm`], from `PUT /me`), and confirms with
//! `POST /guardianship/{minor_id}/confirm` (the guardian's token); until then the minor's pot
//! cannot open.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use platform::events::{self, NotificationRequested};
use serde_json::json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::extract::User;
use rest::input::{db, validation};
use rest::ApiError;

use crate::AppState;

/// Asks `guardian` to confirm the minor `minor_name` (message
/// `guardian_confirmation_requested`), in the caller's transaction.
pub async fn ask_to_confirm(
    conn: &mut PgConnection,
    guardian: Uuid,
    minor_name: &str,
    relationship: Option<&str>,
) -> Result<(), sqlx::Error> {
    let relationship = match relationship {
        Some("parent") => "parent",
        Some("guardian") => "tuteur légal",
        Some("grandparent") => "grand-parent",
        Some("sibling") => "frère ou sœur",
        Some("uncle_aunt") => "oncle ou tante",
        _ => "proche",
    };
    let message = NotificationRequested::to_user(guardian, "guardian_confirmation_requested")
        .var("minor_name", minor_name)
        .var("relationship", relationship);
    events::publish(conn, &message, crate::NAME).await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = %user.id, minor_id = %minor))]
pub async fn post_confirm_guardianship(
    State(state): State<AppState>,
    user: User,
    Path(minor): Path<String>,
) -> Result<Response, ApiError> {
    let me = user.id;
    let minor = Uuid::parse_str(&minor)
        .map_err(|_| validation("Identifiant invalide (invalid user id)"))?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(
        "select guardian_user_id, guardian_confirmed_at from profiles.profiles where user_id = $1 for update",
    )
    .bind(minor)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| ApiError::not_found("profile_not_found", "Profil introuvable (profile not found)"))?;
    let guardian: Option<Uuid> = row.get("guardian_user_id");
    if guardian != Some(me) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_guardian",
            "Vous n'êtes pas le tuteur désigné de ce profil (not this minor's guardian)",
        ));
    }
    let confirmed: Option<chrono::DateTime<Utc>> = row.get("guardian_confirmed_at");
    let confirmed = match confirmed {
        Some(t) => t,
        None => sqlx::query_scalar(
            "update profiles.profiles set guardian_confirmed_at = now(), guardian_confirmed_by = $2
             where user_id = $1 returning guardian_confirmed_at",
        )
        .bind(minor)
        .bind(me)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?,
    };
    tx.commit().await.map_err(db)?;
    Ok(Json(
        json!({"minor_user_id": minor, "guardian_user_id": me, "guardian_confirmed_at": confirmed}),
    )
    .into_response())
}
