//! Request bodies are read by `rest::extract::Json`: an unknown field or a wrong type is a
//! 400 `PGRST102` naming the field, checked before anything is written; the caller is
//! checked before the body.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{audits, expect, stack};

#[tokio::test]
async fn an_unknown_config_field_is_named_and_nothing_is_written() {
    let s = stack().await;
    let key = "referral.daily_invitation_limit";
    let before: Value =
        sqlx::query_scalar("select config_value from admin.system_config where config_key = $1")
            .bind(key)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    let err = expect(
        s.admin_req(Method::PUT, &format!("/config/{key}"))
            .json(&json!({"value": 30, "sensitive": true}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("sensitive"),
        "{err}"
    );
    assert!(
        err["hint"].as_str().unwrap().contains("is_sensitive"),
        "{err}"
    );
    // A wrong type names its field.
    let err = expect(
        s.admin_req(Method::PUT, &format!("/config/{key}"))
            .json(&json!({"value": 30, "is_sensitive": "oui"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("is_sensitive"),
        "{err}"
    );
    let after: Value =
        sqlx::query_scalar("select config_value from admin.system_config where config_key = $1")
            .bind(key)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    assert_eq!(after, before);
    assert!(audits(&s.db.pool, "system_config_update").await.is_empty());
    // A new key with an unknown field is not created either.
    expect(
        s.admin_req(Method::PUT, "/config/test.nouvelle_cle")
            .json(&json!({"value": 1, "data_type": "number", "owner": "moi"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from admin.system_config where config_key = 'test.nouvelle_cle'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_caller_is_checked_before_the_body() {
    let s = stack().await;
    let res = s
        .app
        .request(Method::PUT, "/config/referral.daily_invitation_limit")
        .json(&json!({"nonsense": true}))
        .send()
        .await
        .unwrap();
    expect(res, 401).await;
    let user = testkit::token(auth::Role::User, Uuid::new_v4());
    let res = s
        .app
        .request(Method::POST, &format!("/sessions/{}/end", Uuid::new_v4()))
        .bearer_auth(user)
        .json(&json!({"nonsense": true}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 403).await;
    assert_eq!(err["code"], "42501", "{err}");
}

#[tokio::test]
async fn ending_a_session_names_an_unknown_or_mistyped_field_and_ends_nothing() {
    let s = stack().await;
    let session = expect(
        s.admin_req(Method::POST, "/sessions").send().await.unwrap(),
        201,
    )
    .await;
    let id = session["id"].as_str().unwrap().to_string();
    for (body, field) in [
        (json!({"reason": "logout", "why": "fin"}), "why"),
        (json!({"reason": 3}), "reason"),
    ] {
        let err = expect(
            s.admin_req(Method::POST, &format!("/sessions/{id}/end"))
                .json(&body)
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert_eq!(err["code"], "PGRST102", "{err}");
        assert!(err["message"].as_str().unwrap().contains(field), "{err}");
    }
    let ended: bool = sqlx::query_scalar(
        "select terminated_at is not null from admin.admin_sessions where id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert!(!ended);
    // No body at all still ends it (reason logout).
    let row = expect(
        s.admin_req(Method::POST, &format!("/sessions/{id}/end"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(row["termination_reason"], "logout");
}
