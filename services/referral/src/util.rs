//! Request helpers shared by the handlers.

use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

pub use rest::input::{body, db, validation};

/// A numeric `admin.system_config` value, or `default`.
pub async fn config_number(
    conn: &mut PgConnection,
    key: &str,
    default: f64,
) -> Result<f64, sqlx::Error> {
    let v: Option<Value> =
        sqlx::query_scalar("select config_value from admin.system_config where config_key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    Ok(v.and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
    .unwrap_or(default))
}

/// The first word of the user's profile name ("" without a profile).
pub async fn first_name(conn: &mut PgConnection, user: Uuid) -> Result<String, sqlx::Error> {
    let name: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(user)
            .fetch_optional(conn)
            .await?;
    Ok(name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("")
        .to_string())
}

/// Asks the notifications service for a message to a user (`notification.requested`).
pub async fn notify_user(
    conn: &mut PgConnection,
    user: Uuid,
    message: &str,
    data: Value,
) -> Result<(), sqlx::Error> {
    platform::outbox::publish(
        conn,
        "notification.requested",
        &json!({"user_id": user, "message": message, "data": data}),
        crate::NAME,
    )
    .await
    .map(|_| ())
}
