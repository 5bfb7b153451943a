//! `POST /pots/{pot_id}/preferred-pack` {pack_id}: the pot's owner picks its pack.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rest::{
    extract::{Json, User},
    input::{db, uuid as parse_id},
    ApiError,
};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferredPack {
    /// Required, `null` clears the pack.
    #[serde(deserialize_with = "nullable")]
    pack_id: Option<String>,
}

/// A field that must be present but may be `null`.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::deserialize(d)
}

/// `POST /pots/{pot_id}/preferred-pack` {pack_id}: the owner (or an admin) sets the pot's
/// pack. The pot is locked, the pack must be active and available; `pack_id: null` clears it.
/// Answers the pot id, the pack and its effective price.
#[tracing::instrument(skip_all, fields(pot_id = %pot_id))]
pub async fn post_preferred_pack(
    User { caller, id: user }: User,
    State(state): State<AppState>,
    Path(pot_id): Path<String>,
    Json(req): Json<PreferredPack>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&pot_id, "pot_id")?;
    let pack_id = req
        .pack_id
        .as_deref()
        .map(|p| parse_id(p, "pack_id"))
        .transpose()?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let owner: Option<Uuid> =
        sqlx::query_scalar("select owner_user_id from pots.pots where id = $1 for update")
            .bind(pot_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let Some(owner) = owner else {
        return Err(ApiError::not_found(
            "pot_not_found",
            "Cagnotte introuvable (pot not found)",
        ));
    };
    if owner != user && caller.role != auth::Role::Admin {
        return Err(ApiError::forbidden(
            "Seul le propriétaire de la cagnotte peut choisir son pack (not the pot's owner)",
        ));
    }
    let issued: bool =
        sqlx::query_scalar("select exists (select 1 from qr.qr_codes where pot_id = $1)")
            .bind(pot_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    if issued {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "qr_already_issued",
            "Le QR code de cette cagnotte est déjà émis : le pack ne peut plus changer.",
        ));
    }
    let mut price: Option<i32> = None;
    let mut name: Option<String> = None;
    if let Some(pack_id) = pack_id {
        let row = sqlx::query(
            "select name, packs.is_available(id) as available, packs.effective_price_cfa(id) as price
             from packs.packs where id = $1",
        )
        .bind(pack_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row.filter(|r| r.get::<bool, _>("available")) else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "pack_unavailable",
                "Ce pack n'est pas disponible (inactive, hors dates ou épuisé).",
            ));
        };
        price = row.get("price");
        name = row.get("name");
    }
    sqlx::query("update pots.pots set preferred_pack_id = $2 where id = $1")
        .bind(pot_id)
        .bind(pack_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((
        StatusCode::OK,
        axum::Json(
            json!({"pot_id": pot_id, "preferred_pack_id": pack_id, "pack_name": name,
                    "effective_price_cfa": price}),
        ),
    )
        .into_response())
}
