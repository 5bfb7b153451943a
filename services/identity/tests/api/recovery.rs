use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, s, stack, Stack};

const EMAIL: &str = "awa@example.sn";
const OLD: &str = "ancien-mot-1";
const NEW: &str = "nouveau-mot-2";

async fn reset_events(st: &Stack) -> Vec<Value> {
    sqlx::query_scalar(
        "select payload from wolo.outbox
         where topic = 'notification.requested' and payload->>'message' = 'password_reset'
         order by id",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap()
}

async fn put_password(st: &Stack, access: &str, password: &str) -> reqwest::Response {
    st.app
        .request(Method::PUT, "/user")
        .bearer_auth(access)
        .json(&json!({"password": password}))
        .send()
        .await
        .unwrap()
}

async fn password_sign_in(st: &Stack, password: &str) -> reqwest::Response {
    st.post(
        "/token?grant_type=password",
        json!({"email": EMAIL, "password": password}),
    )
    .await
}

#[tokio::test]
async fn recover_verify_and_set_a_new_password() {
    let st = stack().await;
    let first = st.signup(EMAIL, OLD).await;
    let second = expect(password_sign_in(&st, OLD).await, 200).await;

    assert_eq!(
        expect(
            st.post("/recover", json!({"email": "AWA@example.sn"}))
                .await,
            200
        )
        .await,
        json!({})
    );
    let events = reset_events(&st).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["recipient"]["email"], EMAIL);
    assert_eq!(event["locale"], "fr-SN");
    assert_eq!(event["data"]["minutes"], 60);
    assert_eq!(event["data"]["first_name"], "awa");
    let url = s(&event["data"], "reset_url");
    // No WOLO_PUBLIC_WEB_URL: the suite's own reset page.
    let token = url
        .split_once("/reset?token=")
        .filter(|(base, _)| base.starts_with("http://localhost:"))
        .unwrap_or_else(|| panic!("{url}"))
        .1
        .to_string();
    assert_eq!(token.len(), 43);
    // Only the hash is stored, valid one hour.
    let (hash, minutes): (String, f64) = sqlx::query_as(
        "select token_hash, extract(epoch from expires_at - created_at)::float8 / 60
         from identity.password_reset_tokens",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(hash, identity::crypto::sha256_hex(&token));
    assert!((minutes - 60.0).abs() < 1.0, "{minutes}");
    // The payload is a valid request for the notifications service (password_reset.fr-SN).
    let req: notifications::MessageRequest = serde_json::from_value(event.clone()).unwrap();
    let mut conn = st.db.pool.acquire().await.unwrap();
    let queued = notifications::request_message_at(&mut conn, req, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    drop(conn);

    // A wrong token, or the right one with another e-mail: refused, token kept.
    let bad = expect(
        st.post("/verify", json!({"type": "recovery", "token_hash": "nope"}))
            .await,
        403,
    )
    .await;
    assert_eq!(bad["code"], "otp_expired");
    expect(
        st.post(
            "/verify",
            json!({"type": "recovery", "token": token, "email": "other@example.sn"}),
        )
        .await,
        403,
    )
    .await;

    let session = expect(
        st.post(
            "/verify",
            json!({"type": "recovery", "token_hash": token, "email": EMAIL}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(session["user"]["email"], EMAIL);
    assert_eq!(session["token_type"], "bearer");

    // Every earlier sign-in is revoked; the new one works.
    for old in [&first, &second] {
        let err = expect(st.refresh(&s(old, "refresh_token")).await, 400).await;
        assert_eq!(err["code"], "session_expired");
    }
    expect(st.refresh(&s(&session, "refresh_token")).await, 200).await;

    // Single use.
    let again = expect(
        st.post("/verify", json!({"type": "recovery", "token_hash": token}))
            .await,
        403,
    )
    .await;
    assert_eq!(again["code"], "otp_expired");

    // The new password, with the recovery session.
    let short = expect(
        put_password(&st, &s(&session, "access_token"), "court").await,
        422,
    )
    .await;
    assert_eq!(short["code"], "weak_password");
    let user = expect(
        put_password(&st, &s(&session, "access_token"), NEW).await,
        200,
    )
    .await;
    assert_eq!(user["email"], EMAIL);
    let err = expect(password_sign_in(&st, OLD).await, 400).await;
    assert_eq!(err["code"], "invalid_credentials");
    let signed = expect(password_sign_in(&st, NEW).await, 200).await;
    assert_eq!(signed["user"]["id"], first["user"]["id"]);
}

#[tokio::test]
async fn unknown_or_deactivated_addresses_get_200_and_nothing_is_sent() {
    let st = stack().await;
    assert_eq!(
        expect(
            st.post("/recover", json!({"email": "personne@example.sn"}))
                .await,
            200
        )
        .await,
        json!({})
    );
    // A malformed address is a validation error, not a lookup.
    expect(
        st.post("/recover", json!({"email": "pas-un-email"})).await,
        400,
    )
    .await;
    st.signup(EMAIL, OLD).await;
    sqlx::query("update identity.users set is_active = false")
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(st.post("/recover", json!({"email": EMAIL})).await, 200).await;
    assert!(reset_events(&st).await.is_empty());
    let n: i64 = sqlx::query_scalar("select count(*) from identity.password_reset_tokens")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn expired_tokens_fail_and_resends_are_throttled() {
    let st = stack().await;
    st.signup(EMAIL, OLD).await;
    expect(st.post("/recover", json!({"email": EMAIL})).await, 200).await;
    // A second request within a minute: 200, nothing new.
    expect(st.post("/recover", json!({"email": EMAIL})).await, 200).await;
    let events = reset_events(&st).await;
    assert_eq!(events.len(), 1);
    let url = s(&events[0]["data"], "reset_url");
    let token = url.rsplit('=').next().unwrap().to_string();
    sqlx::query(
        "update identity.password_reset_tokens set expires_at = now() - interval '1 second'",
    )
    .execute(&st.db.pool)
    .await
    .unwrap();
    let err = expect(
        st.post("/verify", json!({"type": "recovery", "token": token}))
            .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "otp_expired");
    expect(
        st.post("/verify", json!({"type": "magiclink", "token": token}))
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn any_signed_in_user_can_set_a_password() {
    let st = stack().await;
    let session = st.sign_in(crate::PHONE).await;
    let access = s(&session, "access_token");
    expect(put_password(&st, &access, "mot-de-passe-3").await, 200).await;
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"phone": crate::PHONE, "password": "mot-de-passe-3"}),
        )
        .await,
        200,
    )
    .await;
    // Anonymous: 401; other fields: 400.
    let res = st
        .app
        .request(Method::PUT, "/user")
        .json(&json!({"password": "mot-de-passe-4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = st
        .app
        .request(Method::PUT, "/user")
        .bearer_auth(&access)
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
