//! Confirmations on, as GoTrue: sign-up waits for its e-mailed code, the same answer for an
//! address that has an account, user metadata, e-mail and phone changes confirmed by code.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, s, stack, Stack, PHONE};

async fn put_user(st: &Stack, access: &str, body: Value) -> reqwest::Response {
    st.app
        .request(Method::PUT, "/user")
        .bearer_auth(access)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn outbox_count(st: &Stack) -> i64 {
    sqlx::query_scalar("select count(*) from wolo.outbox where topic = 'notification.requested'")
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_up_signs_in_only_once_its_email_is_confirmed() {
    let st = stack().await;
    let user = expect(
        st.post(
            "/signup",
            json!({"email": "Khady@Example.sn", "password": "motdepasse-1", "data": {"prenom": "Khady"}}),
        )
        .await,
        200,
    )
    .await;
    assert!(user.get("access_token").is_none(), "{user}");
    assert_eq!(user["email"], "khady@example.sn");
    assert!(user["email_confirmed_at"].is_null());
    assert!(user["confirmation_sent_at"].is_string());
    assert_eq!(user["user_metadata"], json!({"prenom": "Khady"}));
    // The e-mail carries the code and a link to the web app with the token hash.
    let payload: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where payload->>'message' = 'email_confirmation'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(payload["recipient"]["email"], "khady@example.sn");
    let code = payload["data"]["code"].as_str().unwrap().to_string();
    let url = payload["data"]["confirm_url"].as_str().unwrap();
    assert!(url.contains("type=signup"), "{url}");

    // Before the confirmation: no password sign-in.
    let err = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "khady@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "email_not_confirmed");
    // A wrong code, another address's code: refused.
    for body in [
        json!({"type": "signup", "email": "khady@example.sn", "token": "000000"}),
        json!({"type": "signup", "email": "autre@example.sn", "token": code}),
        json!({"type": "signup", "token_hash": "00"}),
    ] {
        let err = expect(st.post("/verify", body).await, 403).await;
        assert_eq!(err["code"], "otp_expired");
    }
    // The link's token hash confirms and signs in, once.
    let token_hash = url
        .split("token_hash=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let session = expect(
        st.post(
            "/verify",
            json!({"type": "email", "token_hash": token_hash}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(session["user"]["id"], user["id"]);
    assert!(session["user"]["email_confirmed_at"].is_string());
    expect(
        st.post(
            "/verify",
            json!({"type": "signup", "token_hash": token_hash}),
        )
        .await,
        403,
    )
    .await;
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "khady@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;

    // An expired code (over 24 h) is refused.
    expect(
        st.post(
            "/signup",
            json!({"email": "tard@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    let code = st.last_email_code("tard@example.sn").await;
    sqlx::query("update identity.users set confirmation_sent_at = now() - interval '25 hours' where email = 'tard@example.sn'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(
        st.post(
            "/verify",
            json!({"type": "signup", "email": "tard@example.sn", "token": code}),
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn signing_up_with_an_address_that_has_an_account_reveals_nothing() {
    let st = stack().await;
    let first = st.signup("ndeye@example.sn", "motdepasse-1").await;
    let before = outbox_count(&st).await;
    let again = expect(
        st.post(
            "/signup",
            json!({"email": "ndeye@example.sn", "password": "autre-mot-2"}),
        )
        .await,
        200,
    )
    .await;
    let fresh = expect(
        st.post(
            "/signup",
            json!({"email": "nouvelle@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    // The same shape as a new account's, an id that is nobody's, no session.
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&again), keys(&fresh));
    assert_ne!(again["id"], first["user"]["id"]);
    assert!(again["email_confirmed_at"].is_null());
    let ids: i64 = sqlx::query_scalar("select count(*) from identity.users where id = $1::uuid")
        .bind(again["id"].as_str().unwrap())
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(ids, 0);
    // Nothing sent for the existing account (one e-mail for the new one), nothing changed.
    assert_eq!(outbox_count(&st).await, before + 1);
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "ndeye@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;

    // An account still waiting for its confirmation gets a new code (at most once a
    // minute), still with the same answer.
    let before = outbox_count(&st).await;
    expect(
        st.post(
            "/signup",
            json!({"email": "nouvelle@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        outbox_count(&st).await,
        before,
        "within a minute: nothing sent"
    );
    sqlx::query("update identity.users set confirmation_sent_at = now() - interval '61 seconds' where email = 'nouvelle@example.sn'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(
        st.post(
            "/resend",
            json!({"type": "signup", "email": "nouvelle@example.sn"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(outbox_count(&st).await, before + 1);
    let code = st.last_email_code("nouvelle@example.sn").await;
    expect(
        st.post(
            "/verify",
            json!({"type": "signup", "email": "nouvelle@example.sn", "token": code}),
        )
        .await,
        200,
    )
    .await;
    // /resend tells nothing either.
    for email in ["nouvelle@example.sn", "personne@example.sn"] {
        let body = expect(
            st.post("/resend", json!({"type": "signup", "email": email}))
                .await,
            200,
        )
        .await;
        assert_eq!(body, json!({}));
    }
}

#[tokio::test]
async fn put_user_keeps_metadata_and_refuses_other_fields() {
    let st = stack().await;
    let session = st.sign_in(PHONE).await;
    let access = s(&session, "access_token");
    let user = expect(
        put_user(
            &st,
            &access,
            json!({"data": {"prenom": "Moussa", "ville": "Dakar"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        user["user_metadata"],
        json!({"prenom": "Moussa", "ville": "Dakar"})
    );
    let user = expect(
        put_user(
            &st,
            &access,
            json!({"data": {"ville": null, "quartier": "Médina"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        user["user_metadata"],
        json!({"prenom": "Moussa", "quartier": "Médina"})
    );
    let got = expect(st.user(&access).await, 200).await;
    assert_eq!(got["user_metadata"], user["user_metadata"]);

    // A field GoTrue's PUT /user does not take: a 400 PGRST102 naming it, nothing written.
    let err = expect(
        put_user(
            &st,
            &access,
            json!({"data": {"x": 1}, "app_metadata": {"roles": ["admin"]}, "role": "x"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102", "{err}");
    assert!(err["message"].as_str().unwrap().contains("role"), "{err}");
    // app_metadata, which GoTrue takes from admins only, is refused: 403, nothing written.
    let err = expect(
        put_user(
            &st,
            &access,
            json!({"data": {"x": 1}, "app_metadata": {"roles": ["admin"]}}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "not_admin", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("app_metadata"),
        "{err}"
    );
    let got = expect(st.user(&access).await, 200).await;
    assert!(got["user_metadata"].get("x").is_none());
    assert_eq!(got["app_metadata"]["roles"], json!(["user"]));
    // data must be an object, of bounded size.
    expect(put_user(&st, &access, json!({"data": [1, 2]})).await, 400).await;
    let big = "x".repeat(17 * 1024);
    expect(
        put_user(&st, &access, json!({"data": {"big": big}})).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_new_email_or_phone_takes_effect_once_confirmed_with_its_code() {
    let st = stack().await;
    let session = st.signup("awa@example.sn", "motdepasse-1").await;
    let access = s(&session, "access_token");
    st.signup("pris@example.sn", "motdepasse-1").await;

    // An address another account has: 422 email_exists.
    let err = expect(
        put_user(&st, &access, json!({"email": "pris@example.sn"})).await,
        422,
    )
    .await;
    assert_eq!(err["code"], "email_exists");

    let user = expect(
        put_user(&st, &access, json!({"email": "Awa.Nouvelle@example.sn"})).await,
        200,
    )
    .await;
    assert_eq!(user["email"], "awa@example.sn");
    assert_eq!(user["new_email"], "awa.nouvelle@example.sn");
    assert!(user["email_change_sent_at"].is_string());
    // Asked again within a minute: 429.
    let err = expect(
        put_user(&st, &access, json!({"email": "awa.nouvelle@example.sn"})).await,
        429,
    )
    .await;
    assert_eq!(err["code"], "over_email_send_rate_limit");
    let code = st.last_email_code("awa.nouvelle@example.sn").await;
    // Not with another address, nor a wrong code.
    for body in [
        json!({"type": "email_change", "email": "awa@example.sn", "token": code}),
        json!({"type": "email_change", "email": "awa.nouvelle@example.sn", "token": "000000"}),
    ] {
        expect(st.post("/verify", body).await, 403).await;
    }
    let changed = expect(
        st.post(
            "/verify",
            json!({"type": "email_change", "email": "awa.nouvelle@example.sn", "token": code}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["user"]["email"], "awa.nouvelle@example.sn");
    assert!(changed["user"]["new_email"].is_null());
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "awa.nouvelle@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        400,
    )
    .await;

    // A phone: the SMS code to the new number.
    let access = s(&changed, "access_token");
    let user = expect(
        put_user(&st, &access, json!({"phone": "77 555 44 33"})).await,
        200,
    )
    .await;
    assert_eq!(user["new_phone"], "+221775554433");
    assert!(user["phone"].is_null());
    let code = st.last_code("+221775554433").await;
    expect(
        st.post(
            "/verify",
            json!({"type": "phone_change", "phone": "+221775554433", "token": "000000"}),
        )
        .await,
        403,
    )
    .await;
    let changed = expect(
        st.post(
            "/verify",
            json!({"type": "phone_change", "phone": "775554433", "token": code}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["user"]["phone"], "+221775554433");
    // A number another account has: 422 phone_exists.
    st.sign_in(PHONE).await;
    let err = expect(
        put_user(&st, &s(&changed, "access_token"), json!({"phone": PHONE})).await,
        422,
    )
    .await;
    assert_eq!(err["code"], "phone_exists");
}
