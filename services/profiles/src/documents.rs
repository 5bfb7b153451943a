//! The identity document flow: `POST /me/identity-document` (the caller registers a
//! document: HMAC fingerprint, number encrypted with AES-256-GCM, [`crate::crypto`]) and
//! `POST /{user_id}/identity-document/verify` (an admin marks it verified, audited).
//! Document numbers are never logged.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use rest::extract::{Admin, Json, User};
use rest::input::{db, validation};
use rest::ApiError;

use crate::profile::profile_json;
use crate::{crypto, AppState};

pub const DOCUMENT_TYPES: [&str; 3] = ["passport", "national_id", "birth_certificate"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    number: Option<String>,
    country: Option<String>,
    media_url: Option<String>,
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn post_identity_document(
    State(state): State<AppState>,
    user: User,
    Json(input): Json<DocumentInput>,
) -> Result<Response, ApiError> {
    let me = user.id;
    let kind = input.kind.unwrap_or_default();
    if !DOCUMENT_TYPES.contains(&kind.as_str()) {
        return Err(validation(
            "type : passport, national_id ou birth_certificate (unknown document type)",
        ));
    }
    let number = crypto::normalise_number(&input.number.unwrap_or_default());
    if !(4..=30).contains(&number.chars().count()) {
        return Err(validation(
            "Numéro de document invalide : 4 à 30 lettres ou chiffres (invalid number)",
        ));
    }
    let country = input
        .country
        .unwrap_or_else(|| "SEN".into())
        .trim()
        .to_uppercase();
    if country.len() != 3 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(validation(
            "country : code ISO à 3 lettres, par exemple SEN (invalid country)",
        ));
    }
    if let Some(u) = &input.media_url {
        if !u.starts_with("https://") || u.len() > 500 {
            return Err(validation(
                "media_url : une URL https de 500 caractères au plus",
            ));
        }
    }
    let hash = state.keys.id_hash(&number);
    let taken = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "id_document_already_registered",
            "Ce document d'identité est déjà enregistré sur un autre compte (document already registered)",
        )
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let current: Option<Option<String>> =
        sqlx::query_scalar("select id_hash from profiles.profiles where user_id = $1 for update")
            .bind(me)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let Some(current) = current else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "profile_required",
            "Complétez d'abord votre profil (complete the profile first)",
        ));
    };
    let other: bool = sqlx::query_scalar(
        "select exists (select 1 from profiles.profiles where id_hash = $1 and user_id <> $2)",
    )
    .bind(&hash)
    .bind(me)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if other {
        return Err(taken());
    }
    let same = current.as_deref() == Some(hash.as_str());
    sqlx::query(
        "update profiles.profiles set
             id_type = $2, id_country = $3, id_hash = $4, id_number = null,
             id_number_encrypted = $5, id_media_url = coalesce($6, id_media_url),
             id_verified_at = case when $7 then id_verified_at end,
             id_verified_by = case when $7 then id_verified_by end
         where user_id = $1",
    )
    .bind(me)
    .bind(&kind)
    .bind(&country)
    .bind(&hash)
    .bind(state.keys.encrypt(&number))
    .bind(&input.media_url)
    .bind(same)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => taken(),
        _ => db(e),
    })?;
    let out = profile_json(&mut tx, &state.keys, me, state.clock.today())
        .await?
        .ok_or_else(|| ApiError::internal("profile vanished"))?;
    tx.commit().await.map_err(db)?;
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(admin_id = %admin.id, user_id = %user))]
pub async fn post_verify_document(
    State(state): State<AppState>,
    admin: Admin,
    Path(user): Path<String>,
    headers: HeaderMap,
    Json(input): Json<VerifyInput>,
) -> Result<Response, ApiError> {
    let Admin { caller, id: admin } = admin;
    let user =
        Uuid::parse_str(&user).map_err(|_| validation("Identifiant invalide (invalid user id)"))?;
    let path = format!("/{user}/identity-document/verify");
    let mut tx = rest::begin(&state.db, &caller, "POST", &path, &headers, false).await?;
    let row = sqlx::query(
        "select id_hash, id_type, id_country, id_verified_at, id_verified_by
         from profiles.profiles where user_id = $1 for update",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| {
        ApiError::not_found(
            "profile_not_found",
            "Profil introuvable (profile not found)",
        )
    })?;
    let hash: Option<String> = row.get("id_hash");
    if hash.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_identity_document",
            "Aucun document d'identité enregistré (no identity document)",
        ));
    }
    let old = json!({
        "id_type": row.get::<Option<String>, _>("id_type"),
        "id_country": row.get::<Option<String>, _>("id_country"),
        "id_verified_at": row.get::<Option<chrono::DateTime<Utc>>, _>("id_verified_at"),
        "id_verified_by": row.get::<Option<Uuid>, _>("id_verified_by"),
    });
    let verified_at: chrono::DateTime<Utc> = sqlx::query_scalar(
        "update profiles.profiles set id_verified_at = now(), id_verified_by = $2
         where user_id = $1 returning id_verified_at",
    )
    .bind(user)
    .bind(admin)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let new = json!({"id_verified_at": verified_at, "id_verified_by": admin});
    sqlx::query("select wolo.audit('identity_document_verified', 'profile', $1, $2, $3, $4, $5)")
        .bind(user)
        .bind(&old)
        .bind(&new)
        .bind(&input.reason)
        .bind(json!({"id_type": old["id_type"], "id_country": old["id_country"]}))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(
        axum::Json(
            json!({"user_id": user, "id_verified_at": verified_at, "id_verified_by": admin}),
        )
        .into_response(),
    )
}
