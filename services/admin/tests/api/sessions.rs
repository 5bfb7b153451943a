use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use crate::{audits, expect, stack};

#[tokio::test]
async fn admin_sessions_are_recorded_ended_and_expired() {
    let s = stack().await;
    let first = expect(
        s.admin_req(Method::POST, "/sessions").send().await.unwrap(),
        201,
    )
    .await;
    assert_eq!(first["user_id"], s.admin.to_string());
    assert_eq!(first["ip_address"], "127.0.0.1");
    assert_eq!(first["admin_level"], "regular");
    assert_eq!(first["user_agent"], "wolo-admin-test/1.0");
    // The same token again: the same session, activity refreshed.
    let again = expect(
        s.admin_req(Method::POST, "/sessions").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(again["id"], first["id"]);
    let id = first["id"].as_str().unwrap();
    let bad = s
        .admin_req(Method::POST, &format!("/sessions/{id}/end"))
        .json(&json!({"reason": "bored"}))
        .send()
        .await
        .unwrap();
    expect(bad, 400).await;
    let ended = expect(
        s.admin_req(Method::POST, &format!("/sessions/{id}/end"))
            .json(&json!({"reason": "logout"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ended["termination_reason"], "logout");
    assert!(ended["terminated_at"].is_string());
    expect(
        s.admin_req(Method::POST, &format!("/sessions/{id}/end"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let ins = audits(&s.db.pool, "admin_sessions_insert").await;
    assert_eq!(ins.len(), 1);
    assert_eq!(
        ins[0].4.as_ref().unwrap()["session_token_hash"],
        "[redacted]"
    );
    assert_eq!(audits(&s.db.pool, "admin_sessions_update").await.len(), 2);

    // A new sign-in, past its expiry: the job ends it with reason timeout.
    let other = crate::admin_user(&s.db.pool, "other@wolo.sn").await;
    let t = testkit::token(auth::Role::Admin, other);
    let second = expect(
        s.app
            .request(Method::POST, "/sessions")
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(
        admin::sessions::expire_sessions_once(&s.db.service_pool("admin"), Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        admin::sessions::expire_sessions_once(
            &s.db.service_pool("admin"),
            Utc::now() + Duration::hours(9)
        )
        .await
        .unwrap(),
        1
    );
    let reason: Option<String> = sqlx::query_scalar(
        "select termination_reason from admin.admin_sessions where id = $1::uuid",
    )
    .bind(second["id"].as_str().unwrap())
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("timeout"));
    // Users may not open admin sessions.
    let u = testkit::token(auth::Role::User, uuid::Uuid::new_v4());
    expect(
        s.app
            .request(Method::POST, "/sessions")
            .bearer_auth(&u)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
}
