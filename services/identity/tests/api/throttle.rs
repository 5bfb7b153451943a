//! Throttling (src/throttle.rs): password sign-in, /verify, /recover and /otp per account
//! and per client IP, 429 before any work; X-Forwarded-For only from a trusted proxy.

use std::collections::BTreeMap;

use identity::throttle::Limit;
use reqwest::Method;
use serde_json::{json, Value};
use testkit::TestDb;

use crate::{default_settings, expect, stack, stack_with, Stack, PHONE};

const ADMIN: &str = "admin.console@wolo.sn";
const RIGHT: &str = "Teranga-Console-7";
const TOKEN: &str = "/token?grant_type=password";

/// The outcomes of the password sign-ins of `account`, counted.
async fn outcomes(st: &Stack, account: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select outcome, count(*) from identity.auth_attempts
         where action = 'password' and account = $1 group by outcome order by outcome",
    )
    .bind(account)
    .fetch_all(&st.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn eighty_wrong_passwords_in_a_burst_from_rotating_ips_lock_the_account_until_the_window_passes(
) {
    let st = stack().await;
    st.signup(ADMIN, RIGHT).await;
    // The admin console signs in with this grant.
    sqlx::query("update identity.users set roles = '{user,admin}' where email = $1")
        .bind(ADMIN)
        .execute(&st.db.pool)
        .await
        .unwrap();

    // 80 wrong passwords at once, each from its own address.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..80 {
        let req = st
            .app
            .request(Method::POST, TOKEN)
            .header(
                "x-forwarded-for",
                format!("41.82.{}.{}", i / 200, i % 200 + 1),
            )
            .json(&json!({"email": ADMIN, "password": format!("mauvais-{i}")}));
        burst.spawn(async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["code"].as_str().unwrap_or_default().to_string(),
            )
        });
    }
    let mut answers: BTreeMap<(u16, String), usize> = BTreeMap::new();
    while let Some(answer) = burst.join_next().await {
        *answers.entry(answer.unwrap()).or_default() += 1;
    }
    // Exactly the limit (10 failures per account per 15 minutes) is answered, even in a
    // burst; every other try is refused.
    assert_eq!(
        answers,
        BTreeMap::from([
            ((400, "invalid_credentials".to_string()), 10),
            ((429, "over_request_rate_limit".to_string()), 70),
        ])
    );

    // The right password, from yet another address, waits too.
    let err = expect(
        st.post_from(
            "196.207.9.9",
            TOKEN,
            json!({"email": ADMIN, "password": RIGHT}),
        )
        .await,
        429,
    )
    .await;
    assert_eq!(err["code"], "over_request_rate_limit");
    // Refused tries did no work and left no row: ten failures, no session beyond the one of
    // the sign-up's confirmation.
    assert_eq!(outcomes(&st, ADMIN).await, [("failed".to_string(), 10)]);
    let sessions: i64 = sqlx::query_scalar("select count(*) from identity.user_sessions")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 1);
    // The attempts carry the account and the client IP, nothing of the password.
    let ips: i64 = sqlx::query_scalar(
        "select count(distinct ip) from identity.auth_attempts where host(ip) like '41.82.%'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(ips, 10);

    // Once the failures are 15 minutes old, the right password signs in.
    sqlx::query(
        "update identity.auth_attempts set created_at = created_at - interval '15 minutes'
         where account = $1",
    )
    .bind(ADMIN)
    .execute(&st.db.pool)
    .await
    .unwrap();
    let session = expect(
        st.post_from(
            "196.207.9.9",
            TOKEN,
            json!({"email": ADMIN, "password": RIGHT}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(session["user"]["role"], "wolo_admin");
    assert_eq!(
        outcomes(&st, ADMIN).await,
        [("failed".to_string(), 10), ("succeeded".to_string(), 1)]
    );
}

#[tokio::test]
async fn many_accounts_from_one_ip_hit_the_per_ip_limit() {
    let st = stack().await;
    let ip = "196.207.1.1";
    let attempt = |i: usize, from: &'static str| {
        let st = &st;
        async move {
            st.post_from(
                from,
                TOKEN,
                json!({"email": format!("inconnu{i}@example.sn"), "password": "n-importe-quoi"}),
            )
            .await
        }
    };
    // 30 attempts per IP per 5 minutes, whatever the accounts.
    for i in 0..30 {
        let err = expect(attempt(i, ip).await, 400).await;
        assert_eq!(err["code"], "invalid_credentials");
    }
    let err = expect(attempt(30, ip).await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    // Another address is not concerned, and no account is locked.
    expect(attempt(0, "196.207.1.2").await, 400).await;
    // Five minutes later the address may try again.
    sqlx::query(
        "update identity.auth_attempts set created_at = created_at - interval '5 minutes'
         where ip = '196.207.1.1'",
    )
    .execute(&st.db.pool)
    .await
    .unwrap();
    expect(attempt(31, ip).await, 400).await;
}

#[tokio::test]
async fn verify_is_limited_per_phone_and_per_ip() {
    let st = stack().await;
    // Per phone: ten wrong codes an hour (two codes, five tries each, from rotating
    // addresses), then even the right code of a new one waits.
    let mut n = 0;
    for round in 0..2 {
        if round > 0 {
            st.age_codes(PHONE, 61).await;
        }
        expect(st.request_otp(PHONE).await, 200).await;
        let code = st.last_code(PHONE).await;
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for _ in 0..5 {
            n += 1;
            let err = expect(
                st.post_from(
                    &format!("41.82.0.{n}"),
                    "/verify",
                    json!({"phone": PHONE, "token": wrong, "type": "sms"}),
                )
                .await,
                403,
            )
            .await;
            assert_eq!(err["code"], "otp_expired");
        }
    }
    st.age_codes(PHONE, 61).await;
    expect(st.request_otp(PHONE).await, 200).await;
    let code = st.last_code(PHONE).await;
    let err = expect(st.verify(PHONE, &code).await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    // The code was not even looked at.
    let tries: i32 = sqlx::query_scalar(
        "select attempts from identity.otp_codes where phone = $1 order by created_at desc limit 1",
    )
    .bind(PHONE)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(tries, 0);
    // An hour later, it works.
    sqlx::query(
        "update identity.auth_attempts set created_at = created_at - interval '1 hour'
         where account = $1",
    )
    .bind(PHONE)
    .execute(&st.db.pool)
    .await
    .unwrap();
    expect(st.verify(PHONE, &code).await, 200).await;

    // Per IP: 30 requests per 5 minutes, whatever the phones.
    let ip = "196.207.2.2";
    let verify_from = |i: usize, from: &'static str| {
        let st = &st;
        async move {
            st.post_from(
                from,
                "/verify",
                json!({"phone": format!("+22177000{i:04}"), "token": "123456", "type": "sms"}),
            )
            .await
        }
    };
    for i in 0..30 {
        expect(verify_from(i, ip).await, 403).await;
    }
    let err = expect(verify_from(30, ip).await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    expect(verify_from(30, "196.207.2.3").await, 403).await;
}

#[tokio::test]
async fn recover_is_limited_per_address_whether_registered_or_not_and_per_ip() {
    let mut settings = default_settings();
    settings.limits.recover_ip = Some(Limit::new(12, 3600));
    let st = stack_with(settings).await;
    st.signup("awa@example.sn", "Teranga-2026").await;
    let ip = "41.82.3.3";
    let recover = |email: &'static str, from: &'static str| {
        let st = &st;
        async move {
            st.post_from(from, "/recover", json!({"email": email}))
                .await
        }
    };
    // Five requests per address per hour, the same answers for a registered address and
    // an unknown one.
    for email in ["awa@example.sn", "personne@example.sn"] {
        for _ in 0..5 {
            assert_eq!(expect(recover(email, ip).await, 200).await, json!({}));
        }
        let err = expect(recover(email, ip).await, 429).await;
        assert_eq!(err["code"], "over_email_send_rate_limit");
    }
    // Per IP (12 here): two more addresses, then nothing from this address.
    expect(recover("a@example.sn", ip).await, 200).await;
    expect(recover("b@example.sn", ip).await, 200).await;
    let err = expect(recover("c@example.sn", ip).await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    expect(recover("c@example.sn", "41.82.3.4").await, 200).await;
    // One e-mail was sent in all (a new link at most once a minute per user).
    let sent: i64 = sqlx::query_scalar(
        "select count(*) from wolo.outbox where payload->>'message' = 'password_reset'",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn otp_limits_are_settings_and_a_throttled_request_sends_nothing() {
    let mut settings = default_settings();
    settings.limits.otp_interval_secs = 0;
    settings.limits.otp_phone = Some(Limit::new(2, 3600));
    settings.limits.otp_ip = Some(Limit::new(3, 600));
    let st = stack_with(settings).await;
    // No wait between codes, two per phone.
    expect(st.request_otp(PHONE).await, 200).await;
    expect(st.request_otp(PHONE).await, 200).await;
    let err = expect(st.request_otp(PHONE).await, 429).await;
    assert_eq!(err["code"], "over_sms_send_rate_limit");
    // Three per IP per ten minutes.
    expect(st.request_otp("+221780000001").await, 200).await;
    let err = expect(st.request_otp("+221780000002").await, 429).await;
    assert_eq!(err["code"], "over_request_rate_limit");
    let sent: i64 = sqlx::query_scalar("select count(*) from wolo.outbox")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(sent, 3);
    // Ten minutes later the address may ask again.
    sqlx::query("update identity.otp_codes set created_at = created_at - interval '10 minutes'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    expect(st.request_otp("+221780000002").await, 200).await;
}

#[tokio::test]
async fn x_forwarded_for_is_believed_from_loopback_by_default() {
    let st = stack().await;
    expect(
        st.post_from("41.82.1.2", "/otp", json!({"phone": PHONE}))
            .await,
        200,
    )
    .await;
    let ip: String = sqlx::query_scalar("select host(ip) from identity.otp_codes")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(ip, "41.82.1.2");
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy() {
    let db = TestDb::new().await;
    let router = crate::router_with(&db, default_settings());
    // Only 10.9.9.9 is a proxy of ours: the test client, on loopback, is not.
    let proxies: platform::client::TrustedProxies = "10.9.9.9".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, platform::serve::app_with(router, None, proxies))
            .await
            .unwrap();
    });
    let http = reqwest::Client::new();
    let post = |i: usize, path: &'static str, body: Value| {
        http.post(format!("{base}{path}"))
            .header("x-forwarded-for", format!("41.82.7.{i}"))
            .header("x-forwarded-proto", "https")
            .json(&body)
            .send()
    };

    let res = post(1, "/otp", json!({"phone": PHONE})).await.unwrap();
    assert_eq!(res.status(), 200);
    // Nor is its word that the request came over https.
    assert!(res.headers().get("strict-transport-security").is_none());
    let ip: String = sqlx::query_scalar("select host(ip) from identity.otp_codes")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(ip, "127.0.0.1");

    // So a forged X-Forwarded-For does not dodge the per-IP limit: 30 attempts, then 429.
    for i in 0..30 {
        let body = json!({"email": format!("x{i}@example.sn"), "password": "n-importe-quoi"});
        let res = post(i, TOKEN, body).await.unwrap();
        assert_eq!(res.status(), 400);
    }
    let res = post(
        30,
        TOKEN,
        json!({"email": "x30@example.sn", "password": "n-importe-quoi"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "over_request_rate_limit");
}

/// Every event's level, fields and message as one line.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(format!("{}:", event.metadata().level()));
        event.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn failed_sign_ins_are_logged_with_account_ip_and_reason_never_the_password() {
    // The test runtime has one thread: the server's tasks log into this subscriber.
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.clone());
    // With a single scoped subscriber, tracing computes the interest of a callsite first
    // hit on another test's thread from that thread's (empty) default, and caches "never";
    // a second registered subscriber makes it ask every registered one.
    let _second = tracing::Dispatch::new(Captured::default());
    let st = stack().await;
    st.signup(ADMIN, RIGHT).await;
    let secret = "Secret-Essai-451";
    for (email, from) in [(ADMIN, "41.82.5.1"), ("personne@example.sn", "41.82.5.2")] {
        expect(
            st.post_from(from, TOKEN, json!({"email": email, "password": secret}))
                .await,
            400,
        )
        .await;
    }
    let lines = captured.0.lock().unwrap().clone();
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("failed sign-in"))
        .collect();
    assert_eq!(failed.len(), 2, "{lines:#?}");
    assert!(
        failed[0].starts_with("WARN:")
            && failed[0].contains("account=a***@wolo.sn")
            && failed[0].contains("ip=41.82.5.1")
            && failed[0].contains("reason=wrong password"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains("account=p***@example.sn")
            && failed[1].contains("ip=41.82.5.2")
            && failed[1].contains("reason=unknown account"),
        "{failed:?}"
    );
    assert!(lines.iter().all(|l| !l.contains(secret)), "{lines:#?}");
    // Nor the accounts in full.
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(ADMIN) && !l.contains("personne@example.sn")),
        "{lines:#?}"
    );
}
