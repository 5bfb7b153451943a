//! The HTTP endpoints: POST /messages (admins only) and signed POST /receipts/{provider}.

use auth::Role;
use notifications::{config::NotifyConfig, dispatch::dispatch_once, receipts::sign as sign_at};
use platform::config::Secret;
use serde_json::{json, Value};
use testkit::TestDb;
use uuid::Uuid;

use crate::{fakes::*, *};

const SECRET: &str = "receipt-secret-for-tests";
const GATEWAY_KEY: &str = "gateway-key-for-tests";

/// The X-Wolo-Signature of `body` for `path`, signed now.
fn sign_for(secret: &[u8], path: &str, body: &[u8]) -> String {
    sign_at(secret, chrono::Utc::now().timestamp(), path, body)
}

async fn app(db: &TestDb) -> testkit::TestApp {
    let cfg = NotifyConfig {
        receipt_secret: Some(Secret::new(SECRET)),
        gateway_key: Some(Secret::new(GATEWAY_KEY)),
        ..Default::default()
    };
    testkit::spawn(notifications::router(
        db.service_context("notifications").with_section(cfg),
    ))
    .await
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
    dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, now, 100)
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
        Some(sign_for(b"wrong-secret", "/receipts/sms", body.as_bytes())),
        Some(sign_for(
            SECRET.as_bytes(),
            "/receipts/sms",
            b"another body",
        )),
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
            Some(sign_for(
                SECRET.as_bytes(),
                "/receipts/sms",
                body.as_bytes(),
            )),
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
            Some(sign_for(
                SECRET.as_bytes(),
                "/receipts/sms",
                body.as_bytes(),
            )),
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
    let sig = Some(sign_for(
        SECRET.as_bytes(),
        "/receipts/whatsapp",
        body.as_bytes(),
    ));
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
    let sig = Some(sign_for(
        SECRET.as_bytes(),
        "/receipts/pigeon",
        body.as_bytes(),
    ));
    assert_eq!(
        json_of(
            post("/receipts/pigeon", body.clone(), sig).await.unwrap(),
            404
        )
        .await["code"],
        "PT404"
    );
    let body = json!({"message_id": ida, "status": "teleported"}).to_string();
    let sig = Some(sign_for(
        SECRET.as_bytes(),
        "/receipts/sms",
        body.as_bytes(),
    ));
    assert_eq!(
        json_of(post("/receipts/sms", body, sig).await.unwrap(), 400).await["code"],
        "22023"
    );
}

#[tokio::test]
async fn receipts_are_bound_to_their_path_and_time_and_a_replay_changes_nothing() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let fake = FakeHttp::start().await;
    let p = providers(Some(&fake.url), None, None);
    // Sent an hour ago (the receipts' timestamps are checked against it and against now).
    let sent = chrono::Utc::now() - chrono::Duration::hours(1);
    let a = queue(
        &db.pool,
        req("otp", "+221770000011", json!({"code": "1", "minutes": 5})),
        sent,
    )
    .await[0];
    dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, sent, 100)
        .await
        .unwrap();
    let ida = row(&db.pool, a).await.provider_message_id.unwrap();
    let post = |path: &str, body: &str, sig: String| {
        app.request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .header("X-Wolo-Signature", sig)
            .body(body.to_string())
            .send()
    };
    let key = SECRET.as_bytes();
    let now = chrono::Utc::now().timestamp();
    let bounced = |e: &str| {
        json!({"message_id": ida, "status": "failed", "error": e,
               "timestamp": (sent + chrono::Duration::minutes(1)).to_rfc3339()})
        .to_string()
    };
    let first = bounced("absent subscriber");

    // Signed over the body only (the old scheme), for another provider's path, too old or
    // too far ahead: 401, nothing changes.
    use hmac::Mac;
    let mut body_only = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    body_only.update(first.as_bytes());
    let body_only = format!("sha256={}", hex::encode(body_only.finalize().into_bytes()));
    for sig in [
        body_only,
        sign_at(key, now, "/receipts/whatsapp", first.as_bytes()),
        sign_at(key, now - 301, "/receipts/sms", first.as_bytes()),
        sign_at(key, now + 301, "/receipts/sms", first.as_bytes()),
        format!("t={now}"),
    ] {
        let v = json_of(post("/receipts/sms", &first, sig).await.unwrap(), 401).await;
        assert_eq!(v["code"], "PT401");
    }
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("sent"));

    // Accepted once; a newer receipt; then the first replayed: 200, nothing applied.
    let first_sig = sign_at(key, now, "/receipts/sms", first.as_bytes());
    let v = json_of(
        post("/receipts/sms", &first, first_sig.clone())
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (v["updated"].clone(), v["replayed"].clone()),
        (json!(1), json!(false))
    );
    let second = bounced("number unreachable");
    let v = json_of(
        post(
            "/receipts/sms",
            &second,
            sign_at(key, now, "/receipts/sms", second.as_bytes()),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["updated"], 1);
    assert_eq!(
        row(&db.pool, a).await.error_message.as_deref(),
        Some("number unreachable")
    );
    let v = json_of(post("/receipts/sms", &first, first_sig).await.unwrap(), 200).await;
    assert_eq!(
        (v["updated"].clone(), v["replayed"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(
        row(&db.pool, a).await.error_message.as_deref(),
        Some("number unreachable"),
        "a replay changes nothing"
    );
}

#[tokio::test]
async fn receipt_timestamps_are_bounded_and_bad_receipts_write_nothing() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let fake = FakeHttp::start().await;
    let p = providers(Some(&fake.url), None, None);
    let sent = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut ids = vec![];
    for phone in ["+221770000021", "+221770000022"] {
        let n = queue(
            &db.pool,
            req("otp", phone, json!({"code": "1", "minutes": 5})),
            sent,
        )
        .await[0];
        ids.push(n);
    }
    dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, sent, 100)
        .await
        .unwrap();
    let a = row(&db.pool, ids[0]).await.provider_message_id.unwrap();
    let b = row(&db.pool, ids[1]).await.provider_message_id.unwrap();
    let post = |body: String| {
        let sig = sign_for(SECRET.as_bytes(), "/receipts/sms", body.as_bytes());
        app.request(reqwest::Method::POST, "/receipts/sms")
            .header("content-type", "application/json")
            .header("X-Wolo-Signature", sig)
            .body(body)
            .send()
    };
    let ts = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339();
    let good = json!({"message_id": a, "status": "delivered",
                      "timestamp": ts(sent + chrono::Duration::minutes(2))});
    // Before the message was sent, a day ahead, in the year 275 000, not a time, a NUL in
    // the id, an id of 300 characters: 400, and the good receipt beside it is not applied.
    for bad in [
        json!({"message_id": b, "status": "delivered", "timestamp": ts(sent - chrono::Duration::days(2))}),
        json!({"message_id": b, "status": "read", "timestamp": ts(chrono::Utc::now() + chrono::Duration::days(1))}),
        json!({"message_id": b, "status": "delivered", "timestamp": 8_640_000_000_000_i64}),
        json!({"message_id": b, "status": "delivered", "timestamp": 1.5}),
        json!({"message_id": b, "status": "delivered", "timestamp": {"t": 1}}),
        json!({"message_id": "x\u{0}y", "status": "delivered"}),
        json!({"message_id": "x".repeat(300), "status": "delivered"}),
    ] {
        let res = post(json!([good, bad]).to_string()).await.unwrap();
        let v = json_of(res, 400).await;
        assert_eq!(v["code"], "22023", "{v}");
    }
    assert_eq!(row(&db.pool, ids[0]).await.status.as_deref(), Some("sent"));
    assert_eq!(count(&db.pool, "delivered_at is not null").await, 0);

    // Within the clocks' skew: kept, but never before sent_at nor after now.
    let body = json!([good,
        {"message_id": b, "status": "delivered", "timestamp": ts(sent - chrono::Duration::seconds(30))}]);
    let v = json_of(post(body.to_string()).await.unwrap(), 200).await;
    assert_eq!(v["updated"], 2);
    let (sent_at, delivered_at): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "select sent_at, delivered_at from notifications.notifications where id = $1",
        )
        .bind(ids[1])
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(delivered_at, sent_at);
}

#[tokio::test]
async fn a_message_body_with_an_unknown_field_or_a_wrong_type_is_named_and_queues_nothing() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let admin = testkit::token(Role::Admin, Uuid::new_v4());
    let post = |body: Value| {
        app.request(reqwest::Method::POST, "/messages")
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let data = json!({"code": "246810", "minutes": 10});
    // `template` instead of `message`; a misspelt recipient field; channels of the wrong type.
    let v = json_of(
        post(
            json!({"recipient": {"phone": "+221770000001"}, "message": "otp",
                    "template": "otp", "data": data}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(v["code"], "PGRST102");
    assert!(v["message"].as_str().unwrap().contains("template"), "{v}");
    assert!(v["hint"].as_str().unwrap().contains("message"), "{v}");
    let v = json_of(
        post(
            json!({"recipient": {"phone_number": "+221770000001"}, "message": "otp",
                    "data": data}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("recipient.phone_number"),
        "{v}"
    );
    let v = json_of(
        post(
            json!({"recipient": {"phone": "+221770000001"}, "message": "otp",
                    "channels": "sms", "data": data}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(v["code"], "PGRST102");
    assert!(v["message"].as_str().unwrap().contains("channels"), "{v}");
    assert_eq!(count(&db.pool, "true").await, 0);
}

#[tokio::test]
async fn the_gateways_delivery_reports_update_the_sms() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let fake = FakeHttp::start().await;
    let p = providers(Some(&fake.url), None, None);
    let now = chrono::Utc::now();
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
    dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, now, 100)
        .await
        .unwrap();
    let (ida, idb) = (
        row(&db.pool, a).await.provider_message_id.unwrap(),
        row(&db.pool, b).await.provider_message_id.unwrap(),
    );
    let report = |key: &str, form: Vec<(&str, String)>| {
        app.request(reqwest::Method::POST, &format!("/receipts/gateway/{key}"))
            .form(&form)
            .send()
    };
    // Without the gateway's key: 404, nothing changes.
    let r = report(
        "wrong",
        vec![("id", ida.clone()), ("status", "Success".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("sent"));
    // Intermediate states change nothing; Success delivers; Failed bounces with the reason.
    let v = json_of(
        report(
            GATEWAY_KEY,
            vec![("id", ida.clone()), ("status", "Buffered".into())],
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["updated"], 0);
    let v = json_of(
        report(
            GATEWAY_KEY,
            vec![
                ("id", ida.clone()),
                ("status", "Success".into()),
                ("phoneNumber", "+221770000001".into()),
            ],
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(v["updated"], 1);
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("delivered"));
    json_of(
        report(
            GATEWAY_KEY,
            vec![
                ("id", idb.clone()),
                ("status", "Failed".into()),
                ("failureReason", "AbsentSubscriber".into()),
            ],
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    let rb = row(&db.pool, b).await;
    assert_eq!(rb.status.as_deref(), Some("bounced"));
    // Unknown status: 400.
    let r = report(
        GATEWAY_KEY,
        vec![("id", ida.clone()), ("status", "Nope".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(row(&db.pool, a).await.status.as_deref(), Some("delivered"));
}
