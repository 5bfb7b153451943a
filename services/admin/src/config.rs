//! System configuration: `GET /admin/config` (every key, sensitive values masked) and
//! `PUT /admin/config/{key}` (value validated against the key's `validation_rules` JSON
//! Schema with the `jsonschema` crate; audited by the table's trigger in the same
//! transaction). The REST layer may not write values (V91 revokes it), so every value
//! change goes through this validation.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use rest::{
    extract::{self, Admin},
    ApiError,
};

use crate::AppState;
use rest::input::db;

/// What stands for a sensitive value in answers.
pub const MASK: &str = "********";

/// Validates `value` against the JSON Schema `rules`; the errors as `path: message`.
pub fn validate(rules: &Value, value: &Value) -> Result<(), Vec<String>> {
    let validator = jsonschema::validator_for(rules).map_err(|e| {
        vec![format!(
            "validation_rules n'est pas un schéma JSON valide : {e}"
        )]
    })?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let path = e.instance_path.to_string();
            format!("{}: {e}", if path.is_empty() { "/".into() } else { path })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether `value` is of the spec's `data_type`.
pub fn type_matches(data_type: &str, value: &Value) -> bool {
    match data_type {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    }
}

/// A config row as answered: the value replaced by [`MASK`] when sensitive.
fn masked(row: &Value) -> Value {
    let mut row = row.clone();
    if row["is_sensitive"].as_bool().unwrap_or(false) {
        row["config_value"] = Value::String(MASK.into());
        row["masked"] = Value::Bool(true);
    } else {
        row["masked"] = Value::Bool(false);
    }
    row
}

const COLUMNS: &str = "id, config_key, config_value, description, data_type, is_sensitive,
    validation_rules, environment, last_modified_by_user_id, created_at, updated_at";

/// Opens an admin request transaction, then acts as the service (table owner) for the
/// writes the API roles may not do; claims and headers stay set, so the audit trigger
/// records the admin as the actor.
async fn admin_tx(
    state: &AppState,
    admin: &Admin,
    headers: &HeaderMap,
    method: &str,
    path: &str,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    let mut tx = rest::begin(&state.db, &admin.caller, method, path, headers, false).await?;
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    Ok(tx)
}

/// `GET /config`: every row, sensitive values masked.
#[tracing::instrument(skip_all, fields(user_id = %admin.id))]
pub async fn get_config(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut tx = admin_tx(&state, &admin, &headers, "GET", "/config").await?;
    let rows: Vec<Value> = sqlx::query_scalar(&format!(
        "select to_jsonb(c) from (select {COLUMNS} from admin.system_config order by config_key) c"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Json(Value::Array(rows.iter().map(masked).collect())).into_response())
}

/// The body of `PUT /config/{key}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRequest {
    pub value: Option<Value>,
    pub description: Option<String>,
    pub data_type: Option<String>,
    pub validation_rules: Option<Value>,
    pub is_sensitive: Option<bool>,
    pub environment: Option<String>,
}

fn refused(errors: Vec<String>) -> ApiError {
    ApiError::bad_request(
        "config_invalid",
        "La valeur ne respecte pas les règles de validation (value does not match validation_rules)",
    )
    .details(errors.join("; "))
}

/// `PUT /config/{key}`: sets a value, validated against the key's rules.
#[tracing::instrument(skip_all, fields(config_key = %key, user_id = %admin.id))]
pub async fn put_config(
    State(state): State<AppState>,
    Path(key): Path<String>,
    admin: Admin,
    headers: HeaderMap,
    extract::Json(req): extract::Json<PutRequest>,
) -> Result<Response, ApiError> {
    let mut tx = admin_tx(&state, &admin, &headers, "PUT", &format!("/config/{key}")).await?;
    let Some(value) = req.value else {
        return Err(ApiError::bad_request(
            "missing_value",
            "value est obligatoire (value is required)",
        ));
    };
    if key.is_empty() || key.len() > 100 {
        return Err(ApiError::bad_request(
            "invalid_key",
            "Clé invalide (1 à 100 caractères)",
        ));
    }
    let current: Option<(String, Option<Value>)> = sqlx::query_as(
        "select data_type, validation_rules from admin.system_config where config_key = $1 for update",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let created = current.is_none();
    let data_type = match (&req.data_type, &current) {
        (Some(t), _) => t.clone(),
        (None, Some((t, _))) => t.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing_data_type",
                "data_type est obligatoire pour une nouvelle clé (string, number, boolean, object, array)",
            ))
        }
    };
    if !["string", "number", "boolean", "object", "array"].contains(&data_type.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_data_type",
            "data_type : string, number, boolean, object ou array",
        ));
    }
    if !type_matches(&data_type, &value) {
        return Err(refused(vec![format!(
            "/: la valeur n'est pas de type {data_type} (value is not a {data_type})"
        )]));
    }
    let rules = req
        .validation_rules
        .clone()
        .or_else(|| current.as_ref().and_then(|c| c.1.clone()))
        .filter(|r| !r.is_null());
    if let Some(rules) = &rules {
        validate(rules, &value).map_err(refused)?;
    }
    let row: Value = sqlx::query_scalar(&format!(
        "with w as (insert into admin.system_config as c
             (config_key, config_value, data_type, validation_rules, description, is_sensitive, environment)
         values ($1, $2, $3, $4, $5, coalesce($6, false), coalesce($7, 'production'))
         on conflict (config_key) do update set
             config_value = excluded.config_value,
             data_type = excluded.data_type,
             validation_rules = $4,
             description = coalesce($5, c.description),
             is_sensitive = coalesce($6, c.is_sensitive),
             environment = coalesce($7, c.environment)
         returning *)
         select to_jsonb(x) from (select {COLUMNS} from w) x"
    ))
    .bind(&key)
    .bind(&value)
    .bind(&data_type)
    .bind(&rules)
    .bind(&req.description)
    .bind(req.is_sensitive)
    .bind(&req.environment)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(masked(&row))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_refuses_out_of_range_and_wrong_types() {
        let rules = json!({"type": "integer", "minimum": 1, "maximum": 50});
        assert!(validate(&rules, &json!(10)).is_ok());
        assert!(validate(&rules, &json!(51)).is_err());
        assert!(validate(&rules, &json!("10")).is_err());
        assert!(validate(&json!({"type": "nonsense"}), &json!(1)).is_err());
    }
}
