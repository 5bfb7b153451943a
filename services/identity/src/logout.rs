//! `POST /logout?scope=global | local | others`: revokes the refresh tokens of the signed-in
//! user's sign-ins (all of them, this one, or the others) and ends their admin sessions;
//! 204.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use rest::{
    input::{db, validation},
    ApiError,
};

use crate::{caller::SignedIn, session::end_admin_sessions, AppState};

/// `POST /logout?scope=…` (see the module docs).
#[tracing::instrument(skip_all, fields(user_id = %who.user))]
pub async fn post_logout(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (user_id, session) = (who.user, who.session);
    let scope = q.get("scope").map(String::as_str).unwrap_or("global");
    let sql = match scope {
        "global" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                     where user_id = $1 and not coalesce(is_revoked, false) returning chain_id",
        "local" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                    where user_id = $1 and chain_id = $2 and not coalesce(is_revoked, false) returning chain_id",
        "others" => "update identity.user_sessions set is_revoked = true, revoked_at = now()
                     where user_id = $1 and chain_id is distinct from $2 and not coalesce(is_revoked, false)
                     returning chain_id",
        _ => return Err(validation("scope doit valoir global, local ou others (invalid scope)")),
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let mut chains: Vec<Uuid> = sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(session)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    if scope == "local" {
        // The admin session of this sign-in ends even when its tokens were already revoked.
        chains.extend(session);
    }
    chains.sort();
    chains.dedup();
    end_admin_sessions(&mut tx, user_id, Some(&chains), "logout").await?;
    tx.commit().await.map_err(db)?;
    rest::sessions::forget_user(user_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
