//! `POST /token?grant_type=id_token` against a fake Google issuer on loopback serving the
//! JWKS of the fixed test key (`tests/fixtures/`).

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use identity::google::GoogleConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use testkit::TestDb;

use crate::{expect, s, Stack};

const KEY: &[u8] = include_bytes!("../fixtures/google_test_key.pem");
const OTHER_KEY: &[u8] = include_bytes!("../fixtures/other_test_key.pem");
const JWKS: &str = include_str!("../fixtures/google_test_jwks.json");
const KID: &str = "wolo-test-key-1";
const CLIENT_ID: &str = "wolo-test.apps.googleusercontent.com";

/// Serves the JWKS at `/certs`; returns its URL and the number of fetches.
async fn fake_issuer() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    JWKS,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/certs"), hits)
}

async fn google_stack(client_id: Option<&str>) -> (Stack, Arc<AtomicUsize>) {
    let (jwks_url, hits) = fake_issuer().await;
    let db = TestDb::new().await;
    let config = GoogleConfig {
        jwks_url,
        client_id: client_id.map(str::to_string),
    };
    let settings = identity::Settings {
        google: config,
        ..crate::default_settings()
    };
    let app = testkit::spawn(crate::router_with(&db, settings)).await;
    (Stack { db, app }, hits)
}

fn claims(email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "1234567890",
        "email": email,
        "email_verified": true,
        "iat": now,
        "exp": now + 3600,
    })
}

fn sign(claims: &Value, kid: &str, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(key).unwrap()).unwrap()
}

async fn grant(st: &Stack, token: &str) -> reqwest::Response {
    st.post(
        "/token?grant_type=id_token",
        json!({"provider": "google", "id_token": token}),
    )
    .await
}

async fn grant_with_nonce(st: &Stack, token: &str, nonce: &str) -> reqwest::Response {
    st.post(
        "/token?grant_type=id_token",
        json!({"provider": "google", "id_token": token, "nonce": nonce}),
    )
    .await
}

/// The Google account linked to the account with `email`.
async fn google_sub(st: &Stack, email: &str) -> Option<String> {
    sqlx::query_scalar("select google_sub from identity.users where email = $1")
        .bind(email)
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
}

async fn users(st: &Stack) -> i64 {
    sqlx::query_scalar("select count(*) from identity.users")
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_google_user_is_created_and_signed_in() {
    let (st, hits) = google_stack(Some(CLIENT_ID)).await;
    let token = sign(&claims("Awa.Diop@Gmail.com"), KID, KEY);
    let since = chrono::Utc::now().timestamp();
    let session = expect(grant(&st, &token).await, 200).await;
    assert_eq!(session["user"]["email"], "awa.diop@gmail.com");
    assert_eq!(session["user"]["app_metadata"]["provider"], "google");
    // GoTrue's claims, amr "oauth"; Google's sub is stored.
    let c = crate::tokens::assert_gotrue_claims(&session, "oauth", since);
    assert_eq!(c["email"], "awa.diop@gmail.com");
    assert_eq!(c["app_metadata"]["providers"], json!(["google"]));
    assert_eq!(
        google_sub(&st, "awa.diop@gmail.com").await.as_deref(),
        Some("1234567890")
    );
    let me = expect(st.user(&s(&session, "access_token")).await, 200).await;
    assert_eq!(me["id"], session["user"]["id"]);
    let provider: String =
        sqlx::query_scalar("select auth_provider from identity.users where email = $1")
            .bind("awa.diop@gmail.com")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(provider, "google");

    // A second sign-in uses the cached keys and the same user.
    let again = expect(grant(&st, &token).await, 200).await;
    assert_eq!(again["user"]["id"], session["user"]["id"]);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(users(&st).await, 1);
    expect(st.refresh(&s(&again, "refresh_token")).await, 200).await;
}

#[tokio::test]
async fn an_existing_email_user_is_linked() {
    let (st, _) = google_stack(Some(CLIENT_ID)).await;
    let signup = st.signup("fatou@example.sn", "motdepasse-1").await;
    let session = expect(
        grant(&st, &sign(&claims("fatou@example.sn"), KID, KEY)).await,
        200,
    )
    .await;
    assert_eq!(session["user"]["id"], signup["user"]["id"]);
    // Linked: Google's sub is stored.
    assert_eq!(
        google_sub(&st, "fatou@example.sn").await.as_deref(),
        Some("1234567890")
    );
    // Nothing else is changed: still an e-mail account with its password.
    assert_eq!(session["user"]["app_metadata"]["provider"], "email");
    expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": "fatou@example.sn", "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(users(&st).await, 1);

    sqlx::query("update identity.users set is_active = false")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let banned = expect(
        grant(&st, &sign(&claims("fatou@example.sn"), KID, KEY)).await,
        403,
    )
    .await;
    assert_eq!(banned["code"], "user_banned");
}

#[tokio::test]
async fn bad_tokens_are_refused_and_create_nothing() {
    let (st, hits) = google_stack(Some(CLIENT_ID)).await;
    let now = chrono::Utc::now().timestamp();

    let mut wrong_aud = claims("a@gmail.com");
    wrong_aud["aud"] = json!("someone-else.apps.googleusercontent.com");
    let mut expired = claims("b@gmail.com");
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 7200);
    let mut unverified = claims("c@gmail.com");
    unverified["email_verified"] = json!(false);
    let mut wrong_iss = claims("d@gmail.com");
    wrong_iss["iss"] = json!("https://evil.example.com");

    // (case, token, what the error details must mention)
    let cases = [
        (
            "wrong audience",
            sign(&wrong_aud, KID, KEY),
            "InvalidAudience",
        ),
        ("expired", sign(&expired, KID, KEY), "ExpiredSignature"),
        (
            "unverified email",
            sign(&unverified, KID, KEY),
            "email not verified",
        ),
        ("wrong issuer", sign(&wrong_iss, KID, KEY), "InvalidIssuer"),
        (
            "bad signature",
            sign(&claims("e@gmail.com"), KID, OTHER_KEY),
            "InvalidSignature",
        ),
        (
            "unknown kid",
            sign(&claims("f@gmail.com"), "no-such-key", KEY),
            "unknown signing key",
        ),
        ("garbage", "not.a.jwt".to_string(), ""),
    ];
    for (what, token, why) in &cases {
        let res = expect(grant(&st, token).await, 400).await;
        assert_eq!(res["code"], "invalid_id_token", "{what}: {res}");
        let details = res["details"].as_str().unwrap_or_default();
        assert!(details.contains(why), "{what}: {res}");
    }
    assert_eq!(users(&st).await, 0);
    // Keys fetched once; the unknown kid came within the refetch interval.
    assert!(hits.load(Ordering::SeqCst) >= 1);

    let other_provider = expect(
        st.post(
            "/token?grant_type=id_token",
            json!({"provider": "facebook", "id_token": sign(&claims("g@gmail.com"), KID, KEY)}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(other_provider["code"], "validation_failed");
    assert_eq!(users(&st).await, 0);
}

#[tokio::test]
async fn without_a_client_id_google_sign_in_is_refused() {
    let (st, hits) = google_stack(None).await;
    let res = expect(
        grant(&st, &sign(&claims("h@gmail.com"), KID, KEY)).await,
        400,
    )
    .await;
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .contains("google sign-in not configured"),
        "{res}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(users(&st).await, 0);
}

#[tokio::test]
async fn the_nonce_is_checked_as_gotrue_does() {
    let (st, _) = google_stack(Some(CLIENT_ID)).await;
    let raw = "nonce-0S6_WzA2Mj-aléatoire";
    let hashed = identity::crypto::sha256_hex(raw);
    let with_nonce = |email: &str, nonce: &str| {
        let mut c = claims(email);
        c["nonce"] = json!(nonce);
        sign(&c, KID, KEY)
    };

    // (case, token, nonce sent, what the details say)
    let refused = [
        (
            "wrong nonce",
            with_nonce("a@gmail.com", &hashed),
            Some("another-nonce"),
            "nonces mismatch",
        ),
        (
            "raw nonce in the token",
            with_nonce("a@gmail.com", raw),
            Some(raw),
            "nonces mismatch",
        ),
        (
            "nonce sent, none in the token",
            sign(&claims("a@gmail.com"), KID, KEY),
            Some(raw),
            "both exist",
        ),
        (
            "nonce in the token, none sent",
            with_nonce("a@gmail.com", &hashed),
            None,
            "both exist",
        ),
        (
            "nonce in the token, empty one sent",
            with_nonce("a@gmail.com", &hashed),
            Some(""),
            "both exist",
        ),
    ];
    for (what, token, nonce, why) in &refused {
        let res = match nonce {
            Some(n) => grant_with_nonce(&st, token, n).await,
            None => grant(&st, token).await,
        };
        let err = expect(res, 400).await;
        assert_eq!(err["code"], "invalid_id_token", "{what}: {err}");
        assert!(
            err["details"].as_str().unwrap_or_default().contains(why),
            "{what}: {err}"
        );
    }
    assert_eq!(users(&st).await, 0);

    // The client's nonce, hashed by Google's token: signed in.
    let session = expect(
        grant_with_nonce(&st, &with_nonce("a@gmail.com", &hashed), raw).await,
        200,
    )
    .await;
    assert_eq!(session["user"]["email"], "a@gmail.com");
    // Neither side has one: signed in too.
    expect(
        grant(&st, &sign(&claims("a@gmail.com"), KID, KEY)).await,
        200,
    )
    .await;
    assert_eq!(users(&st).await, 1);
}

#[tokio::test]
async fn an_email_changed_at_google_still_signs_the_same_user_in() {
    let (st, _) = google_stack(Some(CLIENT_ID)).await;
    let first = expect(
        grant(&st, &sign(&claims("moussa@gmail.com"), KID, KEY)).await,
        200,
    )
    .await;
    // The same Google account (sub) now says another address: same user, whose e-mail is
    // ours and stays.
    let later = expect(
        grant(&st, &sign(&claims("moussa.sow@gmail.com"), KID, KEY)).await,
        200,
    )
    .await;
    assert_eq!(later["user"]["id"], first["user"]["id"]);
    assert_eq!(later["user"]["email"], "moussa@gmail.com");
    assert_eq!(users(&st).await, 1);

    // Even when another account has the new address: the sub decides.
    let other = expect(
        st.post(
            "/signup",
            json!({"email": "moussa.new@gmail.com", "password": "motdepasse-2"}),
        )
        .await,
        200,
    )
    .await;
    let again = expect(
        grant(&st, &sign(&claims("moussa.new@gmail.com"), KID, KEY)).await,
        200,
    )
    .await;
    assert_eq!(again["user"]["id"], first["user"]["id"]);
    assert_ne!(again["user"]["id"], other["user"]["id"]);
    assert_eq!(google_sub(&st, "moussa.new@gmail.com").await, None);

    // Another Google account with a linked account's address still signs in by the verified
    // e-mail (as GoTrue links by e-mail), and the first link stays.
    let mut second_account = claims("moussa@gmail.com");
    second_account["sub"] = json!("999999999");
    let by_email = expect(grant(&st, &sign(&second_account, KID, KEY)).await, 200).await;
    assert_eq!(by_email["user"]["id"], first["user"]["id"]);
    assert_eq!(
        google_sub(&st, "moussa@gmail.com").await.as_deref(),
        Some("1234567890")
    );

    // A deactivated account is refused by its sub too, whatever the e-mail.
    sqlx::query("update identity.users set is_active = false where google_sub = '1234567890'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let banned = expect(
        grant(&st, &sign(&claims("brand.new@gmail.com"), KID, KEY)).await,
        403,
    )
    .await;
    assert_eq!(banned["code"], "user_banned");
    assert_eq!(users(&st).await, 2);
}
