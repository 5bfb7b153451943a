use auth::Role;
use reqwest::Method;
use serde_json::json;

use crate::{expect, stack, MOUSSA, MOUSSA_POT};

#[tokio::test]
async fn database_errors_map_to_postgrest_statuses() {
    let s = stack().await;
    // unique violation
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!({"flag_key": "wave_payments", "name": "x"}))
        .send()
        .await
        .unwrap();
    let body = expect(res, 409).await;
    assert_eq!(body["code"], "23505");
    assert!(body["message"].as_str().unwrap().contains("duplicate key"));
    assert!(body.get("details").is_some() && body.get("hint").is_some());
    // foreign key violation
    let res = s
        .admin(Method::POST, "/pots/pot_invitations")
        .json(&json!({"pot_id": "00000000-0000-4000-a000-000000000000", "invited_by_user_id": MOUSSA, "invitation_method": "sms", "recipient_identifier": "+221770000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 409).await["code"], "23503");
    // check violation
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!({"flag_key": "p", "name": "x", "rollout_percentage": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "23514");
    // not null violation
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!({"flag_key": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "23502");
    // a malformed value for the column's type
    let res = s
        .admin(Method::GET, "/pots/pots?id=eq.not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "22P02");
    // unknown column, unknown table, parse errors, bad JSON
    let res = s
        .admin(Method::GET, "/pots/pots?select=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "42703");
    let res = s.admin(Method::GET, "/pots/nope").send().await.unwrap();
    assert_eq!(expect(res, 404).await["code"], "PGRST205");
    let res = s
        .admin(Method::GET, "/pots/pots?status=bogus.open")
        .send()
        .await
        .unwrap();
    let body = expect(res, 400).await;
    assert_eq!(body["code"], "PGRST100");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("failed to parse filter"));
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "PGRST102");
    let res = s
        .admin(Method::GET, "/pots/pots")
        .header("Accept-Profile", "donations")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 406).await["code"], "PGRST106");
}

#[tokio::test]
async fn bad_tokens_are_401_with_www_authenticate() {
    let s = stack().await;
    let expired = auth::Jwt::new(testkit::TEST_JWT_SECRET.as_bytes(), None).issue(
        MOUSSA.parse().unwrap(),
        Role::User,
        -10,
        None,
    );
    let forged = auth::Jwt::new(b"someone-elses-secret-someone-elses", None).issue(
        MOUSSA.parse().unwrap(),
        Role::Admin,
        600,
        None,
    );
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6IndvbG9fYWRtaW4iLCJleHAiOjk5OTk5OTk5OTl9.";
    for (token, code) in [
        (expired.as_str(), "PGRST303"),
        (forged.as_str(), "PGRST301"),
        (none, "PGRST301"),
    ] {
        let res = s
            .app
            .request(Method::GET, "/pots/pots")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body = expect(res, 401).await;
        assert_eq!(body["code"], code);
        if code == "PGRST301" {
            // A clear reason, not the parser's words (issue #17, item 6).
            assert_eq!(body["message"], "Invalid token");
            assert!(body["details"]
                .as_str()
                .unwrap()
                .starts_with("The bearer token was refused"));
            assert!(body["hint"].as_str().unwrap().contains("Sign in again"));
        }
    }
    // Not a JWT at all.
    let res = s
        .app
        .request(Method::GET, "/pots/pots")
        .bearer_auth("abc")
        .send()
        .await
        .unwrap();
    let body = expect(res, 401).await;
    assert_eq!(body["message"], "Invalid token");
    assert_eq!(
        body["details"],
        "The bearer token was refused: not a JWT (three base64url parts)."
    );
}

#[tokio::test]
async fn permission_errors_are_401_anonymous_and_403_signed_in() {
    let s = stack().await;
    let res = s
        .app
        .request(Method::GET, "/admin/system_config")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 401).await["code"], "42501");
    let res = s
        .as_user(MOUSSA, Method::GET, "/admin/system_config")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 403).await["code"], "42501");
    // a user cannot raise their own role through the API
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("/identity/users?id=eq.{MOUSSA}"),
        )
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 403).await["code"], "42501");
    // row-level security: the owner sees their pot, an anonymous visitor does not see a private one
    let mine = s
        .as_user(
            MOUSSA,
            Method::GET,
            &format!("/pots/pots?select=id&id=eq.{MOUSSA_POT}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect(mine, 200).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let s = stack().await;
    let res = s
        .app
        .request(Method::OPTIONS, "/pots/pots")
        .header("Origin", "https://app.wolo.sn")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,prefer",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("prefer"));
    let res = s
        .app
        .request(Method::GET, "/packs/packs")
        .header("Origin", "https://app.wolo.sn")
        .send()
        .await
        .unwrap();
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("content-range")
            && exposed.contains("preference-applied")
            && exposed.contains("location")
    );
}

#[tokio::test]
async fn malformed_query_strings_never_cause_a_server_error() {
    let s = stack().await;
    let nasty = [
        "select=((((",
        "select=a:b:c",
        "select=*,pots(",
        "order=.",
        "or=(,)",
        "and=()",
        "id=in.(\"",
        "x->>=eq.1",
        "select=title::text;drop table x",
        "title=eq.%00",
        "limit=99999999999999999999",
        "select=%22",
        "or=(a.eq.1,or(b.eq.2)",
        "title=like(any).x",
        "title=fts(fr-en).x",
        "order=title.desc.nullslast.extra",
        "select=title->",
        "id=eq.1&id=eq.2&id=eq.3",
    ];
    for q in nasty {
        let res = s
            .admin(Method::GET, &format!("/pots/pots?{q}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().as_u16() < 500, "{q} -> {}", res.status());
        if !res.status().is_success() {
            let status = res.status().as_u16();
            let body = expect(res, status).await;
            assert!(
                body["code"].is_string() && body["message"].is_string(),
                "{q}: {body}"
            );
        }
    }
}
