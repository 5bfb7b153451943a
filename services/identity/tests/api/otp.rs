use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, s, stack, PHONE};

#[tokio::test]
async fn the_sms_journey_signs_a_new_user_in_and_the_token_works_elsewhere() {
    let st = stack().await;
    // National format, read as Senegalese.
    let body = expect(st.request_otp("77 123 45 67").await, 200).await;
    assert_eq!(body, json!({}));

    // Only the hash is stored; the event carries the code for the SMS.
    let (hash, ip): (String, Option<String>) =
        sqlx::query_as("select code_hash, host(ip) from identity.otp_codes where phone = $1")
            .bind(PHONE)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    let event: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested' and source = 'identity'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(event["message"], "otp");
    assert_eq!(event["locale"], "fr-SN");
    assert_eq!(event["recipient"]["phone"], PHONE);
    assert_eq!(event["data"]["minutes"], 10);
    let code = event["data"]["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert_eq!(hash, identity::crypto::sha256_hex(code));
    assert_ne!(hash, code);
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    // The payload is a valid request for the notifications service (template otp.fr-SN).
    let req: notifications::MessageRequest = serde_json::from_value(event.clone()).unwrap();
    let mut conn = st.db.pool.acquire().await.unwrap();
    let queued = notifications::request_message_at(&mut conn, req, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    drop(conn);

    let session = expect(st.verify("+221 77 123 45 67", code).await, 200).await;
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 900);
    assert!(session["expires_at"].as_i64().unwrap() > chrono::Utc::now().timestamp() + 800);
    let user = &session["user"];
    assert_eq!(user["phone"], PHONE);
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["role"], "wolo_user");
    assert_eq!(user["app_metadata"]["provider"], "phone");
    assert_eq!(user["app_metadata"]["roles"], json!(["user"]));
    let user_id: uuid::Uuid = s(user, "id").parse().unwrap();

    // The user row, its login time and the session row (hashed refresh token, device, IP).
    let (provider, login): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("select auth_provider, last_login_at from identity.users where id = $1")
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(provider, "phone");
    assert!(login.is_some());
    let refresh = s(&session, "refresh_token");
    let (token_hash, device, sip, days): (String, Value, String, f64) = sqlx::query_as(
        "select token_hash, device_info, host(ip_address),
                extract(epoch from expires_at - now())::float8 / 86400
         from identity.user_sessions where user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(token_hash, identity::crypto::sha256_hex(&refresh));
    assert_eq!(device["user_agent"], "wolo-test/1.0");
    assert_eq!(sip, "127.0.0.1");
    assert!((29.9..30.1).contains(&days));

    // The access token works on /user, and on another service's tables under RLS.
    let access = s(&session, "access_token");
    let me = expect(st.user(&access).await, 200).await;
    assert_eq!(me["id"], user["id"]);
    let pots = testkit::spawn(pots::router(st.db.context_of(&pots::SERVICE))).await;
    for _ in 0..100 {
        let res = pots
            .request(Method::GET, "/pots?limit=1")
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        if res.status() != 503 {
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // And on identity's own table: the caller sees exactly their own row.
    let mine = expect(
        st.app
            .request(Method::GET, "/users?select=id,phone")
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(mine, json!([{"id": user_id, "phone": PHONE}]));

    // A code is used once.
    let again = expect(st.verify(PHONE, code).await, 403).await;
    assert_eq!(again["code"], "otp_expired");

    // Signing in again reuses the same user.
    st.age_codes(PHONE, 61).await;
    let second = st.sign_in(PHONE).await;
    assert_eq!(second["user"]["id"], user["id"]);
}

#[tokio::test]
async fn an_invalid_phone_is_a_400_saying_so() {
    let st = stack().await;
    for phone in ["12", "not a phone", "", "+221 12"] {
        let err = expect(st.request_otp(phone).await, 400).await;
        assert_eq!(err["code"], "validation_failed", "{phone}");
        assert!(err["message"].as_str().unwrap().contains("téléphone"));
        assert!(err.get("details").is_some() && err.get("hint").is_some());
    }
    let err = expect(st.post("/otp", json!({})).await, 400).await;
    assert_eq!(err["code"], "validation_failed");
    let err = expect(st.verify("12", "123456").await, 400).await;
    assert_eq!(err["code"], "validation_failed");
    let count: i64 = sqlx::query_scalar("select count(*) from wolo.outbox")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_resend_within_60_seconds_and_the_hourly_caps_are_429() {
    let st = stack().await;
    expect(st.request_otp(PHONE).await, 200).await;
    let err = expect(st.request_otp(PHONE).await, 429).await;
    assert_eq!(err["code"], "over_sms_send_rate_limit");
    // After a minute it goes through, up to 5 an hour.
    for _ in 0..4 {
        st.age_codes(PHONE, 61).await;
        expect(st.request_otp(PHONE).await, 200).await;
    }
    st.age_codes(PHONE, 61).await;
    let err = expect(st.request_otp(PHONE).await, 429).await;
    assert_eq!(err["code"], "over_sms_send_rate_limit");
    // An hour later the phone may ask again.
    st.age_codes(PHONE, 3600).await;
    expect(st.request_otp(PHONE).await, 200).await;

    // Per IP: 20 codes an hour across phones (6 already from this IP, one of them old).
    let mut sent = 1;
    let mut n = 0;
    while sent < 20 {
        let phone = format!("+22177000{n:04}");
        n += 1;
        expect(st.request_otp(&phone).await, 200).await;
        sent += 1;
    }
    let err = expect(st.request_otp("+221780000000").await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    let events: i64 = sqlx::query_scalar("select count(*) from wolo.outbox")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(events, 25);
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    let st = stack().await;
    expect(st.request_otp(PHONE).await, 200).await;
    let code = st.last_code(PHONE).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let err = expect(st.verify(PHONE, wrong).await, 403).await;
        assert_eq!(err["code"], "otp_expired");
    }
    expect(st.verify(PHONE, &code).await, 403).await;
    let users: i64 = sqlx::query_scalar("select count(*) from identity.users")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
    // A new code works (only the latest code counts).
    st.age_codes(PHONE, 61).await;
    st.sign_in(PHONE).await;
}

#[tokio::test]
async fn an_expired_code_or_a_wrong_type_fails() {
    let st = stack().await;
    expect(st.request_otp(PHONE).await, 200).await;
    let code = st.last_code(PHONE).await;
    let err = expect(
        st.post(
            "/verify",
            json!({"phone": PHONE, "token": code, "type": "invite"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "validation_failed");
    sqlx::query("update identity.otp_codes set expires_at = now() - interval '1 second'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(st.verify(PHONE, &code).await, 403).await;
    // No code ever asked for this phone.
    expect(st.verify("+221781112233", "123456").await, 403).await;
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in() {
    let st = stack().await;
    let session = st.sign_in(PHONE).await;
    sqlx::query("update identity.users set is_active = false")
        .execute(&st.db.pool)
        .await
        .unwrap();
    st.age_codes(PHONE, 61).await;
    expect(st.request_otp(PHONE).await, 200).await;
    let code = st.last_code(PHONE).await;
    let err = expect(st.verify(PHONE, &code).await, 403).await;
    assert_eq!(err["code"], "user_banned");
    // Nor refresh, nor read /user.
    let err = expect(st.refresh(&s(&session, "refresh_token")).await, 400).await;
    assert_eq!(err["code"], "user_banned");
    let err = expect(st.user(&s(&session, "access_token")).await, 401).await;
    assert_eq!(err["code"], "session_not_found");
}
