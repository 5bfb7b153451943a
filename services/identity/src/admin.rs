//! `POST /admin/users/{id}/roles`: admins change a user's roles; the change and its
//! `admin.audit_logs` row are written in one transaction. Taking admin away ends the user's
//! admin sessions (and so their sign-ins) in the same transaction.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use rest::{
    extract,
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::{
    caller::SignedInAdmin,
    session::{load_user, user_json, Client},
    AppState,
};

/// The roles `identity.users.roles` may hold.
pub const ROLES: [&str; 4] = ["user", "admin", "super_admin", "partner"];

/// The body of `POST /admin/users/{id}/roles`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    roles: Option<Vec<String>>,
}

/// Checks and de-duplicates roles (order kept); at least one.
pub fn parse_roles(roles: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        let r = r.trim();
        if !ROLES.contains(&r) {
            return Err(validation(&format!(
                "Rôle inconnu « {r} » (unknown role; expected user, admin, super_admin or partner)"
            )));
        }
        if !out.iter().any(|x| x == r) {
            out.push(r.to_string());
        }
    }
    if out.is_empty() {
        return Err(validation(
            "roles ne peut pas être vide (roles must not be empty)",
        ));
    }
    Ok(out)
}

/// `POST /admin/users/{id}/roles {roles}`: sets the user's roles (see the module docs).
#[tracing::instrument(skip_all, fields(user_id = %id, actor = %admin.id))]
pub async fn post_user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    admin: SignedInAdmin,
    headers: HeaderMap,
    client: Client,
    extract::Json(req): extract::Json<RolesRequest>,
) -> Result<Response, ApiError> {
    let actor = admin.id;
    let id = Uuid::parse_str(&id)
        .map_err(|_| validation("Identifiant d'utilisateur invalide (invalid user id)"))?;
    let roles = parse_roles(&req.roles.unwrap_or_default())?;

    let mut tx = state.db.begin().await.map_err(db)?;
    let old: Option<Vec<String>> = sqlx::query_scalar(
        "select coalesce(roles, array['user']) from identity.users where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(old) = old else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "user_not_found",
            "Utilisateur introuvable (user not found)",
        ));
    };
    // Granting or removing super_admin takes a super_admin.
    let touches_super =
        old.iter().any(|r| r == "super_admin") != roles.iter().any(|r| r == "super_admin");
    if touches_super {
        let actor_roles: Option<Vec<String>> = sqlx::query_scalar(
            "select coalesce(roles, array['user']) from identity.users where id = $1",
        )
        .bind(actor)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if !actor_roles.is_some_and(|r| r.iter().any(|x| x == "super_admin")) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_super_admin",
                "Seul un super administrateur peut donner ou retirer super_admin (super_admin only)",
            ));
        }
    }
    sqlx::query("update identity.users set roles = $2 where id = $1")
        .bind(id)
        .bind(&roles)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    // No longer an admin: the admin sessions end (and their sign-ins with them), so the
    // admin tokens already issued are refused everywhere at once.
    let was_admin = auth::Role::for_user_roles(&old) == auth::Role::Admin;
    let demoted = was_admin && auth::Role::for_user_roles(&roles) != auth::Role::Admin;
    if demoted {
        sqlx::query("select wolo.end_admin_sessions($1, null, 'revoked')")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(100).collect::<String>());
    sqlx::query(
        "insert into admin.audit_logs
             (actor_user_id, actor_type, actor_ip, action, resource_type, resource_id,
              old_values, new_values, request_id, user_agent, metadata)
         values ((select id from identity.users where id = $1), 'user', $2::inet,
                 'user_roles_changed', 'user', $3, $4, $5, $6, $7, jsonb_build_object('actor_sub', $1))",
    )
    .bind(actor)
    .bind(&client.ip)
    .bind(id)
    .bind(json!({"roles": old}))
    .bind(json!({"roles": roles}))
    .bind(&request_id)
    .bind(&client.user_agent)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let user = load_user(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::internal("user vanished"))?;
    tx.commit().await.map_err(db)?;
    if demoted {
        rest::sessions::forget_user(id);
    }
    Ok(Json(user_json(&user)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_checked_and_deduplicated() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_roles(&v(&["user", "partner", "user"])).unwrap(),
            v(&["user", "partner"])
        );
        assert!(parse_roles(&v(&["root"])).is_err());
        assert!(parse_roles(&v(&[])).is_err());
    }
}
