use reqwest::Method;
use serde_json::json;

use crate::{expect, stack};

#[tokio::test]
async fn audit_logs_cannot_be_edited_even_by_admins() {
    let s = stack().await;
    expect(
        s.admin_req(Method::PUT, "/config/referral.invitation_validity_days")
            .json(&json!({"value": 10}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let before: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert!(before >= 1);
    // Admins read them through the REST layer, with filters.
    let rows = expect(
        s.admin_req(
            Method::GET,
            "/audit_logs?action=eq.system_config_update&select=action,request_id",
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        rows,
        json!([{"action": "system_config_update", "request_id": "req-test-1"}])
    );
    let res = s
        .admin_req(Method::PATCH, "/audit_logs?action=eq.system_config_update")
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = s
        .admin_req(Method::DELETE, "/audit_logs?action=eq.system_config_update")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // Not even the table owner.
    assert!(sqlx::query("update admin.audit_logs set reason = 'x'")
        .execute(&s.db.pool)
        .await
        .is_err());
    assert!(sqlx::query("delete from admin.audit_logs")
        .execute(&s.db.pool)
        .await
        .is_err());
    let after: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    let reason: Option<String> = sqlx::query_scalar("select reason from admin.audit_logs limit 1")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(reason, None);
}
