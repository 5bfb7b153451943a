//! What the custom endpoints share: the request transaction, the owner check, the errors.
//!
//! The endpoints run on the service's pool (table owner) with the access checks written out
//! here; each request is one transaction.

use axum::http::HeaderMap;
use chrono::NaiveDate;
use rest::{input::db, ApiError, ApiResult};
use uuid::Uuid;

use crate::AppState;

/// An unexpected failure: a database error keeps its answer, anything else is a logged 500.
pub fn internal(e: anyhow::Error) -> ApiError {
    match e.downcast::<sqlx::Error>() {
        Ok(e) => db(e),
        Err(e) => {
            tracing::error!(error = %e, "pots endpoint failed");
            ApiError::internal("see the server log")
        }
    }
}

/// 404 `pot_not_found`.
pub fn pot_not_found() -> ApiError {
    ApiError::not_found("pot_not_found", "Cagnotte introuvable (pot not found)")
}

/// A request transaction carrying the caller's claims and headers (for `wolo.audit()` and the
/// audit triggers), whose writes are the service's own (table owner), not the caller's role:
/// the access checks are written out in the handlers.
pub async fn service_tx(
    state: &AppState,
    caller: &auth::Caller,
    method: &str,
    path: &str,
    headers: &HeaderMap,
) -> ApiResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = rest::begin(&state.db, caller, method, path, headers, false).await?;
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    Ok(tx)
}

/// id, owner_user_id, title, birthday_date, status.
pub type PotRow = (Uuid, Uuid, String, NaiveDate, String);

/// The caller (signed in as `user`) must be the pot's owner (or an admin). Locks the pot row.
pub async fn owned_pot(
    conn: &mut sqlx::PgConnection,
    caller: &auth::Caller,
    user: Uuid,
    pot_id: Uuid,
) -> ApiResult<PotRow> {
    let pot: Option<PotRow> = sqlx::query_as(
        "select id, owner_user_id, title, birthday_date, coalesce(status, 'scheduled')
         from pots.pots where id = $1 for update",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let pot = pot.ok_or_else(pot_not_found)?;
    if pot.1 != user && caller.role != auth::Role::Admin {
        return Err(ApiError::forbidden(
            "Seul le propriétaire de la cagnotte peut faire cela (only the pot's owner may do this)",
        ));
    }
    Ok(pot)
}
