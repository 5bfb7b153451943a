//! The admins' tunables the referral rules read (`admin.system_config`: points per event,
//! maturation delay, conversion rate, daily invitation limit).

use serde_json::Value;
use sqlx::PgConnection;

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
