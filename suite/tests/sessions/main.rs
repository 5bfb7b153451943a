//! Sessions that end, end everywhere (issue 13, item 11): the whole suite
//! (`suite::suite_router`, as `wolo serve` runs it) signs users in through identity, then
//! ends their sessions in every way there is and checks that every service refuses the old
//! access token, on REST routes and custom endpoints alike.
//!
//! The check each service makes is cached per process for `rest::sessions::CACHE_TTL`
//! (5 s). Ends decided through identity in this process (logout, password reset) and
//! account deletion drop the cache at once, so those tests need no wait; an end written by
//! another process (here: SQL straight into the database) is proved to reach every service
//! within the TTL by waiting for it once.

use std::time::Duration;

mod scan;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use testkit::{expect, TestApp, TestDb};
use uuid::Uuid;

const PASSWORD: &str = "Teranga-2026!";

struct Stack {
    db: TestDb,
    app: TestApp,
}

async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    app.wait_ready("/pots/pots?limit=0").await;
    app.wait_ready("/profiles/profiles?limit=0").await;
    app.wait_ready("/admin/feature_flags?limit=0").await;
    Stack { db, app }
}

impl Stack {
    /// An e-mail account with [`PASSWORD`] and these roles.
    async fn account(&self, email: &str, roles: &[&str]) -> Uuid {
        let hash = identity::crypto::hash_password(PASSWORD);
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        sqlx::query_scalar(
            "insert into identity.users (email, auth_provider, password_hash, roles)
             values ($1, 'email', $2, $3) returning id",
        )
        .bind(email)
        .bind(hash)
        .bind(roles)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    /// Signs in with the password: the GoTrue session object.
    async fn sign_in(&self, email: &str) -> Value {
        expect(
            self.app
                .request(Method::POST, "/identity/token?grant_type=password")
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
    }

    fn with(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.app.request(method, path).bearer_auth(token)
    }

    async fn get(&self, path: &str, token: &str) -> Response {
        self.with(Method::GET, path, token).send().await.unwrap()
    }

    async fn logout(&self, token: &str, scope: &str) -> Response {
        self.with(
            Method::POST,
            &format!("/identity/logout?scope={scope}"),
            token,
        )
        .send()
        .await
        .unwrap()
    }

    async fn refresh(&self, session: &Value) -> Response {
        self.app
            .request(Method::POST, "/identity/token?grant_type=refresh_token")
            .json(&json!({"refresh_token": session["refresh_token"]}))
            .send()
            .await
            .unwrap()
    }
}

fn access(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_string()
}

/// A door of every one of the ten services: REST reads, custom endpoints (the export,
/// flag evaluation, identity's user) and an OpenAPI document.
const DOORS: [&str; 11] = [
    "/profiles/profiles?limit=1",
    "/pots/pots?limit=1",
    "/profiles/me/export",
    "/identity/user",
    "/referral/referrals?select=id&limit=1",
    "/donations/donations?select=id&limit=1",
    "/packs/packs?select=id&limit=1",
    "/qr/qr_codes?select=id&limit=1",
    "/notifications/notifications?select=id&limit=1",
    "/analytics/",
    "/admin/flags/evaluate",
];

async fn all_open(st: &Stack, token: &str) {
    for door in DOORS {
        let res = st.get(door, token).await;
        assert_eq!(res.status(), 200, "{door}: {}", res.text().await.unwrap());
    }
}

/// Every door answers 401 in the caller's shape: PGRST303 for PostgREST clients,
/// session_not_found (what auth-js reads as a signed-out session) on identity.
async fn all_closed(st: &Stack, token: &str) {
    for door in DOORS {
        let res = st.get(door, token).await;
        let www = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let err = expect(res, 401).await;
        let code = if door.starts_with("/identity") {
            "session_not_found"
        } else {
            "PGRST303"
        };
        assert_eq!(err["code"], code, "{door}: {err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with("Session terminée"),
            "{err}"
        );
        assert!(www.contains("invalid_token"), "{door}: {www}");
    }
}

#[tokio::test]
async fn a_logout_is_refused_by_every_service_at_once() {
    let st = stack().await;
    st.account("awa@example.sn", &["user"]).await;
    let session = st.sign_in("awa@example.sn").await;
    let token = access(&session);
    // Every service has checked (and cached) this session as live.
    all_open(&st, &token).await;

    expect(st.logout(&token, "local").await, 204).await;
    all_closed(&st, &token).await;
    // Nor is the sign-in refreshed.
    expect(st.refresh(&session).await, 400).await;
}

#[tokio::test]
async fn an_end_written_by_another_process_reaches_every_service_within_the_cache_ttl() {
    let st = stack().await;
    let user = st.account("binta@example.sn", &["user"]).await;
    let token = access(&st.sign_in("binta@example.sn").await);
    all_open(&st, &token).await;
    // Another process revokes the sign-in (this process's cache is not told).
    sqlx::query("update identity.user_sessions set is_revoked = true where user_id = $1")
        .bind(user)
        .execute(&st.db.pool)
        .await
        .unwrap();
    tokio::time::sleep(rest::sessions::CACHE_TTL + Duration::from_millis(200)).await;
    all_closed(&st, &token).await;
}

#[tokio::test]
async fn a_global_logout_from_another_device_ends_this_one() {
    let st = stack().await;
    st.account("coumba@example.sn", &["user"]).await;
    let phone = st.sign_in("coumba@example.sn").await;
    let laptop = st.sign_in("coumba@example.sn").await;
    all_open(&st, &access(&phone)).await;
    expect(st.logout(&access(&laptop), "global").await, 204).await;
    all_closed(&st, &access(&phone)).await;
    all_closed(&st, &access(&laptop)).await;
}

#[tokio::test]
async fn deactivating_or_deleting_the_user_ends_their_tokens() {
    let st = stack().await;
    // Deactivated by an admin (here in SQL, as the REST PATCH of identity.users does).
    let deactivated = st.account("diarra@example.sn", &["user"]).await;
    let token = access(&st.sign_in("diarra@example.sn").await);
    sqlx::query("update identity.users set is_active = false where id = $1")
        .bind(deactivated)
        .execute(&st.db.pool)
        .await
        .unwrap();
    all_closed(&st, &token).await;

    // Deleted by its owner (DELETE /profiles/me): the very token that asked is refused next.
    st.account("fatou@example.sn", &["user"]).await;
    let token = access(&st.sign_in("fatou@example.sn").await);
    all_open(&st, &token).await;
    expect(
        st.with(Method::DELETE, "/profiles/me", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    all_closed(&st, &token).await;

    // Removed outright (its sessions go with it).
    let removed = st.account("gnima@example.sn", &["user"]).await;
    let token = access(&st.sign_in("gnima@example.sn").await);
    sqlx::query("delete from identity.users where id = $1")
        .bind(removed)
        .execute(&st.db.pool)
        .await
        .unwrap();
    all_closed(&st, &token).await;
}

/// A token that carries no session id (only a holder of the signing key mints one) is bound
/// to no sign-in, but still dies with its account: every service but identity refuses it
/// with PGRST303 once the account is deactivated; identity answers user_banned (GoTrue).
#[tokio::test]
async fn a_token_without_a_session_dies_with_its_account() {
    let st = stack().await;
    let active = st.account("hawa@example.sn", &["user"]).await;
    let token = testkit::token(auth::Role::User, active);
    all_open(&st, &token).await;

    let deactivated = st.account("ibou@example.sn", &["user"]).await;
    sqlx::query("update identity.users set is_active = false where id = $1")
        .bind(deactivated)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let token = testkit::token(auth::Role::User, deactivated);
    for door in DOORS {
        let res = st.get(door, &token).await;
        if door.starts_with("/identity") {
            assert_eq!(expect(res, 403).await["code"], "user_banned", "{door}");
        } else {
            assert_eq!(expect(res, 401).await["code"], "PGRST303", "{door}");
        }
    }
}

#[tokio::test]
async fn a_password_reset_ends_every_earlier_session() {
    let st = stack().await;
    st.account("khady@example.sn", &["user"]).await;
    let old = st.sign_in("khady@example.sn").await;
    all_open(&st, &access(&old)).await;
    expect(
        st.app
            .request(Method::POST, "/identity/recover")
            .json(&json!({"email": "khady@example.sn"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let url: String = sqlx::query_scalar(
        "select payload -> 'data' ->> 'reset_url' from wolo.outbox
          where topic = 'notification.requested' and payload ->> 'message' = 'password_reset'
          order by id desc limit 1",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    let reset = url.split("token=").nth(1).unwrap();
    let fresh = expect(
        st.app
            .request(Method::POST, "/identity/verify")
            .json(&json!({"type": "recovery", "token_hash": reset}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    all_closed(&st, &access(&old)).await;
    all_open(&st, &access(&fresh)).await;
}

#[tokio::test]
async fn a_revoked_sessions_token_cannot_set_a_new_password() {
    let st = stack().await;
    let user = st.account("mame@example.sn", &["user"]).await;
    let token = access(&st.sign_in("mame@example.sn").await);
    // Checked and cached as live by identity's request layer...
    expect(st.get("/identity/user", &token).await, 200).await;
    // ...then revoked elsewhere: the password change asks the database itself.
    sqlx::query("update identity.user_sessions set is_revoked = true where user_id = $1")
        .bind(user)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let err = expect(
        st.with(Method::PUT, "/identity/user", &token)
            .json(&json!({"password": "un-autre-mot-de-passe"}))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(err["code"], "session_not_found");
    // The password is unchanged.
    st.sign_in("mame@example.sn").await;
}

/// The admin session identity opened for `token`'s sign-in.
async fn admin_session(st: &Stack, token: &str) -> Value {
    expect(
        st.with(Method::POST, "/admin/sessions", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

#[tokio::test]
async fn an_admin_token_lives_only_as_long_as_its_admin_session() {
    let st = stack().await;
    let admin = st.account("ndeye@wolo.sn", &["user", "admin"]).await;
    let session = st.sign_in("ndeye@wolo.sn").await;
    let token = access(&session);
    // Signing in opened the admin session (8 h by default).
    let open = admin_session(&st, &token).await;
    assert_eq!(open["user_id"], admin.to_string());
    assert!(open["terminated_at"].is_null());
    expect(st.get("/admin/feature_flags?limit=1", &token).await, 200).await;
    expect(st.get("/pots/pots?limit=1", &token).await, 200).await;

    // Ended from the console: refused everywhere, and the sign-in ended with it.
    let id = open["id"].as_str().unwrap();
    expect(
        st.with(Method::POST, &format!("/admin/sessions/{id}/end"), &token)
            .json(&json!({"reason": "logout"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    for door in [
        "/admin/feature_flags?limit=1",
        "/pots/pots?limit=1",
        "/admin/config",
    ] {
        let err = expect(st.get(door, &token).await, 401).await;
        assert_eq!(err["code"], "PGRST303", "{door}");
    }
    expect(st.refresh(&session).await, 400).await;

    // Past its expiry (the job has not run yet): refused, and the sign-in is not refreshed.
    let session = st.sign_in("ndeye@wolo.sn").await;
    let token = access(&session);
    sqlx::query(
        "update admin.admin_sessions set expires_at = now() - interval '1 second'
          where user_id = $1 and terminated_at is null",
    )
    .bind(admin)
    .execute(&st.db.pool)
    .await
    .unwrap();
    let err = expect(st.get("/admin/feature_flags?limit=1", &token).await, 401).await;
    assert_eq!(err["code"], "PGRST303");
    let err = expect(st.refresh(&session).await, 400).await;
    assert_eq!(err["code"], "session_expired");
    // An ended or expired admin session is not reopened by the console either.
    expect(
        st.with(Method::POST, "/admin/sessions", &token)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;

    // A new sign-in gets a new admin session.
    let token = access(&st.sign_in("ndeye@wolo.sn").await);
    expect(st.get("/admin/feature_flags?limit=1", &token).await, 200).await;
}

#[tokio::test]
async fn only_a_super_admin_ends_another_admins_session() {
    let st = stack().await;
    st.account("oumar@wolo.sn", &["user", "admin"]).await;
    st.account("penda@wolo.sn", &["user", "admin"]).await;
    st.account("chef@wolo.sn", &["user", "super_admin"]).await;
    let oumar = access(&st.sign_in("oumar@wolo.sn").await);
    let penda = access(&st.sign_in("penda@wolo.sn").await);
    let chef = access(&st.sign_in("chef@wolo.sn").await);
    let pendas = admin_session(&st, &penda).await;
    let id = pendas["id"].as_str().unwrap();

    // A regular admin cannot, through the endpoint...
    let err = expect(
        st.with(Method::POST, &format!("/admin/sessions/{id}/end"), &oumar)
            .json(&json!({"reason": "revoked"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("super administrateur"),
        "{err}"
    );
    // ...nor through the REST layer.
    let err = expect(
        st.with(
            Method::PATCH,
            &format!("/admin/admin_sessions?id=eq.{id}"),
            &oumar,
        )
        .header("prefer", "return=minimal")
        .json(&json!({"terminated_at": "2026-12-03T10:00:00Z", "termination_reason": "revoked"}))
        .send()
        .await
        .unwrap(),
        403,
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("super administrateur"),
        "{err}"
    );
    // Nor may an admin open or stretch a session through it.
    let err = expect(
        st.with(
            Method::PATCH,
            &format!("/admin/admin_sessions?id=eq.{id}"),
            &oumar,
        )
        .header("prefer", "return=minimal")
        .json(&json!({"expires_at": "2099-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap(),
        403,
    )
    .await;
    assert_eq!(err["code"], "42501");
    expect(st.get("/admin/feature_flags?limit=1", &penda).await, 200).await;

    // The super admin can.
    expect(
        st.with(Method::POST, &format!("/admin/sessions/{id}/end"), &chef)
            .json(&json!({"reason": "suspicious"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    expect(st.get("/admin/feature_flags?limit=1", &penda).await, 401).await;
    expect(st.get("/admin/feature_flags?limit=1", &oumar).await, 200).await;

    // An ended session stays ended, whoever asks.
    let err = expect(
        st.with(
            Method::PATCH,
            &format!("/admin/admin_sessions?id=eq.{id}"),
            &chef,
        )
        .header("prefer", "return=minimal")
        .json(&json!({"terminated_at": null}))
        .send()
        .await
        .unwrap(),
        403,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("rouverte"),
        "{err}"
    );
}

#[tokio::test]
async fn taking_admin_away_ends_the_admin_tokens_already_issued() {
    let st = stack().await;
    let former = st.account("sokhna@wolo.sn", &["user", "admin"]).await;
    st.account("chef@wolo.sn", &["user", "super_admin"]).await;
    let session = st.sign_in("sokhna@wolo.sn").await;
    let token = access(&session);
    let chef = access(&st.sign_in("chef@wolo.sn").await);
    expect(st.get("/admin/feature_flags?limit=1", &token).await, 200).await;
    expect(
        st.with(
            Method::POST,
            &format!("/identity/admin/users/{former}/roles"),
            &chef,
        )
        .json(&json!({"roles": ["user"]}))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    for door in ["/admin/feature_flags?limit=1", "/pots/pots?limit=1"] {
        expect(st.get(door, &token).await, 401).await;
    }
    // The sign-in ended with its admin session; a new one is a plain user's.
    expect(st.refresh(&session).await, 400).await;
    let user = access(&st.sign_in("sokhna@wolo.sn").await);
    expect(st.get("/pots/pots?limit=1", &user).await, 200).await;
    expect(st.get("/admin/config", &user).await, 403).await;
}
