//! Request bodies are GoTrue's request parameters, read by `rest::extract::Json`: a field
//! GoTrue does not take is a 400 `PGRST102` naming it, a wrong type names its field, and
//! neither writes anything (no code, no account, no throttling row, no message). What
//! `@supabase/auth-js` sends beside the parameters (`gotrue_meta_security`, `options`,
//! `data`, `create_user`, `channel`, PKCE fields) is accepted.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, s, stack, Stack, PHONE};

async fn count(st: &Stack, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
}

/// Rows any request might have written: codes, accounts, throttling attempts, reset
/// tokens, outbox messages, sessions.
async fn written(st: &Stack) -> [i64; 6] {
    [
        count(st, "select count(*) from identity.otp_codes").await,
        count(st, "select count(*) from identity.users").await,
        count(st, "select count(*) from identity.auth_attempts").await,
        count(st, "select count(*) from identity.password_reset_tokens").await,
        count(st, "select count(*) from wolo.outbox").await,
        count(st, "select count(*) from identity.user_sessions").await,
    ]
}

async fn refused(st: &Stack, path: &str, body: Value, field: &str) {
    let err = expect(st.post(path, body.clone()).await, 400).await;
    assert_eq!(err["code"], "PGRST102", "{path} {body}: {err}");
    assert!(
        err["message"].as_str().unwrap().contains(field),
        "{path} {body}: {err}"
    );
}

#[tokio::test]
async fn an_unknown_field_is_named_and_nothing_is_written() {
    let st = stack().await;
    let before = written(&st).await;
    for (path, body, field) in [
        (
            "/otp",
            json!({"phone": PHONE, "telephone": PHONE}),
            "telephone",
        ),
        (
            "/verify",
            json!({"type": "sms", "phone": PHONE, "token": "123456", "code": "123456"}),
            "code",
        ),
        (
            "/signup",
            json!({"email": "awa@example.sn", "password": "motdepasse-1", "username": "awa"}),
            "username",
        ),
        (
            "/resend",
            json!({"type": "signup", "email": "awa@example.sn", "redirect": "x"}),
            "redirect",
        ),
        (
            "/recover",
            json!({"email": "awa@example.sn", "redirect_to": "https://wolo.sn"}),
            "redirect_to",
        ),
        (
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": "x", "remember": true}),
            "remember",
        ),
        (
            "/token?grant_type=refresh_token",
            json!({"refresh_token": "x", "access_token": "y"}),
            "access_token",
        ),
        (
            "/token?grant_type=id_token",
            json!({"provider": "google", "id_token": "x", "prompt": "consent"}),
            "prompt",
        ),
    ] {
        refused(&st, path, body, field).await;
    }
    assert_eq!(written(&st).await, before);
}

#[tokio::test]
async fn a_wrong_type_names_the_field_and_nothing_is_written() {
    let st = stack().await;
    let before = written(&st).await;
    for (path, body, field) in [
        ("/otp", json!({"phone": 771234567}), "phone"),
        (
            "/verify",
            json!({"type": "sms", "phone": PHONE, "token": 123456}),
            "token",
        ),
        (
            "/signup",
            json!({"email": "awa@example.sn", "password": ["motdepasse-1"]}),
            "password",
        ),
        ("/recover", json!({"email": true}), "email"),
        (
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": 12345678}),
            "password",
        ),
    ] {
        refused(&st, path, body, field).await;
    }
    // Not JSON at all.
    let res = st
        .app
        .request(Method::POST, "/otp")
        .header("content-type", "application/json")
        .body("{\"phone\":")
        .send()
        .await
        .unwrap();
    let err = expect(res, 400).await;
    assert_eq!(err["code"], "PGRST102");
    assert_eq!(written(&st).await, before);
}

#[tokio::test]
async fn what_auth_js_sends_beside_the_parameters_is_accepted() {
    let st = stack().await;
    // signInWithOtp({phone}) sends data, create_user, channel and the captcha field.
    expect(
        st.post(
            "/otp",
            json!({"phone": PHONE, "data": {}, "create_user": true, "channel": "sms",
                   "gotrue_meta_security": {}}),
        )
        .await,
        200,
    )
    .await;
    let code = st.last_code(PHONE).await;
    // verifyOtp spreads its parameters (options too) beside the captcha field.
    let session = expect(
        st.post(
            "/verify",
            json!({"phone": PHONE, "token": code, "type": "sms",
                   "options": {"redirectTo": "https://wolo.sn"}, "gotrue_meta_security": {}}),
        )
        .await,
        200,
    )
    .await;
    let access = s(&session, "access_token");
    // signUp sends data, the captcha field and the PKCE fields.
    expect(
        st.post(
            "/signup",
            json!({"email": "awa@example.sn", "password": "motdepasse-1", "data": {},
                   "gotrue_meta_security": {}, "code_challenge": null,
                   "code_challenge_method": null}),
        )
        .await,
        200,
    )
    .await;
    expect(
        st.post(
            "/resend",
            json!({"type": "signup", "email": "awa@example.sn", "gotrue_meta_security": {}}),
        )
        .await,
        200,
    )
    .await;
    expect(
        st.post(
            "/recover",
            json!({"email": "awa@example.sn", "code_challenge": null,
                   "code_challenge_method": null, "gotrue_meta_security": {}}),
        )
        .await,
        200,
    )
    .await;
    // updateUser sends the PKCE fields beside the attributes.
    let res = st
        .app
        .request(Method::PUT, "/user")
        .bearer_auth(&access)
        .json(&json!({"data": {"ville": "Thiès"}, "code_challenge": null,
                      "code_challenge_method": null}))
        .send()
        .await
        .unwrap();
    let user = expect(res, 200).await;
    assert_eq!(user["user_metadata"]["ville"], "Thiès");
}

#[tokio::test]
async fn the_caller_is_checked_before_the_body_in_gotrues_words() {
    let st = stack().await;
    // No token: 401 no_authorization, whatever the body.
    let res = st
        .app
        .request(Method::PUT, "/user")
        .json(&json!({"nonsense": 1}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 401).await;
    assert_eq!(err["code"], "no_authorization");
    // A token that does not verify: 403 bad_jwt.
    let res = st
        .app
        .request(Method::PUT, "/user")
        .bearer_auth("not.a.token")
        .json(&json!({"nonsense": 1}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 403).await;
    assert_eq!(err["code"], "bad_jwt");
    // A user is not an admin: 403 not_admin before the body is read.
    let session = st.sign_in(PHONE).await;
    let user_id = s(&session["user"], "id");
    let res = st
        .app
        .request(Method::POST, &format!("/admin/users/{user_id}/roles"))
        .bearer_auth(s(&session, "access_token"))
        .json(&json!({"nonsense": 1}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 403).await;
    assert_eq!(err["code"], "not_admin");
    // A signed-in user's mistyped field is named.
    let res = st
        .app
        .request(Method::PUT, "/user")
        .bearer_auth(s(&session, "access_token"))
        .json(&json!({"email": 5}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 400).await;
    assert_eq!(err["code"], "PGRST102");
    assert!(err["message"].as_str().unwrap().contains("email"), "{err}");
}

#[tokio::test]
async fn setting_roles_with_an_unknown_field_changes_nothing() {
    let st = stack().await;
    let target = st.sign_in(PHONE).await;
    let target_id = s(&target["user"], "id");
    let admin_id: uuid::Uuid = sqlx::query_scalar(
        "insert into identity.users (email, auth_provider, roles)
         values ('admin@example.sn', 'email', array['user', 'admin']) returning id",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    let admin = testkit::token(auth::Role::Admin, admin_id);
    for (body, field) in [
        (json!({"roles": ["partner"], "reason": "caisse"}), "reason"),
        (json!({"roles": "partner"}), "roles"),
    ] {
        let res = st
            .app
            .request(Method::POST, &format!("/admin/users/{target_id}/roles"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let err = expect(res, 400).await;
        assert_eq!(err["code"], "PGRST102", "{body}: {err}");
        assert!(err["message"].as_str().unwrap().contains(field), "{err}");
    }
    let roles: Vec<String> = sqlx::query_scalar(
        "select coalesce(roles, array['user']) from identity.users where id = $1::uuid",
    )
    .bind(&target_id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(roles, vec!["user".to_string()]);
    assert_eq!(
        count(
            &st,
            "select count(*) from admin.audit_logs where action = 'user_roles_changed'"
        )
        .await,
        0
    );
}
