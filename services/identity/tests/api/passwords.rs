use serde_json::json;

use crate::{expect, s, stack};

#[tokio::test]
async fn signup_then_password_sign_in_and_errors_that_reveal_nothing() {
    let st = stack().await;
    let session = st.signup("Awa@Example.sn", "motdepasse-1").await;
    assert_eq!(session["user"]["email"], "awa@example.sn");
    assert_eq!(session["user"]["app_metadata"]["provider"], "email");
    assert!(session["user"]["email_confirmed_at"].is_string());
    expect(st.user(&s(&session, "access_token")).await, 200).await;
    let phc: String = sqlx::query_scalar("select password_hash from identity.users")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert!(phc.starts_with("$argon2id$"));

    expect(
        st.post(
            "/signup",
            json!({"email": "b@example.sn", "password": "court"}),
        )
        .await,
        422,
    )
    .await;
    expect(
        st.post(
            "/signup",
            json!({"email": "pas-un-email", "password": "motdepasse-1"}),
        )
        .await,
        400,
    )
    .await;

    let ok = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "AWA@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ok["user"]["id"], session["user"]["id"]);

    // Wrong password and unknown e-mail: the same answer.
    let wrong = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": "mauvais-mot"}),
        )
        .await,
        400,
    )
    .await;
    let unknown = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "personne@example.sn", "password": "mauvais-mot"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");

    // A phone-only user has no password.
    st.sign_in(crate::PHONE).await;
    let phone = expect(
        st.post(
            "/token?grant_type=password",
            json!({"phone": "771234567", "password": "motdepasse-1"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(phone, unknown);

    // Deactivated: refused.
    sqlx::query("update identity.users set is_active = false where email = 'awa@example.sn'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let err = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "user_banned");

    expect(st.post("/token?grant_type=magic", json!({})).await, 400).await;
}

#[tokio::test]
async fn the_password_hash_is_not_readable_through_the_rest_layer() {
    let st = stack().await;
    let session = st.signup("awa@example.sn", "motdepasse-1").await;
    let res = st
        .app
        .request(reqwest::Method::GET, "/users?select=password_hash")
        .bearer_auth(s(&session, "access_token"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // Every other column of the own row stays readable, `select=*` included.
    let res = st
        .app
        .request(reqwest::Method::GET, "/users")
        .bearer_auth(s(&session, "access_token"))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 200).await;
    assert_eq!(rows[0]["email"], "awa@example.sn");
    assert!(rows[0].get("password_hash").is_none(), "{rows}");
}
