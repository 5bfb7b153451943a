//! The HTTP endpoints: POST /messages (admins only) and signed POST /receipts/{provider}.

use auth::Role;
use notifications::{config::NotifyConfig, dispatch::dispatch_once, http::sign};
use platform::config::Secret;
use serde_json::{json, Value};
use testkit::TestDb;
use uuid::Uuid;

use crate::{fakes::*, *};

const SECRET: &str = "receipt-secret-for-tests";

async fn app(db: &TestDb) -> testkit::TestApp {
    let cfg = NotifyConfig {
        receipt_secret: Some(Secret::new(SECRET)),
        ..Default::default()
    };
    testkit::spawn(notifications::router_with(db.context(), cfg)).await
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn post_messages_is_for_admins_and_validates() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let body = json!({"recipient": {"phone": "+221770000001"}, "message": "otp",
                      "locale": "wo-SN", "data": {"code": "246810", "minutes": 10}});
    let admin = testkit::token(Role::Admin, Uuid::new_v4());
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let v = json_of(res, 201).await;
    let id: Uuid = v["ids"][0].as_str().unwrap().parse().unwrap();
    assert_eq!(
        row(&db.pool, id).await.body,
        "WOLO : sa kodu wóoral mooy 246810. Dafay jeex ci 10 minit. Bul ko jox kenn."
    );

    // A user token: 403; none: 401; both in the PostgREST shape.
    let user = testkit::token(Role::User, Uuid::new_v4());
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .bearer_auth(&user)
        .json(&body)
        .send()
        .await
        .unwrap();
    let v = json_of(res, 403).await;
    assert_eq!(v["code"], "42501");
    assert!(v.get("details").is_some() && v.get("hint").is_some());
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A missing variable: 400, nothing queued.
    let bad =
        json!({"recipient": {"phone": "+221770000001"}, "message": "otp", "data": {"code": "1"}});
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .bearer_auth(&admin)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let v = json_of(res, 400).await;
    assert_eq!(v["code"], "22023");
    assert!(v["message"].as_str().unwrap().contains("minutes"));
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .bearer_auth(&admin)
        .json(&json!({"message": "nope", "data": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res, 404).await["code"], "PT404");
    let res = app
        .request(reqwest::Method::POST, "/messages")
        .bearer_auth(&admin)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res, 400).await["code"], "PGRST102");
    assert_eq!(count(&db.pool, "true").await, 1);

    // Listed in the OpenAPI document? The tables still answer beside the endpoints.
    let res = app
        .request(reqwest::Method::GET, "/notifications?select=id")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(res.status() == 200 || res.status() == 503);
}

#[tokio::test]
async fn delivery_receipts_need_a_good_signature() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let fake = FakeHttp::start().await;
    let p = providers(Some(&fake.url), None, None);
    let now = t("2026-03-05T12:00:00Z");
    let a = queue(
        &db.pool,
        req("otp", "+221770000001", json!({"code": "1", "minutes": 5})),
        now,
    )
    .await[0];
    let b = queue(
        &db.pool,
        req("otp", "+221770000002", json!({"code": "2", "minutes": 5})),
        now,
    )
    .await[0];
    dispatch_once(&db.pool, &p, RETRY_BASE, now, 100)
        .await
        .unwrap();
    let (ida, idb) = (
        row(&db.pool, a).await.provider_message_id.unwrap(),
        row(&db.pool, b).await.provider_message_id.unwrap(),
    );

    let post = |path: &str, body: String, sig: Option<String>| {
        let mut r = app
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = sig {
            r = r.header("X-Wolo-Signature", s);
        }
        r.send()
    };
    let body =
        json!([{"message_id": ida, "status": "delivered", "timestamp": "2026-03-05T12:00:05Z"},
                      {"message_id": idb, "status": "failed", "error": "absent subscriber"}])
        .to_string();

    // Bad signatures: refused, nothing changes.
    for sig in [
        None,
        Some("sha256=00".to_string()),
        Some(sign(b"wrong-secret", body.as_bytes())),
        Some(sign(SECRET.as_bytes(), b"another body")),
        Some("md5=abc".into()),
    ] {
        let v = json_of(post("/receipts/sms", body.clone(), sig).await.unwrap(), 401).await;
        assert_eq!(v["code"], "PT401");
    }
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("sent"));

    // Good signature.
    let v = json_of(
        post(
            "/receipts/sms",
            body.clone(),
            Some(sign(SECRET.as_bytes(), body.as_bytes())),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["updated"], 2);
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("delivered"));
    let rb = row(&db.pool, b).await;
    assert_eq!(rb.status.as_deref(), Some("bounced"));
    assert_eq!(rb.error_message.as_deref(), Some("absent subscriber"));
    let delivered_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select delivered_at from notifications.notifications where id = $1")
            .bind(a)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(delivered_at, Some(t("2026-03-05T12:00:05Z")));

    // Opened / clicked counters (WhatsApp's "read" counts as opened) and unknown ids.
    let body = json!({"receipts": [{"message_id": ida, "status": "read"}, {"message_id": ida, "status": "clicked"},
                                   {"message_id": "nope", "status": "delivered"}]}).to_string();
    let v = json_of(
        post(
            "/receipts/sms",
            body.clone(),
            Some(sign(SECRET.as_bytes(), body.as_bytes())),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["updated"], 2);
    assert_eq!(v["unknown"], json!(["nope"]));
    assert_eq!(
        count(&db.pool, "opened_at is not null and clicked_at is not null").await,
        1
    );

    // Another provider's ids do not match; unknown providers and statuses are refused.
    let body = json!({"message_id": ida, "status": "delivered"}).to_string();
    let sig = Some(sign(SECRET.as_bytes(), body.as_bytes()));
    assert_eq!(
        json_of(
            post("/receipts/whatsapp", body.clone(), sig.clone())
                .await
                .unwrap(),
            200
        )
        .await["updated"],
        0
    );
    assert_eq!(
        json_of(
            post("/receipts/pigeon", body.clone(), sig).await.unwrap(),
            404
        )
        .await["code"],
        "PT404"
    );
    let body = json!({"message_id": ida, "status": "teleported"}).to_string();
    let sig = Some(sign(SECRET.as_bytes(), body.as_bytes()));
    assert_eq!(
        json_of(post("/receipts/sms", body, sig).await.unwrap(), 400).await["code"],
        "22023"
    );
}
