//! The password policy (src/password_policy.rs) over HTTP: GoTrue's 422 `weak_password`
//! with `weak_password.reasons`, on sign-up and on `PUT /user`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{default_settings, expect, s, stack, stack_with, Stack};

async fn signup(st: &Stack, email: &str, password: &str) -> reqwest::Response {
    st.post("/signup", json!({"email": email, "password": password}))
        .await
}

fn reasons(err: &Value) -> Vec<String> {
    assert_eq!(err["code"], "weak_password", "{err}");
    assert!(
        !err["message"].as_str().unwrap_or_default().is_empty(),
        "{err}"
    );
    err["weak_password"]["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no weak_password.reasons in {err}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn short_and_common_passwords_are_refused_with_their_reasons() {
    let st = stack().await;
    for (i, (password, expected)) in [
        ("court", vec!["length"]),
        ("12345678", vec!["pwned"]),
        ("password", vec!["pwned"]),
        ("Azerty123", vec!["pwned"]),
        ("motdepasse", vec!["pwned"]),
        ("Senegal2024", vec!["pwned"]),
        ("123456", vec!["length", "pwned"]),
    ]
    .into_iter()
    .enumerate()
    {
        let err = expect(
            signup(&st, &format!("faible{i}@example.sn"), password).await,
            422,
        )
        .await;
        assert_eq!(reasons(&err), expected, "{password}");
    }
    let err = expect(signup(&st, "f@example.sn", "12345678").await, 422).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Password is known to be weak and easy to guess"),
        "{err}"
    );
    // Nothing was created.
    let users: i64 = sqlx::query_scalar("select count(*) from identity.users")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);

    // A good password is accepted; changing it to a common one is refused the same way.
    let session = st.signup("awa@example.sn", "Jamm-ak-jamm-26").await;
    let put = |password: &'static str| {
        st.app
            .request(Method::PUT, "/user")
            .bearer_auth(s(&session, "access_token"))
            .json(&json!({"password": password}))
            .send()
    };
    let err = expect(put("iloveyou").await.unwrap(), 422).await;
    assert_eq!(reasons(&err), ["pwned"]);
    expect(put("Baobab-de-Ngor-9").await.unwrap(), 200).await;

    // Sign-in does not apply the policy: a password set before it (here written directly)
    // still signs in.
    sqlx::query("update identity.users set password_hash = $1 where email = 'awa@example.sn'")
        .bind(identity::crypto::hash_password("12345678"))
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "awa@example.sn", "password": "12345678"}),
        )
        .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn length_and_character_classes_are_settings() {
    let mut settings = default_settings();
    settings.passwords.min_length = 10;
    settings.passwords.required_characters = identity::password_policy::parse_required_characters(
        "abcdefghijklmnopqrstuvwxyz:ABCDEFGHIJKLMNOPQRSTUVWXYZ:0123456789",
    );
    let st = stack_with(settings).await;
    let err = expect(
        signup(&st, "a@example.sn", "teranga-sans-chiffre").await,
        422,
    )
    .await;
    assert_eq!(reasons(&err), ["characters"]);
    assert!(
        err["message"].as_str().unwrap().contains(
            "at least one character of each: abcdefghijklmnopqrstuvwxyz, ABCDEFGHIJKLMNOPQRSTUVWXYZ, 0123456789"
        ),
        "{err}"
    );
    let err = expect(signup(&st, "a@example.sn", "Teranga7").await, 422).await;
    assert_eq!(reasons(&err), ["length"]);
    let err = expect(signup(&st, "a@example.sn", "azerty").await, 422).await;
    assert_eq!(reasons(&err), ["length", "characters", "pwned"]);
    expect(signup(&st, "a@example.sn", "Teranga-2026").await, 200).await;
}
