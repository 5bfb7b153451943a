use reqwest::Method;
use serde_json::{json, Value};

use crate::{audits, expect, stack};

async fn value(s: &crate::Stack, key: &str) -> Value {
    sqlx::query_scalar("select config_value from admin.system_config where config_key = $1")
        .bind(key)
        .fetch_one(&s.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn values_are_validated_against_their_json_schema_and_audited() {
    let s = stack().await;
    let key = "referral.daily_invitation_limit";
    let res = s
        .admin_req(Method::PUT, &format!("/config/{key}"))
        .json(&json!({"value": 51}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 400).await;
    assert_eq!(err["code"], "config_invalid");
    assert!(err["details"].as_str().unwrap().contains("50"), "{err}");
    let res = s
        .admin_req(Method::PUT, &format!("/config/{key}"))
        .json(&json!({"value": "20"}))
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    assert_eq!(value(&s, key).await, json!(50));
    assert!(audits(&s.db.pool, "system_config_update").await.is_empty());

    let ok = expect(
        s.admin_req(Method::PUT, &format!("/config/{key}"))
            .json(&json!({"value": 30}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ok["config_value"], 30);
    assert_eq!(value(&s, key).await, json!(30));
    let rows = audits(&s.db.pool, "system_config_update").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(s.admin));
    assert_eq!(rows[0].2.as_deref(), Some("req-test-1"));
    assert_eq!(rows[0].3.as_ref().unwrap()["config_value"], 50);
    assert_eq!(rows[0].4.as_ref().unwrap()["config_value"], 30);

    // The REST layer cannot write values (that would skip validation).
    let res = s
        .admin_req(
            Method::PATCH,
            &format!("/system_config?config_key=eq.{key}"),
        )
        .json(&json!({"config_value": 5000}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 403).await;
    assert_eq!(err["code"], "42501");
    let res = s
        .admin_req(Method::POST, "/system_config")
        .json(&json!({"config_key": "x", "config_value": 1, "data_type": "number"}))
        .send()
        .await
        .unwrap();
    expect(res, 403).await;
    assert_eq!(value(&s, key).await, json!(30));
    // Descriptions may still be edited there, audited.
    expect(
        s.admin_req(
            Method::PATCH,
            &format!("/system_config?config_key=eq.{key}"),
        )
        .json(&json!({"description": "Limite quotidienne"}))
        .send()
        .await
        .unwrap(),
        204,
    )
    .await;
    assert_eq!(audits(&s.db.pool, "system_config_update").await.len(), 2);

    // Non-admins are refused.
    let t = testkit::token(auth::Role::User, uuid::Uuid::new_v4());
    let res = s
        .app
        .request(Method::PUT, &format!("/config/{key}"))
        .bearer_auth(&t)
        .json(&json!({"value": 10}))
        .send()
        .await
        .unwrap();
    expect(res, 403).await;
}

#[tokio::test]
async fn sensitive_values_are_never_returned_in_clear() {
    let s = stack().await;
    let created = expect(
        s.admin_req(Method::PUT, "/config/wave.api_key")
            .json(
                &json!({"value": "sk_live_secret", "data_type": "string", "is_sensitive": true,
                          "validation_rules": {"type": "string", "minLength": 8},
                          "description": "Clé API Wave"}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(created["config_value"], "********");
    assert_eq!(created["masked"], true);
    let res = s
        .admin_req(Method::PUT, "/config/wave.api_key")
        .json(&json!({"value": "short"}))
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    expect(
        s.admin_req(Method::PUT, "/config/wave.api_key")
            .json(&json!({"value": "sk_live_other"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    let list = expect(
        s.admin_req(Method::GET, "/config").send().await.unwrap(),
        200,
    )
    .await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["config_key"] == "wave.api_key")
        .unwrap();
    assert_eq!(row["config_value"], "********");
    let plain = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["config_key"] == "referral.daily_invitation_limit")
        .unwrap();
    assert_eq!(plain["config_value"], 50);
    // REST: the row is not visible at all.
    let rows = expect(
        s.admin_req(Method::GET, "/system_config?config_key=eq.wave.api_key")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rows, json!([]));
    // Audit rows redact it.
    let text: String = sqlx::query_scalar("select coalesce(string_agg(old_values::text || new_values::text, ' '), '') from admin.audit_logs where resource_type = 'system_config'")
        .fetch_one(&s.db.pool).await.unwrap();
    assert!(!text.contains("sk_live"), "{text}");
    assert_eq!(audits(&s.db.pool, "system_config_insert").await.len(), 1);
    assert_eq!(audits(&s.db.pool, "system_config_update").await.len(), 1);
    // Stored in clear for the services.
    assert_eq!(value(&s, "wave.api_key").await, json!("sk_live_other"));
}
