//! Admin endpoints on partner settlements, each one transaction under the admin's role
//! (so the row trigger and `wolo.audit()` record who did it):
//! - `POST /settlements/{id}/approve`: `pending` → `approved` (approved_by, approved_at);
//! - `POST /settlements/{id}/paid` {payment_reference, receipt_url?}: `approved` → `paid`.
//!
//! A settlement in another status answers 409 with its status.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use rest::extract::{Admin, Json};
use rest::ApiError;

use crate::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PaidRequest {
    payment_reference: Option<String>,
    receipt_url: Option<String>,
    reason: Option<String>,
}

async fn transition(
    state: &AppState,
    admin: Admin,
    headers: &HeaderMap,
    id: &str,
    path: &str,
    paid: Option<PaidRequest>,
) -> Result<Response, ApiError> {
    let Admin { caller, id: admin } = admin;
    let id = Uuid::parse_str(id).map_err(|_| {
        ApiError::bad_request("validation_failed", "Identifiant invalide (invalid id)")
    })?;
    let mut tx = rest::begin(&state.db, &caller, "POST", path, headers, false).await?;
    let err = |e| ApiError::from_sqlx(e, false);
    let old: Option<Value> = sqlx::query_scalar(
        "select to_jsonb(s) from qr.partner_settlements s where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(err)?;
    let Some(old) = old else {
        return Err(ApiError::not_found(
            "settlement_not_found",
            "Règlement introuvable (settlement not found)",
        ));
    };
    let (from, action, new): (&str, &str, Option<Value>) = match &paid {
        None => (
            "pending",
            "partner_settlement_approved",
            sqlx::query_scalar(
                "update qr.partner_settlements
                 set status = 'approved', approved_by_user_id = $2, approved_at = now()
                 where id = $1 and status = 'pending' returning to_jsonb(partner_settlements)",
            )
            .bind(id)
            .bind(admin)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?,
        ),
        Some(p) => {
            let reference = p
                .payment_reference
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "validation_failed",
                        "payment_reference est obligatoire (payment_reference is required)",
                    )
                })?;
            (
                "approved",
                "partner_settlement_paid",
                sqlx::query_scalar(
                    "update qr.partner_settlements
                     set status = 'paid', paid_at = now(), payment_reference = $2,
                         receipt_url = coalesce($3, receipt_url)
                     where id = $1 and status = 'approved' returning to_jsonb(partner_settlements)",
                )
                .bind(id)
                .bind(reference)
                .bind(p.receipt_url.as_deref())
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?,
            )
        }
    };
    let Some(new) = new else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_status",
            format!(
                "Ce règlement est « {} » : seul un règlement « {from} » peut passer à cette étape.",
                old["status"].as_str().unwrap_or("?")
            ),
        ));
    };
    sqlx::query("select wolo.audit($1, 'partner_settlement', $2, $3, $4, $5, null)")
        .bind(action)
        .bind(id)
        .bind(&old)
        .bind(&new)
        .bind(paid.and_then(|p| p.reason))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok((StatusCode::OK, axum::Json(json!(new))).into_response())
}

#[tracing::instrument(skip_all, fields(settlement_id = %id, admin_id = %admin.id))]
pub async fn post_approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = format!("/qr/settlements/{id}/approve");
    transition(&state, admin, &headers, &id, &path, None).await
}

#[tracing::instrument(skip_all, fields(settlement_id = %id, admin_id = %admin.id))]
pub async fn post_paid(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<PaidRequest>,
) -> Result<Response, ApiError> {
    let path = format!("/qr/settlements/{id}/paid");
    transition(&state, admin, &headers, &id, &path, Some(req)).await
}
