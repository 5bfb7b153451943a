//! Access tokens as GoTrue's: the claims of each kind of sign-in, kept across a refresh;
//! `nbf` honoured and `sub` a canonical UUID, on identity's routes and on another service's
//! REST layer.

use reqwest::Method;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{expect, s, stack, Stack, PHONE};

/// The verified claims of an access token (signature checked with the test key).
pub fn claims_of(access: &str) -> Value {
    auth::Jwt::new(testkit::TEST_JWT_SECRET.as_bytes(), None)
        .verify(access)
        .unwrap_or_else(|e| panic!("{e}: {access}"))
        .claims
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Asserts the claims GoTrue puts in every access token, for the session object `session`
/// signed in with `method` between `since` and now, and returns them.
pub fn assert_gotrue_claims(session: &Value, method: &str, since: i64) -> Value {
    let c = claims_of(&s(session, "access_token"));
    let user = &session["user"];
    assert_eq!(c["sub"], user["id"], "{c}");
    assert_eq!(c["role"], user["role"], "{c}");
    assert_eq!(c["aal"], "aal1", "{c}");
    assert_eq!(c["is_anonymous"], false, "{c}");
    assert_eq!(c["app_metadata"], user["app_metadata"], "{c}");
    assert_eq!(c["user_metadata"], user["user_metadata"], "{c}");
    assert!(c["user_metadata"].is_object(), "{c}");
    assert_eq!(c["email"], user["email"].as_str().unwrap_or(""), "{c}");
    assert_eq!(c["phone"], user["phone"].as_str().unwrap_or(""), "{c}");
    let session_id = Uuid::parse_str(c["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(c["session_id"], session_id.to_string());
    let amr = c["amr"].as_array().unwrap_or_else(|| panic!("amr in {c}"));
    assert_eq!(amr.len(), 1, "{c}");
    assert_eq!(amr[0]["method"], method, "{c}");
    let at = amr[0]["timestamp"].as_i64().unwrap();
    assert!((since - 1..=now() + 1).contains(&at), "{c}");
    let iat = c["iat"].as_i64().unwrap();
    assert_eq!(
        c["exp"].as_i64().unwrap() - iat,
        identity::session::ACCESS_TTL
    );
    assert_eq!(
        session["expires_in"].as_i64().unwrap(),
        identity::session::ACCESS_TTL
    );
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(
        keys,
        [
            "aal",
            "amr",
            "app_metadata",
            "email",
            "exp",
            "iat",
            "is_anonymous",
            "phone",
            "role",
            "session_id",
            "sub",
            "user_metadata"
        ],
        "{c}"
    );
    c
}

async fn chain_of(st: &Stack, session: &Value) -> Uuid {
    let refresh = s(session, "refresh_token");
    sqlx::query_scalar("select chain_id from identity.user_sessions where token_hash = $1")
        .bind(identity::crypto::sha256_hex(&refresh))
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_sms_sign_in_says_otp_and_a_refresh_keeps_it() {
    let st = stack().await;
    let since = now();
    let session = st.sign_in(PHONE).await;
    let c = assert_gotrue_claims(&session, "otp", since);
    assert_eq!(c["phone"], PHONE);
    assert_eq!(c["email"], "");
    assert_eq!(c["role"], "wolo_user");
    assert_eq!(
        c["app_metadata"],
        json!({"provider": "phone", "providers": ["phone"], "roles": ["user"]})
    );
    assert_eq!(c["user_metadata"], json!({}));
    // session_id is the sign-in (the chain of refresh tokens).
    assert_eq!(c["session_id"], chain_of(&st, &session).await.to_string());

    // Two rotations later: same sign-in, same amr (method and time), a new token.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r1 = expect(st.refresh(&s(&session, "refresh_token")).await, 200).await;
    let r2 = expect(st.refresh(&s(&r1, "refresh_token")).await, 200).await;
    let c2 = assert_gotrue_claims(&r2, "otp", since);
    assert_eq!(c2["amr"], c["amr"]);
    assert_eq!(c2["session_id"], c["session_id"]);
    assert!(c2["iat"].as_i64() > c["iat"].as_i64(), "{c} {c2}");
    // Stored on every row of the chain.
    let stored: Vec<Value> = sqlx::query_scalar(
        "select amr from identity.user_sessions where chain_id = $1 order by created_at",
    )
    .bind(chain_of(&st, &r2).await)
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, vec![c["amr"].clone(); 3]);
    // The token is good on /user.
    expect(st.user(&s(&r2, "access_token")).await, 200).await;
}

#[tokio::test]
async fn a_confirmed_signup_says_otp_password_says_password_recovery_says_recovery() {
    let st = stack().await;
    let since = now();
    let email = "khady@example.sn";
    // The sign-up signs in when its e-mailed code is verified: GoTrue's "otp".
    let signup = st.signup(email, "motdepasse-1").await;
    let c = assert_gotrue_claims(&signup, "otp", since);
    assert_eq!(c["email"], email);
    assert_eq!(c["phone"], "");
    assert_eq!(c["app_metadata"]["provider"], "email");
    assert_eq!(c["app_metadata"]["providers"], json!(["email"]));

    let grant = expect(
        st.post(
            "/token?grant_type=password",
            json!({"email": email, "password": "motdepasse-1"}),
        )
        .await,
        200,
    )
    .await;
    let g = assert_gotrue_claims(&grant, "password", since);
    assert_ne!(g["session_id"], c["session_id"], "a new sign-in");

    expect(st.post("/recover", json!({"email": email})).await, 200).await;
    let url: String = sqlx::query_scalar(
        "select payload->'data'->>'reset_url' from wolo.outbox
         where payload->>'message' = 'password_reset' order by id desc limit 1",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    let token = url.split("token=").nth(1).unwrap();
    let recovered = expect(
        st.post("/verify", json!({"type": "recovery", "token_hash": token}))
            .await,
        200,
    )
    .await;
    assert_gotrue_claims(&recovered, "recovery", since);
}

#[tokio::test]
async fn an_admin_token_says_so_in_app_metadata() {
    let st = stack().await;
    st.sign_in(PHONE).await;
    sqlx::query("update identity.users set roles = array['user', 'admin']")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let since = now();
    st.age_codes(PHONE, 61).await;
    let admin = st.sign_in(PHONE).await;
    let c = assert_gotrue_claims(&admin, "otp", since);
    assert_eq!(c["role"], "wolo_admin");
    assert_eq!(c["app_metadata"]["roles"], json!(["user", "admin"]));
}

/// A token for `session`'s user and sign-in with `extra` claims (overriding the ones
/// identity put there, `sub` included), signed with the test key.
fn forge(session: &Value, extra: Value) -> String {
    let mut claims = claims_of(&s(session, "access_token"));
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(testkit::TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// GET /pots on another service's REST layer with `token`: (status, body).
async fn pots_get(pots: &testkit::TestApp, token: &str) -> (u16, Value) {
    for _ in 0..100 {
        let res = pots
            .request(Method::GET, "/pots?limit=1")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if res.status() != 503 {
            let status = res.status().as_u16();
            return (status, res.json().await.unwrap());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("pots never became ready");
}

#[tokio::test]
async fn nbf_is_honoured_and_sub_must_be_a_canonical_uuid_everywhere() {
    let st = stack().await;
    let session = st.sign_in(PHONE).await;
    let pots = testkit::spawn(pots::router(st.db.context_of(&pots::SERVICE))).await;
    let user = s(&session["user"], "id");

    // The token itself, and a copy with nbf in the past or now: accepted.
    for token in [
        s(&session, "access_token"),
        forge(&session, json!({"nbf": now() - 30})),
        forge(&session, json!({"nbf": now()})),
    ] {
        expect(st.user(&token).await, 200).await;
        assert_eq!(pots_get(&pots, &token).await.0, 200);
    }

    // nbf ahead (no leeway, as exp): 403 bad_jwt on identity (GoTrue), 401 PGRST303 on REST.
    for ahead in [5, 3600] {
        let token = forge(&session, json!({"nbf": now() + ahead}));
        let err = expect(st.user(&token).await, 403).await;
        assert_eq!(err["code"], "bad_jwt", "{err}");
        assert!(err["message"].as_str().unwrap().contains("not yet valid"));
        let (status, err) = pots_get(&pots, &token).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (401, Some("PGRST303")),
            "{err}"
        );
        assert_eq!(err["message"], "JWT not yet valid");
        // Nor does it sign out or change roles.
        let res = st.logout(&token, "global").await;
        assert_eq!(expect(res, 403).await["code"], "bad_jwt");
    }
    // An nbf that is not a number is not skipped.
    let token = forge(&session, json!({"nbf": (now() + 3600).to_string()}));
    assert_eq!(expect(st.user(&token).await, 403).await["code"], "bad_jwt");
    assert_eq!(pots_get(&pots, &token).await.0, 401);

    // The same user id written another way: 400 bad_jwt on identity (GoTrue), 401 PGRST303.
    let id = Uuid::parse_str(&user).unwrap();
    for sub in [
        user.to_uppercase(),
        format!("{{{user}}}"),
        format!("urn:uuid:{user}"),
        id.simple().to_string(),
        String::new(),
        "not-a-uuid".to_string(),
    ] {
        let token = forge(&session, json!({"sub": sub}));
        let err = expect(st.user(&token).await, 400).await;
        assert_eq!(err["code"], "bad_jwt", "{sub}: {err}");
        let (status, err) = pots_get(&pots, &token).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (401, Some("PGRST303")),
            "{sub}: {err}"
        );
        // The REST tables of identity itself answer as PostgREST.
        let res = st
            .app
            .request(Method::GET, "/users?select=id")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(expect(res, 401).await["code"], "PGRST303", "{sub}");
    }
    let token = forge(&session, json!({"sub": 42}));
    assert_eq!(expect(st.user(&token).await, 400).await["code"], "bad_jwt");

    // Garbage and expired tokens are GoTrue's bad_jwt too; no token is no_authorization.
    assert_eq!(
        expect(st.user("not-a-jwt").await, 403).await["code"],
        "bad_jwt"
    );
    let expired = forge(&session, json!({"exp": now() - 1}));
    assert_eq!(
        expect(st.user(&expired).await, 403).await["code"],
        "bad_jwt"
    );
    let res = st.app.request(Method::GET, "/user").send().await.unwrap();
    assert_eq!(expect(res, 401).await["code"], "no_authorization");
    let res = st
        .app
        .request(Method::GET, "/user")
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 401).await["code"], "no_authorization");
}

/// `Jwt::issue_with` is what identity signs with: a token issued by it with GoTrue's claims
/// is accepted everywhere.
#[tokio::test]
async fn issue_with_tokens_are_accepted_by_identity_and_rest() {
    let st = stack().await;
    let session = st.sign_in(PHONE).await;
    let c = claims_of(&s(&session, "access_token"));
    let mut extra = Map::new();
    for k in ["session_id", "aal", "amr", "app_metadata", "user_metadata"] {
        extra.insert(k.into(), c[k].clone());
    }
    let token = auth::Jwt::new(testkit::TEST_JWT_SECRET.as_bytes(), None).issue_with(
        Uuid::parse_str(&s(&session["user"], "id")).unwrap(),
        auth::Role::User,
        60,
        extra,
    );
    expect(st.user(&token).await, 200).await;
    let pots = testkit::spawn(pots::router(st.db.context_of(&pots::SERVICE))).await;
    assert_eq!(pots_get(&pots, &token).await.0, 200);
}
